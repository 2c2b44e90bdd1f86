"""The posting engine: balanced entries, holds (pending transfers), their post and void.

Each write locks the accounts it touches in id order (FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers), checks every constrained account's invariant on
the new counters, then writes the entry, its postings and the counters in the caller's
transaction. Every write carries an idempotency key: the same key with the same request
returns the first result; with a different request it is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from finplat.kernel import BusinessRuleViolation, Conflict, InvalidInput, NotFound, new_id
from finplat.ledger.accounts import Account, account_from_row
from finplat.ledger.domain import (
    AccountRules,
    Balances,
    EntryStatus,
    HoldEvent,
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


def _hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


async def _entry(uow: UnitOfWork, row: Any, *, replayed: bool = False) -> Entry:
    rows = await uow.session.execute(
        select(postings.c.account_id, postings.c.asset, postings.c.amount)
        .where(postings.c.entry_id == row.id)
        .order_by(postings.c.seq)
    )
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


async def entry_by_id(uow: UnitOfWork, entry_id: uuid.UUID) -> Entry:
    row = (await uow.session.execute(select(entries).where(entries.c.id == entry_id))).one_or_none()
    if row is None:
        raise NotFound("no such ledger entry", code="entry_not_found")
    return await _entry(uow, row)


async def _replay(uow: UnitOfWork, key: str, request_hash: str) -> Entry | None:
    row = (
        await uow.session.execute(select(entries).where(entries.c.idempotency_key == key))
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict(
            "this idempotency key was used for a different request",
            code="idempotency_key_reused",
        )
    return await _entry(uow, row, replayed=True)


async def lock_accounts(uow: UnitOfWork, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Account]:
    """Lock accounts (in id order) for the rest of the transaction. Every write takes these
    locks; use cases that read and then decide (daily limits) take them first too."""
    wanted = sorted(set(ids))
    rows = (
        await uow.session.execute(
            select(accounts)
            .where(accounts.c.id.in_(wanted))
            .order_by(accounts.c.id)
            .with_for_update()
        )
    ).all()
    found = {row.id: account_from_row(row) for row in rows}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise NotFound("no such account", code="account_not_found", details={"accounts": missing})
    return found


async def _apply(
    uow: UnitOfWork,
    locked: dict[uuid.UUID, Account],
    changes: Sequence[tuple[Posting, bool, int]],
    *,
    allow_negative: frozenset[uuid.UUID],
) -> None:
    """Apply (posting, pending, sign) changes to the counters, check invariants, write."""
    deltas: dict[uuid.UUID, Balances] = {}
    for posting, pending, sign in changes:
        account = locked[posting.account_id]
        if posting.asset != account.asset.code:
            raise InvalidInput(
                f"account {account.code} holds {account.asset.code}, not {posting.asset}",
                code="asset_mismatch",
            )
        current = deltas.get(account.id, account.balances)
        deltas[account.id] = current.apply(
            debit=sign * posting.debit, credit=sign * posting.credit, pending=pending
        )
    for account_id, balances in deltas.items():
        account = locked[account_id]
        rules = AccountRules(account.side, account.non_negative)
        before = account.balances.available(account.side)
        after = balances.available(account.side)
        # a change that does not lower the available balance is always allowed, so releasing a
        # hold or crediting an account already below zero never fails
        if after < before:
            rules.check(balances, account_id, allow_negative=account_id in allow_negative)
        await uow.session.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(
                debits_posted=balances.debits_posted,
                credits_posted=balances.credits_posted,
                debits_pending=balances.debits_pending,
                credits_pending=balances.credits_pending,
            )
        )


async def _insert(
    uow: UnitOfWork,
    *,
    key: str,
    request_hash: str,
    kind: str,
    status: EntryStatus,
    items: Sequence[Posting],
    pending: bool,
    description: str,
    meta: dict[str, Any],
    pending_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
) -> Entry:
    now = uow.clock.now()
    entry_id = new_id()
    await uow.session.execute(
        insert(entries).values(
            id=entry_id,
            idempotency_key=key,
            request_hash=request_hash,
            kind=kind,
            status=status.value,
            pending_id=pending_id,
            description=description,
            meta=meta,
            created_at=now,
            expires_at=expires_at,
        )
    )
    if items:
        await uow.session.execute(
            insert(postings),
            [
                {
                    "entry_id": entry_id,
                    "account_id": p.account_id,
                    "asset": p.asset,
                    "amount": p.amount,
                    "pending": pending,
                    "created_at": now,
                }
                for p in items
            ],
        )
    if items and not pending:
        await uow.publish(
            TransferPosted(
                entry_id=str(entry_id),
                kind=kind,
                postings=tuple(
                    {"account_id": str(p.account_id), "asset": p.asset, "amount_minor": p.amount}
                    for p in items
                ),
                first_account=str(items[0].account_id),
            )
        )
    return Entry(
        entry_id, key, kind, status, pending_id, description, meta, now, expires_at, tuple(items)
    )


def _check_key(key: str) -> None:
    if not key or len(key) > 200:
        raise InvalidInput(
            "an idempotency key of 1 to 200 characters is required", code="invalid_key"
        )


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
    request_hash = _hash(request)
    locked = await lock_accounts(uow, (p.account_id for p in items))
    replay = await _replay(uow, key, request_hash)
    if replay is not None:
        return replay
    await _apply(
        uow, locked, [(p, False, 1) for p in items], allow_negative=frozenset(allow_negative)
    )
    return await _insert(
        uow,
        key=key,
        request_hash=request_hash,
        kind="entry",
        status=EntryStatus.POSTED,
        items=items,
        pending=False,
        description=description,
        meta=meta or {},
    )


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
    request_hash = _hash(request)
    locked = await lock_accounts(uow, (debit, credit))
    replay = await _replay(uow, key, request_hash)
    if replay is not None:
        return replay
    await _apply(uow, locked, [(p, True, 1) for p in items], allow_negative=frozenset())
    return await _insert(
        uow,
        key=key,
        request_hash=request_hash,
        kind="hold",
        status=EntryStatus.PENDING,
        items=items,
        pending=True,
        description=description,
        meta=meta or {},
        expires_at=expires_at,
    )


async def _resolve(
    uow: UnitOfWork,
    *,
    key: str,
    hold_id: uuid.UUID,
    event: HoldEvent,
    amount: int | None,
    description: str,
) -> Entry:
    request_hash = _hash({"op": event.value, "hold": str(hold_id), "amount": amount})
    row = (
        await uow.session.execute(select(entries).where(entries.c.id == hold_id).with_for_update())
    ).one_or_none()
    if row is None or row.kind != "hold":
        raise NotFound("no such hold", code="hold_not_found")
    held = (await _entry(uow, row)).postings
    locked = await lock_accounts(uow, (p.account_id for p in held))
    replay = await _replay(uow, key, request_hash) if key else None
    if replay is not None:
        return replay
    status = resolve_hold(EntryStatus(row.status), event)
    if event is HoldEvent.POST and row.expires_at is not None and row.expires_at <= uow.clock.now():
        # expired but not yet swept: it is released, not settled
        raise BusinessRuleViolation("this hold has expired", code="hold_expired")
    release = [(p, True, -1) for p in held]
    settled = partial_post(held, amount) if event is HoldEvent.POST else ()
    await _apply(
        uow, locked, [*release, *((p, False, 1) for p in settled)], allow_negative=frozenset()
    )
    now = uow.clock.now()
    await uow.session.execute(
        update(entries).where(entries.c.id == hold_id).values(status=status.value, resolved_at=now)
    )
    if event is HoldEvent.EXPIRE:
        return await entry_by_id(uow, hold_id)
    return await _insert(
        uow,
        key=key,
        request_hash=request_hash,
        kind=event.value,
        status=EntryStatus.POSTED if event is HoldEvent.POST else EntryStatus.VOIDED,
        items=settled,
        pending=False,
        description=description,
        meta=dict(row.meta),  # the settlement keeps the hold's references (bank, order...)
        pending_id=hold_id,
    )


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
    return await _resolve(
        uow, key=key, hold_id=hold_id, event=HoldEvent.POST, amount=amount, description=description
    )


async def void_hold(
    uow: UnitOfWork, *, key: str, hold_id: uuid.UUID, description: str = ""
) -> Entry:
    _check_key(key)
    return await _resolve(
        uow, key=key, hold_id=hold_id, event=HoldEvent.VOID, amount=None, description=description
    )


async def expire_holds(uow: UnitOfWork, *, limit: int = 500) -> int:
    """Release holds whose expiry has passed; returns how many."""
    ids = list(
        await uow.session.scalars(
            select(entries.c.id)
            .where(entries.c.status == EntryStatus.PENDING.value)
            .where(entries.c.expires_at.is_not(None))
            .where(entries.c.expires_at <= uow.clock.now())
            .limit(limit)
        )
    )
    for hold_id in ids:
        await _resolve(
            uow, key="", hold_id=hold_id, event=HoldEvent.EXPIRE, amount=None, description="expired"
        )
    return len(ids)
