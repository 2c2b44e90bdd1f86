"""Reliable outgoing mail: a transactional outbox, a relay with retries, SMTP or log transport,
and a development mailbox."""

from finplat.platform.mail.mailbox import DevMailbox, MailboxEntry, MailboxItem, mailbox_router
from finplat.platform.mail.message import BODY_CONTEXT, Message, TextProtector
from finplat.platform.mail.outbox import MailOutbox
from finplat.platform.mail.relay import MailRelay
from finplat.platform.mail.tables import mail_outbox
from finplat.platform.mail.transport import LogTransport, MailTransport, SmtpTransport

__all__ = [
    "BODY_CONTEXT",
    "DevMailbox",
    "LogTransport",
    "MailOutbox",
    "MailRelay",
    "MailTransport",
    "MailboxEntry",
    "MailboxItem",
    "Message",
    "SmtpTransport",
    "TextProtector",
    "mail_outbox",
    "mailbox_router",
]
