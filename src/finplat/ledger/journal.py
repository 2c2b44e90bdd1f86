"""The posting engine: balanced entries, holds (pending transfers), their post and void.

Each write locks the accounts it touches in id order (FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers) and computes the new counters, checking every
constrained account's invariant. Then it claims its idempotency key by inserting the entry
(INSERT ... ON CONFLICT DO NOTHING) and only then writes the counters, the postings and the
event, in the caller's transaction. The same key with the same request returns the first
result (even when the state it changed would now decline the request); with a different
request it is a conflict.

A write's statements run as one synchronous function on the unit of work's connection
(`run_sync`): SQLAlchemy's asyncio layer then starts one greenlet per write instead of one per
statement, and Core statements built once skip the ORM session and hit the compiled cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from finplat.kernel import (
    BusinessRuleViolation,
    Clock,
    Conflict,
    InvalidInput,
    NotFound,
    new_id,
)
from finplat.ledger.accounts import Account, account_from_row
from finplat.ledger.domain import (
    AccountRules,
    Balances,
    EntryStatus,
    HoldEvent,
    NormalSide,
    Posting,
    check_balanced,
    partial_post,
    resolve_hold,
    transfer,
)
from finplat.ledger.events import TransferPosted
from finplat.ledger.store import accounts, entries, postings
from finplat.platform.db import UnitOfWork


@dataclass(frozen=True)
class Entry:
    id: uuid.UUID
    idempotency_key: str
    kind: str
    status: EntryStatus
    pending_id: uuid.UUID | None
    description: str
    meta: dict[str, Any]
    created_at: datetime
    expires_at: datetime | None
    postings: tuple[Posting, ...]
    replayed: bool = False  # true when this answer is a retry of an earlier request


Change = tuple[Posting, bool, int]  # a posting, whether it is pending, +1 to apply or -1 to undo

# Statements are built once, so SQLAlchemy's compiled cache hits on every call.
_ENTRY_BY_ID = select(entries).where(entries.c.id == bindparam("entry_id"))
_LOCK_ENTRY = _ENTRY_BY_ID.with_for_update()
_ENTRY_BY_KEY = select(entries).where(entries.c.idempotency_key == bindparam("key"))
_POSTINGS_OF = (
    select(postings.c.account_id, postings.c.asset, postings.c.amount)
    .where(postings.c.entry_id == bindparam("entry_id"))
    .order_by(postings.c.seq)
)
# the SET clause is the four counters named in the parameters
_SET_COUNTERS = update(accounts).where(accounts.c.id == bindparam("account_id"))
_RESOLVE_HOLD = update(entries).where(entries.c.id == bindparam("hold_id"))
_INSERT_POSTINGS = insert(postings)
# INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id: a row back means the key
# is ours; none means an earlier request holds it (waiting for that request to finish first)
_CLAIM_KEY = {
    name: dialect_insert(entries)
    .on_conflict_do_nothing(index_elements=[entries.c.idempotency_key])
    .returning(entries.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_EXPIRED_HOLDS = (
    select(entries.c.id)
    .where(entries.c.status == EntryStatus.PENDING.value)
    .where(entries.c.expires_at.is_not(None))
    .where(entries.c.expires_at <= bindparam("now"))
    .limit(bindparam("limit"))
)
# what a write needs of the accounts it locks
_LOCKED_COLUMNS = (
    accounts.c.id,
    accounts.c.code,
    accounts.c.asset,
    accounts.c.normal_side,
    accounts.c.non_negative,
    accounts.c.debits_posted,
    accounts.c.credits_posted,
    accounts.c.debits_pending,
    accounts.c.credits_pending,
)


# what the checks raise when they decline a request
_DECLINED = (InvalidInput, BusinessRuleViolation)


@functools.lru_cache(maxsize=64)
def _lock_statement(count: int, *, whole_rows: bool) -> Select[Any]:
    # IN (:id0, :id1, ...) built once per count: an expanding IN re-renders its SQL every call
    ids = [bindparam(f"id{n}", type_=accounts.c.id.type) for n in range(count)]
    found = select(accounts) if whole_rows else select(*_LOCKED_COLUMNS)
    return found.where(accounts.c.id.in_(ids)).order_by(accounts.c.id).with_for_update()


def _hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > 200:
        raise InvalidInput(
            "an idempotency key of 1 to 200 characters is required", code="invalid_key"
        )


# -- reading ----------------------------------------------------------------------------------


def _entry(conn: Connection, row: Any, *, replayed: bool = False) -> Entry:
    rows = conn.execute(_POSTINGS_OF, {"entry_id": row.id})
    return Entry(
        id=row.id,
        idempotency_key=row.idempotency_key,
        kind=row.kind,
        status=EntryStatus(row.status),
        pending_id=row.pending_id,
        description=row.description,
        meta=dict(row.meta),
        created_at=row.created_at,
        expires_at=row.expires_at,
        postings=tuple(Posting(r.account_id, r.asset, r.amount) for r in rows),
        replayed=replayed,
    )


def _entry_by_id(conn: Connection, entry_id: uuid.UUID) -> Entry:
    row = conn.execute(_ENTRY_BY_ID, {"entry_id": entry_id}).one_or_none()
    if row is None:
        raise NotFound("no such ledger entry", code="entry_not_found")
    return _entry(conn, row)


async def entry_by_id(uow: UnitOfWork, entry_id: uuid.UUID) -> Entry:
    return await uow.run_sync(_entry_by_id, entry_id)


def _replay(conn: Connection, key: str, request_hash: str) -> Entry | None:
    """The first answer under `key` (None if there is none); a conflict if it answered a
    different request."""
    row = conn.execute(_ENTRY_BY_KEY, {"key": key}).one_or_none()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict(
            "this idempotency key was used for a different request",
            code="idempotency_key_reused",
        )
    return _entry(conn, row, replayed=True)


def _replay_or_raise(conn: Connection, key: str, request_hash: str) -> Entry:
    """Called while handling a declined request: a retry of a request that went through gets
    its first answer, even if the state it changed would decline it now."""
    replay = _replay(conn, key, request_hash) if key else None
    if replay is None:
        raise  # noqa: PLE0704 - the error being handled: no earlier answer, so it stands
    return replay


# -- locking and checking -----------------------------------------------------------------------


class _Locked(NamedTuple):
    """An account as a write sees it once locked."""

    code: str
    asset: str
    side: NormalSide
    non_negative: bool
    balances: Balances


def _lock_rows(
    conn: Connection, ids: Iterable[uuid.UUID], *, whole_rows: bool
) -> dict[uuid.UUID, Any]:
    wanted = sorted(set(ids))
    statement = _lock_statement(len(wanted), whole_rows=whole_rows)
    found = {
        row.id: row for row in conn.execute(statement, {f"id{n}": i for n, i in enumerate(wanted)})
    }
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise NotFound("no such account", code="account_not_found", details={"accounts": missing})
    return found


def _lock(conn: Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, _Locked]:
    return {
        account_id: _Locked(
            row.code,
            row.asset,
            NormalSide(row.normal_side),
            row.non_negative,
            Balances(
                row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending
            ),
        )
        for account_id, row in _lock_rows(conn, ids, whole_rows=False).items()
    }


def _lock_accounts(conn: Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Account]:
    rows = _lock_rows(conn, ids, whole_rows=True)
    return {account_id: account_from_row(row) for account_id, row in rows.items()}


async def lock_accounts(uow: UnitOfWork, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Account]:
    """Lock accounts (in id order) for the rest of the transaction. Every write takes these
    locks; use cases that read and then decide (daily limits) take them first too."""
    return await uow.run_sync(_lock_accounts, list(ids))


def _counters(
    locked: dict[uuid.UUID, _Locked],
    changes: Sequence[Change],
    *,
    allow_negative: frozenset[uuid.UUID],
) -> dict[uuid.UUID, Balances]:
    """The counters after `changes`; raises when an account would break its invariant.
    Nothing is written."""
    after: dict[uuid.UUID, Balances] = {}
    for posting, pending, sign in changes:
        account = locked[posting.account_id]
        if posting.asset != account.asset:
            raise InvalidInput(
                f"account {account.code} holds {account.asset}, not {posting.asset}",
                code="asset_mismatch",
            )
        current = after.get(posting.account_id, account.balances)
        after[posting.account_id] = current.apply(
            debit=sign * posting.debit, credit=sign * posting.credit, pending=pending
        )
    for account_id, balances in after.items():
        account = locked[account_id]
        # a change that does not lower the available balance is always allowed, so releasing a
        # hold or crediting an account already below zero never fails
        if balances.available(account.side) < account.balances.available(account.side):
            AccountRules(account.side, account.non_negative).check(
                balances, account_id, allow_negative=account_id in allow_negative
            )
    return after


# -- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    """An entry still to be booked; it gets its id and time once its accounts are locked."""

    key: str
    kind: str
    status: EntryStatus
    items: tuple[Posting, ...]
    description: str
    meta: dict[str, Any]
    pending_id: uuid.UUID | None = None
    expires_at: datetime | None = None

    def entry(self, now: datetime) -> Entry:
        return Entry(
            new_id(),
            self.key,
            self.kind,
            self.status,
            self.pending_id,
            self.description,
            self.meta,
            now,
            self.expires_at,
            self.items,
        )


def _claim(conn: Connection, entry: Entry, request_hash: str) -> Entry | None:
    """Insert the entry row if its key is free (None); otherwise the first answer under the
    key (replayed), or a conflict. Called before anything else is written."""
    claimed = conn.execute(
        _CLAIM_KEY[conn.dialect.name],
        {
            "id": entry.id,
            "idempotency_key": entry.idempotency_key,
            "request_hash": request_hash,
            "kind": entry.kind,
            "status": entry.status.value,
            "pending_id": entry.pending_id,
            "description": entry.description,
            "meta": entry.meta,
            "created_at": entry.created_at,
            "expires_at": entry.expires_at,
        },
    )
    if claimed.first() is not None:
        return None
    replay = _replay(conn, entry.idempotency_key, request_hash)
    assert replay is not None  # noqa: S101 - the key is taken by a committed entry
    return replay


def _write_counters(conn: Connection, after: dict[uuid.UUID, Balances]) -> None:
    conn.execute(
        _SET_COUNTERS,
        [
            {
                "account_id": account_id,
                "debits_posted": balances.debits_posted,
                "credits_posted": balances.credits_posted,
                "debits_pending": balances.debits_pending,
                "credits_pending": balances.credits_pending,
            }
            for account_id, balances in after.items()
        ],
    )


def _write_postings(conn: Connection, entry: Entry, *, pending: bool) -> None:
    if not entry.postings:
        return
    conn.execute(
        _INSERT_POSTINGS,
        [
            {
                "entry_id": entry.id,
                "account_id": p.account_id,
                "asset": p.asset,
                "amount": p.amount,
                "pending": pending,
                "created_at": entry.created_at,
            }
            for p in entry.postings
        ],
    )


async def _published(uow: UnitOfWork, entry: Entry) -> Entry:
    """`entry`, after recording its TransferPosted event unless it is a replay."""
    if not entry.replayed:
        await uow.publish(
            TransferPosted(
                entry_id=str(entry.id),
                kind=entry.kind,
                postings=tuple(
                    {"account_id": str(p.account_id), "asset": p.asset, "amount_minor": p.amount}
                    for p in entry.postings
                ),
                first_account=str(entry.postings[0].account_id),
            )
        )
    return entry


# -- entries and holds --------------------------------------------------------------------------


def _book(
    conn: Connection,
    clock: Clock,
    draft: _Draft,
    request_hash: str,
    changes: Sequence[Change],
    allow_negative: frozenset[uuid.UUID],
) -> Entry:
    """Lock, check, claim the key, write: the new entry, or the first answer under its key."""
    locked = _lock(conn, (posting.account_id for posting, _, _ in changes))
    try:
        after = _counters(locked, changes, allow_negative=allow_negative)
    except _DECLINED:
        return _replay_or_raise(conn, draft.key, request_hash)
    entry = draft.entry(clock.now())
    if replay := _claim(conn, entry, request_hash):
        return replay
    _write_counters(conn, after)
    _write_postings(conn, entry, pending=entry.status is EntryStatus.PENDING)
    return entry


async def post_entry(
    uow: UnitOfWork,
    *,
    key: str,
    postings_: Iterable[Posting],
    description: str = "",
    meta: dict[str, Any] | None = None,
    allow_negative: Iterable[uuid.UUID] = (),
) -> Entry:
    """Book a balanced entry now. `allow_negative` names accounts that may go below zero
    (a returned deposit reversing cash already spent)."""
    _check_key(key)
    items = check_balanced(postings_)
    request = {"op": "entry", "postings": [(str(p.account_id), p.asset, p.amount) for p in items]}
    draft = _Draft(key, "entry", EntryStatus.POSTED, items, description, meta or {})
    changes = [(p, False, 1) for p in items]
    booked = await uow.run_sync(
        _book, uow.clock, draft, _hash(request), changes, frozenset(allow_negative)
    )
    return await _published(uow, booked)


async def hold(
    uow: UnitOfWork,
    *,
    key: str,
    debit: uuid.UUID,
    credit: uuid.UUID,
    asset: str,
    amount: int,
    expires_at: datetime | None = None,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Entry:
    """A pending transfer: it reduces the debit account's available balance until posted,
    voided or expired."""
    _check_key(key)
    items = transfer(debit, credit, asset, amount)
    request = {
        "op": "hold",
        "debit": str(debit),
        "credit": str(credit),
        "asset": asset,
        "amount": amount,
        "expires_at": expires_at,
    }
    draft = _Draft(
        key, "hold", EntryStatus.PENDING, items, description, meta or {}, expires_at=expires_at
    )
    changes = [(p, True, 1) for p in items]
    return await uow.run_sync(_book, uow.clock, draft, _hash(request), changes, frozenset())


@dataclass(frozen=True)
class _Resolution:
    """Posting, voiding or expiring a hold (an expiry has no key and books no entry)."""

    key: str
    hold_id: uuid.UUID
    event: HoldEvent
    amount: int | None
    description: str

    @property
    def request_hash(self) -> str:
        return _hash({"op": self.event.value, "hold": str(self.hold_id), "amount": self.amount})


def _resolve(conn: Connection, clock: Clock, how: _Resolution) -> Entry:
    row = conn.execute(_LOCK_ENTRY, {"entry_id": how.hold_id}).one_or_none()
    if row is None or row.kind != "hold":
        raise NotFound("no such hold", code="hold_not_found")
    held = _entry(conn, row).postings
    locked = _lock(conn, (p.account_id for p in held))
    now = clock.now()
    try:
        status = resolve_hold(EntryStatus(row.status), how.event)
        if how.event is HoldEvent.POST and row.expires_at is not None and row.expires_at <= now:
            # expired but not yet swept: it is released, not settled
            raise BusinessRuleViolation("this hold has expired", code="hold_expired")
        settled = partial_post(held, how.amount) if how.event is HoldEvent.POST else ()
        release = [(p, True, -1) for p in held]
        after = _counters(
            locked, [*release, *((p, False, 1) for p in settled)], allow_negative=frozenset()
        )
    except _DECLINED:
        return _replay_or_raise(conn, how.key, how.request_hash)
    if how.event is HoldEvent.EXPIRE:
        _settle_hold(conn, how.hold_id, status, now, after)
        return _entry_by_id(conn, how.hold_id)
    entry = _Draft(
        how.key,
        how.event.value,
        EntryStatus.POSTED if how.event is HoldEvent.POST else EntryStatus.VOIDED,
        settled,
        how.description,
        dict(row.meta),  # the settlement keeps the hold's references (bank, order...)
        pending_id=how.hold_id,
    ).entry(now)
    if replay := _claim(conn, entry, how.request_hash):
        return replay
    _settle_hold(conn, how.hold_id, status, now, after)
    _write_postings(conn, entry, pending=False)
    return entry


def _settle_hold(
    conn: Connection,
    hold_id: uuid.UUID,
    status: EntryStatus,
    now: datetime,
    after: dict[uuid.UUID, Balances],
) -> None:
    conn.execute(_RESOLVE_HOLD, {"hold_id": hold_id, "status": status.value, "resolved_at": now})
    _write_counters(conn, after)


async def post_hold(
    uow: UnitOfWork,
    *,
    key: str,
    hold_id: uuid.UUID,
    amount: int | None = None,
    description: str = "",
) -> Entry:
    """Settle a hold, for its whole amount or less (the rest is released)."""
    _check_key(key)
    how = _Resolution(key, hold_id, HoldEvent.POST, amount, description)
    return await _published(uow, await uow.run_sync(_resolve, uow.clock, how))


async def void_hold(
    uow: UnitOfWork, *, key: str, hold_id: uuid.UUID, description: str = ""
) -> Entry:
    _check_key(key)
    how = _Resolution(key, hold_id, HoldEvent.VOID, None, description)
    return await uow.run_sync(_resolve, uow.clock, how)


def _expire(conn: Connection, clock: Clock, limit: int) -> int:
    ids = conn.execute(_EXPIRED_HOLDS, {"now": clock.now(), "limit": limit}).scalars().all()
    for hold_id in ids:
        _resolve(conn, clock, _Resolution("", hold_id, HoldEvent.EXPIRE, None, "expired"))
    return len(ids)


async def expire_holds(uow: UnitOfWork, *, limit: int = 500) -> int:
    """Release holds whose expiry has passed; returns how many."""
    return await uow.run_sync(_expire, uow.clock, limit)
