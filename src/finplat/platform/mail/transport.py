"""Ways to hand a message over: an SMTP server, or (embedded mode) just a log line."""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib

from finplat.kernel import Clock, SystemClock
from finplat.platform.mail.message import Message

log = logging.getLogger(__name__)


class MailTransport(Protocol):
    async def deliver(self, message: Message) -> None:
        """Hand `message` over for delivery; raise if it was not accepted."""
        ...


class SmtpTransport:
    """Submits each message to an SMTP server (one connection per message).

    With `starttls` the connection is upgraded and the certificate verified before any
    credentials are sent; without it, it stays plain (a local relay on the same host).
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._domain = _domain_of(sender)

    def build(self, message: Message) -> EmailMessage:
        """The RFC 5322 message that `deliver` sends."""
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = format_datetime(self._clock.now())
        email["Message-ID"] = make_msgid(domain=self._domain)
        email.set_content(message.text)
        return email

    async def deliver(self, message: Message) -> None:
        await aiosmtplib.send(
            self.build(message),
            hostname=self._host,
            port=self._port,
            username=self._username or None,
            password=self._password if self._username else None,
            start_tls=self._starttls,
            timeout=self._timeout,
        )


class LogTransport:
    """Embedded mode: logs that a mail went out, never its body (it holds one-time links).

    The messages stay readable in the outbox table through the development mailbox.
    """

    def __init__(self, sender: str) -> None:
        self.sender = sender

    async def deliver(self, message: Message) -> None:
        log.info("mail to %s: %s", message.to, message.subject)


def _domain_of(sender: str) -> str:
    _, address = parseaddr(sender)
    if "@" not in address:
        raise ValueError(f"the sender {sender!r} has no mail address")
    return Address(addr_spec=address).domain
