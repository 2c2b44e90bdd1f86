"""The audit log's table and its use cases: append inside the caller's unit of work, read, verify.

Appends are serialised, so each entry can name the one before it:
- PostgreSQL: a transaction-scoped advisory lock (`AUDIT_LOCK_KEY`), taken before the last row
  is read and held until the caller's unit of work ends;
- SQLite: the write transaction already holds the database lock (BEGIN IMMEDIATE).

Under that lock the application assigns `seq` itself (last + 1) instead of taking it from a
database sequence: a PostgreSQL sequence is not transactional, so a rolled-back append would
leave a gap indistinguishable from a deleted row. Gap-free numbering makes `seq` part of the
hashed fields and lets verification report missing rows. `seq` being the primary key also
turns any failure of the serialisation (two appends after the same row) into an integrity
error instead of a fork.

The lock lasts until the unit of work commits, so call `record_audit` as the last step of a
use case: it serialises every auditing transaction from that point on.
The application never updates or deletes rows; on PostgreSQL a trigger (migration 0003)
refuses UPDATE and DELETE.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any, Final

from sqlalchemy import (
    Column,
    Index,
    Row,
    Select,
    String,
    Table,
    Text,
    Uuid,
    cast,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from finplat.identity.audit import (
    FIELD_LIMITS,
    GENESIS_HASH,
    AuditEntry,
    ChainProblem,
    ChainReport,
    ChainVerifier,
    new_entry,
)
from finplat.kernel import InvalidInput, new_id
from finplat.kernel.events import JsonValue
from finplat.platform.db import Database, UnitOfWork
from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime, metadata
from finplat.platform.db.uow import ReadOnlyViolation
from finplat.platform.observability import current_request_id

#: Key of the PostgreSQL advisory lock that serialises appends ("fpltaudt").
AUDIT_LOCK_KEY: Final = 0x66706C7461756474

#: Most entries `list_audit` returns at once.
MAX_PAGE: Final = 1000

audit_log = Table(
    "identity_audit_log",
    metadata,
    # Assigned by `record_audit` under the append lock, never by a database sequence.
    Column("seq", BigIntPK, primary_key=True, autoincrement=False),
    Column("id", Uuid, nullable=False, unique=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor_id", String(FIELD_LIMITS["actor_id"]), nullable=True),
    Column("actor_type", String(FIELD_LIMITS["actor_type"]), nullable=False),
    Column("action", String(FIELD_LIMITS["action"]), nullable=False),
    Column("target_type", String(FIELD_LIMITS["target_type"]), nullable=True),
    Column("target_id", String(FIELD_LIMITS["target_id"]), nullable=True),
    Column("ip", String(FIELD_LIMITS["ip"]), nullable=True),
    Column("request_id", String(FIELD_LIMITS["request_id"]), nullable=True),
    Column("details", JsonDoc, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
Index(
    "ix_identity_audit_log_target_type_target_id",
    audit_log.c.target_type,
    audit_log.c.target_id,
)
Index("ix_identity_audit_log_actor_id", audit_log.c.actor_id)
Index("ix_identity_audit_log_occurred_at", audit_log.c.occurred_at)


class AuditRowUnreadable(Exception):
    """A stored row cannot be decoded into an entry (its details are not a JSON object)."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"audit row {seq} cannot be decoded")
        self.seq = seq


async def record_audit(
    uow: UnitOfWork,
    *,
    action: str,
    actor_id: str | None,
    actor_type: str,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, JsonValue] | None = None,
) -> AuditEntry:
    """Append an entry in `uow`'s transaction: it exists if and only if the action commits.

    `request_id` defaults to the current request's. Raises ValueError or TypeError for values
    the log does not accept (see `finplat.identity.audit.new_entry`).
    """
    if uow.read_only:
        raise ReadOnlyViolation("a read-only unit of work cannot record audit entries")
    session = uow.session
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = (
        await session.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        )
    ).one_or_none()
    entry = new_entry(
        seq=1 if last is None else last.seq + 1,
        prev_hash=GENESIS_HASH if last is None else last.hash,
        id=new_id(),
        occurred_at=uow.clock.now(),
        actor_id=actor_id,
        actor_type=actor_type,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        request_id=request_id if request_id is not None else current_request_id(),
        details=details,
    )
    await session.execute(
        insert(audit_log).values(
            seq=entry.seq,
            id=entry.id,
            occurred_at=entry.occurred_at,
            actor_id=entry.actor_id,
            actor_type=entry.actor_type,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            ip=entry.ip,
            request_id=entry.request_id,
            details=entry.details,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    return entry


async def iter_audit(database: Database, batch: int = 1000) -> AsyncGenerator[AuditEntry, None]:
    """Every entry in seq order, read `batch` rows at a time (no transaction held in between).

    Raises AuditRowUnreadable at a row whose details cannot be decoded.
    """
    if batch < 1:
        raise ValueError("batch must be positive")
    after: int | None = None  # no lower bound at first: a tampered seq below 1 must show
    while True:
        query = _select_entries().order_by(audit_log.c.seq).limit(batch)
        if after is not None:
            query = query.where(audit_log.c.seq > after)
        async with database.session(read_only=True) as session:
            rows = (await session.execute(query)).all()
        for row in rows:
            yield _entry(row)
        if len(rows) < batch:
            return
        after = rows[-1].seq


async def verify_audit_log(database: Database) -> ChainReport:
    """Re-compute the whole chain from the database and report the first broken link."""
    verifier = ChainVerifier()
    try:
        async with aclosing(iter_audit(database)) as entries:
            async for entry in entries:
                if not verifier.add(entry):
                    break
    except AuditRowUnreadable as unreadable:
        verifier.fail(unreadable.seq, ChainProblem.ALTERED)
    return verifier.report()


async def list_audit(
    session: AsyncSession,
    *,
    actor_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    action_prefix: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries matching every given filter, newest first; pass the last seq as `before_seq`
    to get the next page. `action_prefix` matches literally ("auth." finds "auth.sign_in").
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", code="invalid_limit")
    query = _select_entries()
    if actor_id is not None:
        query = query.where(audit_log.c.actor_id == actor_id)
    if target_type is not None:
        query = query.where(audit_log.c.target_type == target_type)
    if target_id is not None:
        query = query.where(audit_log.c.target_id == target_id)
    if action_prefix:
        query = query.where(audit_log.c.action.startswith(action_prefix, autoescape=True))
    if before_seq is not None:
        query = query.where(audit_log.c.seq < before_seq)
    rows = (await session.execute(query.order_by(audit_log.c.seq.desc()).limit(limit))).all()
    return [_entry(row) for row in rows]


def _select_entries() -> Select[Any]:
    # details as text, decoded in `_entry`, so that a row with bad JSON is named, not fatal
    columns = [c for c in audit_log.c if c.name != "details"]
    return select(*columns, cast(audit_log.c.details, Text).label("details"))


def _entry(row: Row[Any]) -> AuditEntry:
    try:
        details = json.loads(row.details)
    except (TypeError, ValueError):
        raise AuditRowUnreadable(row.seq) from None
    if not isinstance(details, dict):
        raise AuditRowUnreadable(row.seq)
    return AuditEntry(
        seq=row.seq,
        id=row.id,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_type=row.actor_type,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        ip=row.ip,
        request_id=row.request_id,
        details=details,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
