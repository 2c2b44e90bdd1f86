"""Messages refuse header injection; the log transport never logs a body."""

from __future__ import annotations

import logging

import pytest

from finplat.platform.mail import LogTransport, Message, SmtpTransport


async def test_the_log_transport_logs_recipient_and_subject_but_never_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = Message(
        to="bob@example.com",
        subject="Reset your password",
        text="Use https://finplat.test/reset?token=tok-9d1e within an hour.",
    )
    with caplog.at_level(logging.DEBUG):
        await LogTransport("finplat <no-reply@finplat.test>").deliver(message)

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == "mail to bob@example.com: Reset your password"
    assert "tok-9d1e" not in caplog.text
    assert all("tok-9d1e" not in repr(vars(r)) for r in caplog.records)


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("bob@example.com", "Hello\r\nBcc: eve@example.com"),
        ("bob@example.com\nBcc: eve@example.com", "Hello"),
        ("", "Hello"),
        ("not-an-address", "Hello"),
        ("bob@example.com", "x" * 999),
    ],
)
def test_a_message_refuses_unsafe_headers(to: str, subject: str) -> None:
    with pytest.raises(ValueError, match=r"recipient|subject"):
        Message(to=to, subject=subject, text="body")


def test_a_body_may_have_many_lines() -> None:
    assert Message(to="bob@example.com", subject="Hi", text="a\r\nb\nc").text == "a\r\nb\nc"


def test_the_smtp_sender_needs_an_address() -> None:
    with pytest.raises(ValueError, match="sender"):
        SmtpTransport("127.0.0.1", 25, "finplat")
