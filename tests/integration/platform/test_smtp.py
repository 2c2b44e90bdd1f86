"""SmtpTransport against a real SMTP server (aiosmtpd) on a free local port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from finplat.kernel import ManualClock
from finplat.platform.crypto import FieldCipher
from finplat.platform.db import Database, UnitOfWorkFactory
from finplat.platform.mail import MailOutbox, MailRelay, Message, SmtpTransport

SENDER = "finplat <no-reply@finplat.test>"


class Collector:
    """An SMTP handler that keeps what it receives and refuses one address."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == "nobody@example.com":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Session, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            content = envelope.original_content or b""
            message = message_from_bytes(content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accept_login(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)


def start_server(collector: Collector, **options: Any) -> Iterator[Controller]:
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
async def smtp_server(collector: Collector) -> AsyncIterator[Controller]:
    servers = start_server(collector)
    controller = await asyncio.to_thread(next, servers)
    yield controller
    await asyncio.to_thread(next, servers, None)


@pytest.fixture
async def auth_smtp_server(collector: Collector) -> AsyncIterator[Controller]:
    servers = start_server(
        collector, authenticator=accept_login, auth_require_tls=False, auth_required=True
    )
    controller = await asyncio.to_thread(next, servers)
    yield controller
    await asyncio.to_thread(next, servers, None)


def transport_for(controller: Controller, clock: ManualClock, **options: Any) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", controller.port, SENDER, clock=clock, timeout=10.0, **options)


async def test_a_message_arrives_with_its_headers_and_body(
    smtp_server: Controller, collector: Collector, clock: ManualClock
) -> None:
    message = Message(
        to="alice@example.com",
        subject="Bestätigen Sie Ihre Adresse",
        text="Hello Alice,\n\nopen https://finplat.test/confirm?token=abc123 to confirm.\n",
    )
    await transport_for(smtp_server, clock).deliver(message)

    [envelope] = collector.envelopes
    assert envelope.mail_from == "no-reply@finplat.test"
    assert envelope.rcpt_tos == ["alice@example.com"]
    [received] = collector.messages()
    assert received["From"] == SENDER
    assert received["To"] == "alice@example.com"
    assert received["Subject"] == "Bestätigen Sie Ihre Adresse"
    assert parsedate_to_datetime(str(received["Date"])) == clock.now()
    assert str(received["Message-ID"]).endswith("@finplat.test>")
    assert received.get_content_type() == "text/plain"
    assert received.get_content().replace("\r\n", "\n") == message.text  # CRLF on the wire


async def test_each_message_gets_its_own_message_id(
    smtp_server: Controller, collector: Collector, clock: ManualClock
) -> None:
    transport = transport_for(smtp_server, clock)
    for n in range(2):
        await transport.deliver(Message(to="bob@example.com", subject=f"n{n}", text="hi"))
    ids = {str(m["Message-ID"]) for m in collector.messages()}
    assert len(ids) == 2


async def test_a_refused_recipient_is_an_error(
    smtp_server: Controller, collector: Collector, clock: ManualClock
) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await transport_for(smtp_server, clock).deliver(
            Message(to="nobody@example.com", subject="hello", text="hi")
        )
    assert collector.envelopes == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_credentials_are_used_when_given(
    auth_smtp_server: Controller, collector: Collector, clock: ManualClock
) -> None:
    message = Message(to="alice@example.com", subject="hello", text="hi")
    with pytest.raises(aiosmtplib.SMTPException):
        await transport_for(auth_smtp_server, clock).deliver(message)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await transport_for(auth_smtp_server, clock, username="mailer", password="wrong").deliver(
            message
        )
    await transport_for(auth_smtp_server, clock, username="mailer", password="s3cret").deliver(
        message
    )
    assert len(collector.envelopes) == 1


async def test_an_unreachable_server_is_an_error(clock: ManualClock) -> None:
    transport = SmtpTransport("127.0.0.1", free_port(), SENDER, clock=clock, timeout=10.0)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await transport.deliver(Message(to="alice@example.com", subject="hello", text="hi"))


async def test_the_relay_delivers_the_outbox_over_smtp(
    smtp_server: Controller,
    collector: Collector,
    database: Database,
    uows: UnitOfWorkFactory,
    clock: ManualClock,
    protector: FieldCipher,
) -> None:
    outbox = MailOutbox(protector, clock)
    async with uows() as uow:
        await outbox.enqueue(uow.session, Message("alice@example.com", "Reset", "token=r1"))
        await outbox.enqueue(uow.session, Message("nobody@example.com", "Reset", "token=r2"))
    relay = MailRelay(database, transport_for(smtp_server, clock), protector, clock)

    assert await relay.send_due() == 1
    assert [m.get_content().strip() for m in collector.messages()] == ["token=r1"]
    clock.advance(timedelta(days=1))
    assert await relay.send_due() == 0  # the refused one is retried, and refused again
    assert len(collector.envelopes) == 1
