"""The posting engine: balanced entries, holds (pending transfers), their partial release,
post and void.

Each write locks the accounts it touches in id order (FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers) and computes the new counters, checking every
constrained account's invariant. Then it claims its idempotency key by inserting the entry
(INSERT ... ON CONFLICT DO NOTHING) and only then writes the counters, the postings and the
event, in the caller's transaction. The same key with the same request returns the first
result (even when the state it changed would now decline the request); with a different
request it is a conflict.

Every write takes its locks in one order, so no two deadlock: customers' accounts, then
platform accounts, then the entry rows of the holds it touches (each in id order; a hold's
postings never change, so its accounts are known before it is locked). A caller may lock
customers' accounts first (`lock_accounts`, for buying power) and then write: what the write
adds comes later in the order. Two writes in one transaction may not: a release of a hold
then a fill locks clearing cash before clearing shares, the other side's fill the reverse.
So a fill books its release in the same `post_entry`.

A release gives part of a hold back and keeps the rest pending. It is an entry of its own
(kind "release", pending postings that reverse the hold's, scaled), so what a hold still holds
is its postings plus its releases' and the check can prove every pending counter from them.

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

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
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
    hold_part,
    partial_post,
    release,
    resolve_hold,
    reversed_postings,
    still_held,
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
# a hold's postings (released = 0) and its releases' (released = 1), in one round trip
_HOLD_POSTINGS = (
    select(
        postings.c.account_id,
        postings.c.asset,
        postings.c.amount,
        literal_column("0").label("released"),
    )
    .where(postings.c.entry_id == bindparam("hold_id"))
    .union_all(
        select(
            postings.c.account_id,
            postings.c.asset,
            postings.c.amount,
            literal_column("1").label("released"),
        )
        .select_from(postings.join(entries, entries.c.id == postings.c.entry_id))
        .where(entries.c.pending_id == bindparam("hold_id"))
        .where(entries.c.kind == "release")
    )
)
# a hold's kind and postings, which never change: read before any lock to know its accounts
_HOLD_OF = (
    select(entries.c.kind, postings.c.account_id, postings.c.asset, postings.c.amount)
    .select_from(entries.join(postings, postings.c.entry_id == entries.c.id))
    .where(entries.c.id == bindparam("hold_id"))
)
# what a hold's releases gave back (each release's positive posting), read under its lock
_RELEASED = (
    select(func.coalesce(func.sum(postings.c.amount), 0))
    .select_from(postings.join(entries, entries.c.id == postings.c.entry_id))
    .where(entries.c.pending_id == bindparam("hold_id"))
    .where(entries.c.kind == "release")
    .where(postings.c.amount > 0)
)
# the SET clause is the four counters named in the parameters
_SET_COUNTERS = update(accounts).where(accounts.c.id == bindparam("account_id"))
_RESOLVE_HOLD = update(entries).where(entries.c.id == bindparam("hold_id"))
_INSERT_POSTINGS = insert(postings)
_INSERT_ENTRIES = insert(entries)
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


#: The order every write locks accounts in (PostgreSQL locks the rows as they come out of
#: the sort): customers' accounts, then the platform's, each in id order. Ids grow with time,
#: so a platform account (clearing, fees) sorts before the customers opened after it; ordered
#: by id alone, a caller that locks a customer first (buying power) and then books against
#: clearing would cross a write that locks clearing, then that customer.
_LOCK_ORDER = (accounts.c.owner_id.is_(None), accounts.c.id)


@functools.lru_cache(maxsize=64)
def _lock_statement(count: int, *, whole_rows: bool, row_locks: bool) -> Select[Any]:
    # IN (:id0, :id1, ...) built once per count: an expanding IN re-renders its SQL every call
    ids = [bindparam(f"id{n}", type_=accounts.c.id.type) for n in range(count)]
    found = select(accounts) if whole_rows else select(*_LOCKED_COLUMNS)
    found = found.where(accounts.c.id.in_(ids))
    # SQLite takes no row locks (BEGIN IMMEDIATE already holds the database): no order to keep
    return found.order_by(*_LOCK_ORDER).with_for_update() if row_locks else found


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
    statement = _lock_statement(
        len(wanted), whole_rows=whole_rows, row_locks=conn.dialect.name != "sqlite"
    )
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
    """Lock accounts (customers' first, each group in id order) for the rest of the
    transaction. Every write takes these locks; use cases that read and then decide (daily
    limits, buying power) take them first too: customers' accounts only, then any writes."""
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


def _entry_row(entry: Entry, request_hash: str) -> dict[str, Any]:
    return {
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
    }


def _claim(conn: Connection, entry: Entry, request_hash: str) -> Entry | None:
    """Insert the entry row if its key is free (None); otherwise the first answer under the
    key (replayed), or a conflict. Called before anything else is written."""
    claimed = conn.execute(_CLAIM_KEY[conn.dialect.name], _entry_row(entry, request_hash))
    if claimed.first() is not None:
        return None
    replay = _replay(conn, entry.idempotency_key, request_hash)
    assert replay is not None  # noqa: S101 - the key is taken by a committed entry
    return replay


def _write_counters(conn: Connection, after: dict[uuid.UUID, Balances]) -> None:
    if not after:
        return
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


def _write_postings(conn: Connection, booked: Sequence[tuple[Entry, bool]]) -> None:
    """The postings of each (entry, pending) in one statement."""
    rows = [
        {
            "entry_id": entry.id,
            "account_id": p.account_id,
            "asset": p.asset,
            "amount": p.amount,
            "pending": pending,
            "created_at": entry.created_at,
        }
        for entry, pending in booked
        for p in entry.postings
    ]
    if rows:
        conn.execute(_INSERT_POSTINGS, rows)


async def _published(uow: UnitOfWork, entry: Entry) -> Entry:
    """`entry`, after recording its TransferPosted event unless it is a replay or moved
    nothing (a hold posted for zero)."""
    if not entry.replayed and entry.postings:
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


# -- holds as a write sees them -----------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """Part of a pending hold given back in the same write as an entry: a fill releases the
    part of its order's hold it uses. `amount` is in minor units; with `capped`, a hold that
    holds less gives back all it holds (nothing when it holds nothing)."""

    hold_id: uuid.UUID
    amount: int
    capped: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("release amounts are integers in minor units")
        if self.amount <= 0:
            raise InvalidInput("a released amount must be positive", code="invalid_release_amount")


@dataclass(frozen=True)
class _Hold:
    """A hold as a write sees it once its entry row is locked."""

    id: uuid.UUID
    status: EntryStatus
    expires_at: datetime | None
    meta: dict[str, Any]
    held: tuple[Posting, ...]  # its own two postings
    remaining: int  # what it still holds (0 once closed)

    def rest(self) -> tuple[Posting, ...]:
        """The part of the hold still held, as hold postings (none when it holds nothing)."""
        return hold_part(self.held, self.remaining)

    def releasing(self, amount: int, *, capped: bool = False) -> tuple[Posting, ...]:
        """The postings of a release of `amount` (raises when the hold cannot give it)."""
        resolve_hold(self.status, HoldEvent.RELEASE)
        if capped:
            amount = min(amount, self.remaining)
            if amount == 0:
                return ()
        return release(self.held, self.remaining, amount)


def _read_hold(conn: Connection, row: Any) -> _Hold:
    found = conn.execute(_HOLD_POSTINGS, {"hold_id": row.id}).all()
    held = tuple(Posting(r.account_id, r.asset, r.amount) for r in found if not r.released)
    released = sum(r.amount for r in found if r.released and r.amount > 0)
    status = EntryStatus(row.status)
    remaining = still_held(held, released) if status is EntryStatus.PENDING else 0
    return _Hold(row.id, status, row.expires_at, dict(row.meta), held, remaining)


def _hold_postings(conn: Connection, hold_id: uuid.UUID) -> tuple[Posting, ...]:
    """A hold's own postings, read without a lock (they never change)."""
    rows = conn.execute(_HOLD_OF, {"hold_id": hold_id}).all()
    if not rows or rows[0].kind != "hold":
        raise NotFound("no such hold", code="hold_not_found")
    return tuple(Posting(r.account_id, r.asset, r.amount) for r in rows)


def _lock_hold(conn: Connection, hold_id: uuid.UUID, held: tuple[Posting, ...]) -> _Hold:
    """Lock the hold's entry row (after its accounts), then read what its releases gave
    back: after the lock, so a release committed while this write waited counts."""
    row = conn.execute(_LOCK_ENTRY, {"entry_id": hold_id}).one()
    status = EntryStatus(row.status)
    remaining = 0
    if status is EntryStatus.PENDING:
        released = conn.execute(_RELEASED, {"hold_id": hold_id}).scalar_one()
        remaining = still_held(held, int(released))
    return _Hold(row.id, status, row.expires_at, dict(row.meta), held, remaining)


def _held(conn: Connection, hold_id: uuid.UUID) -> int:
    row = conn.execute(_ENTRY_BY_ID, {"entry_id": hold_id}).one_or_none()
    if row is None or row.kind != "hold":
        raise NotFound("no such hold", code="hold_not_found")
    if row.status != EntryStatus.PENDING.value:
        return 0
    return _read_hold(conn, row).remaining


async def held_amount(uow: UnitOfWork, hold_id: uuid.UUID) -> int:
    """What a hold still holds, in minor units: its amount less its releases while it is
    pending, 0 once it is posted, voided or expired."""
    return await uow.run_sync(_held, hold_id)


def _unhold(given_back: Iterable[Posting]) -> list[Change]:
    """The counter changes of release postings: they undo that part of the hold."""
    return [(p, True, -1) for p in reversed_postings(given_back)]


# -- entries and holds --------------------------------------------------------------------------


def _book(
    conn: Connection,
    clock: Clock,
    draft: _Draft,
    request_hash: str,
    changes: Sequence[Change],
    allow_negative: frozenset[uuid.UUID],
    releases: Sequence[Release] = (),
) -> Entry:
    """Lock, check, claim the key, write: the new entry, or the first answer under its key.
    `releases` (sorted by hold) are booked as release entries of their own."""
    involved = [posting.account_id for posting, _, _ in changes]
    holds: list[_Hold] = []
    if releases:
        held = [_hold_postings(conn, r.hold_id) for r in releases]
        involved += (p.account_id for h in held for p in h)
    locked = _lock(conn, involved)
    if releases:
        holds = [_lock_hold(conn, r.hold_id, h) for r, h in zip(releases, held, strict=True)]
    try:
        given_back = [
            h.releasing(r.amount, capped=r.capped) for h, r in zip(holds, releases, strict=True)
        ]
        if given_back:
            changes = [*changes, *(c for postings_ in given_back for c in _unhold(postings_))]
        after = _counters(locked, changes, allow_negative=allow_negative)
    except _DECLINED:
        return _replay_or_raise(conn, draft.key, request_hash)
    entry = draft.entry(clock.now())
    if replay := _claim(conn, entry, request_hash):
        return replay
    released = [
        _Draft(
            f"{entry.id}:release:{h.id}",
            "release",
            EntryStatus.RELEASED,
            postings_,
            draft.description,
            {**h.meta, "entry_id": str(entry.id)},
            pending_id=h.id,
        ).entry(entry.created_at)
        for h, postings_ in zip(holds, given_back, strict=True)
        if postings_
    ]
    if released:
        conn.execute(_INSERT_ENTRIES, [_entry_row(e, request_hash) for e in released])
    _write_counters(conn, after)
    _write_postings(
        conn,
        [(entry, entry.status is EntryStatus.PENDING), *((e, True) for e in released)],
    )
    return entry


def _sorted_releases(releases: Iterable[Release]) -> tuple[Release, ...]:
    """Releases in the order their holds are locked; one per hold."""
    ordered = tuple(sorted(releases, key=lambda r: r.hold_id))
    if len({r.hold_id for r in ordered}) != len(ordered):
        raise InvalidInput("an entry releases a hold at most once", code="duplicate_release")
    return ordered


async def post_entry(
    uow: UnitOfWork,
    *,
    key: str,
    postings_: Iterable[Posting],
    description: str = "",
    meta: dict[str, Any] | None = None,
    allow_negative: Iterable[uuid.UUID] = (),
    releases: Iterable[Release] = (),
) -> Entry:
    """Book a balanced entry now. `allow_negative` names accounts that may go below zero
    (a returned deposit reversing cash already spent).

    `releases` give back parts of pending holds in the same write: a fill books its cash,
    shares and fee and releases what it used of its order's hold. The invariants see the
    entry and the releases together (spending held cash does not need it twice), and the
    holds and accounts are locked once, in order: two separate writes in one transaction
    (release, then post) could deadlock with a fill on the other side of the market."""
    _check_key(key)
    items = check_balanced(postings_)
    ordered = _sorted_releases(releases)
    request: dict[str, Any] = {
        "op": "entry",
        "postings": [(str(p.account_id), p.asset, p.amount) for p in items],
    }
    if ordered:  # absent otherwise, so entries booked before releases existed replay the same
        request["releases"] = [(str(r.hold_id), r.amount, r.capped) for r in ordered]
    draft = _Draft(key, "entry", EntryStatus.POSTED, items, description, meta or {})
    changes = [(p, False, 1) for p in items]
    booked = await uow.run_sync(
        _book, uow.clock, draft, _hash(request), changes, frozenset(allow_negative), ordered
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
    voided or expired (or released, in part or in full)."""
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
    """Posting, voiding or releasing part of a hold."""

    key: str
    hold_id: uuid.UUID
    event: HoldEvent
    amount: int | None
    description: str

    @property
    def request_hash(self) -> str:
        return _hash({"op": self.event.value, "hold": str(self.hold_id), "amount": self.amount})


def _release(conn: Connection, clock: Clock, how: _Resolution) -> Entry:
    held = _hold_postings(conn, how.hold_id)
    locked = _lock(conn, (p.account_id for p in held))
    hold_ = _lock_hold(conn, how.hold_id, held)
    try:
        assert how.amount is not None  # noqa: S101 - release_hold passes one
        given_back = hold_.releasing(how.amount)
        after = _counters(locked, _unhold(given_back), allow_negative=frozenset())
    except _DECLINED:
        return _replay_or_raise(conn, how.key, how.request_hash)
    entry = _Draft(
        how.key,
        "release",
        EntryStatus.RELEASED,
        given_back,
        how.description,
        hold_.meta,
        pending_id=hold_.id,
    ).entry(clock.now())
    if replay := _claim(conn, entry, how.request_hash):
        return replay
    _write_counters(conn, after)
    _write_postings(conn, [(entry, True)])
    return entry


async def release_hold(
    uow: UnitOfWork, *, key: str, hold_id: uuid.UUID, amount: int, description: str = ""
) -> Entry:
    """Give back `amount` (minor units, 1 to what it still holds) of a pending hold; the rest
    stays pending. A hold that holds nothing stays pending until posted (for zero), voided
    or expired; one past its expiry but not yet swept still releases (giving back is always
    safe). To release as part of booking an entry, pass `releases` to `post_entry`: two
    writes in one transaction lock one after the other and can deadlock."""
    _check_key(key)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("release amounts are integers in minor units")
    how = _Resolution(key, hold_id, HoldEvent.RELEASE, amount, description)
    return await uow.run_sync(_release, uow.clock, how)


def _resolve(conn: Connection, clock: Clock, how: _Resolution) -> Entry:
    held = _hold_postings(conn, how.hold_id)
    locked = _lock(conn, (p.account_id for p in held))
    hold_ = _lock_hold(conn, how.hold_id, held)
    now = clock.now()
    try:
        status = resolve_hold(hold_.status, how.event)
        if how.event is HoldEvent.POST and hold_.expires_at is not None and hold_.expires_at <= now:
            # expired but not yet swept: it is released, not settled
            raise BusinessRuleViolation("this hold has expired", code="hold_expired")
        settled = (
            partial_post(hold_.held, how.amount, hold_.remaining)
            if how.event is HoldEvent.POST
            else ()
        )
        release_rest = [(p, True, -1) for p in hold_.rest()]
        after = _counters(
            locked, [*release_rest, *((p, False, 1) for p in settled)], allow_negative=frozenset()
        )
    except _DECLINED:
        return _replay_or_raise(conn, how.key, how.request_hash)
    entry = _Draft(
        how.key,
        how.event.value,
        EntryStatus.POSTED if how.event is HoldEvent.POST else EntryStatus.VOIDED,
        settled,
        how.description,
        hold_.meta,  # the settlement keeps the hold's references (bank, order...)
        pending_id=how.hold_id,
    ).entry(now)
    if replay := _claim(conn, entry, how.request_hash):
        return replay
    conn.execute(
        _RESOLVE_HOLD, {"hold_id": how.hold_id, "status": status.value, "resolved_at": now}
    )
    _write_counters(conn, after)
    _write_postings(conn, [(entry, False)])
    return entry


async def post_hold(
    uow: UnitOfWork,
    *,
    key: str,
    hold_id: uuid.UUID,
    amount: int | None = None,
    description: str = "",
) -> Entry:
    """Settle a hold for what it still holds (None) or less, down to 0; the rest is released
    and the hold closes."""
    _check_key(key)
    how = _Resolution(key, hold_id, HoldEvent.POST, amount, description)
    return await _published(uow, await uow.run_sync(_resolve, uow.clock, how))


async def void_hold(
    uow: UnitOfWork, *, key: str, hold_id: uuid.UUID, description: str = ""
) -> Entry:
    """Release what a hold still holds and close it."""
    _check_key(key)
    how = _Resolution(key, hold_id, HoldEvent.VOID, None, description)
    return await uow.run_sync(_resolve, uow.clock, how)


def _expire(conn: Connection, clock: Clock, limit: int) -> int:
    """Every account of the due holds first, then the hold rows, each in id order: the lock
    order of every write (a sweep that locked hold, accounts, next hold... could deadlock
    with a fill)."""
    now = clock.now()
    ids = sorted(conn.execute(_EXPIRED_HOLDS, {"now": now, "limit": limit}).scalars().all())
    if not ids:
        return 0
    held = [_hold_postings(conn, hold_id) for hold_id in ids]
    locked = _lock(conn, (p.account_id for h in held for p in h))
    holds = [_lock_hold(conn, hold_id, h) for hold_id, h in zip(ids, held, strict=True)]
    # settled or voided by a write that committed while the sweep waited for its lock
    due = [h for h in holds if h.status is EntryStatus.PENDING]
    if not due:
        return 0
    changes = [(p, True, -1) for h in due for p in h.rest()]
    after = _counters(locked, changes, allow_negative=frozenset())
    conn.execute(
        _RESOLVE_HOLD,
        [
            {
                "hold_id": h.id,
                "status": resolve_hold(h.status, HoldEvent.EXPIRE).value,
                "resolved_at": now,
            }
            for h in due
        ],
    )
    _write_counters(conn, after)
    return len(due)


async def expire_holds(uow: UnitOfWork, *, limit: int = 500) -> int:
    """Release holds whose expiry has passed; returns how many."""
    return await uow.run_sync(_expire, uow.clock, limit)
