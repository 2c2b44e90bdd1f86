"""The bus's own tables: outbox (to deliver), inbox (already applied), dead letters."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, Uuid

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime, metadata

outbox = Table(
    "bus_outbox",
    metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("topic", String(64), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(256), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
)
Index(
    "ix_bus_outbox_unpublished",
    outbox.c.seq,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)

inbox = Table(
    "bus_inbox",
    metadata,
    Column("consumer", String(128), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)

dead_letters = Table(
    "bus_dead_letter",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("consumer", String(128), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("envelope", JsonDoc, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
)
