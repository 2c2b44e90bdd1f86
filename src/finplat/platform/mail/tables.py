"""The mail outbox: messages written with the use case's transaction, sent by the relay."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, Uuid

from finplat.platform.db.schema import BigIntPK, UtcDateTime, metadata
from finplat.platform.mail.message import MAX_RECIPIENT_LENGTH, MAX_SUBJECT_LENGTH

#: Longest failure text kept in `last_error`.
MAX_ERROR_LENGTH = 1000

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("id", Uuid, nullable=False, unique=True),
    Column("recipient", String(MAX_RECIPIENT_LENGTH), nullable=False),
    Column("subject", String(MAX_SUBJECT_LENGTH), nullable=False),
    Column("body_encrypted", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", UtcDateTime, nullable=False),
)
Index(
    "ix_mail_outbox_unsent",
    mail_outbox.c.next_attempt_at,
    postgresql_where=mail_outbox.c.sent_at.is_(None),
    sqlite_where=mail_outbox.c.sent_at.is_(None),
)
