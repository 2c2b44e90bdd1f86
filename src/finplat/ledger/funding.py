"""Deposits and withdrawals over a simulated bank rail.

Deposits settle at once in the embedded mode. A withdrawal takes a hold on the customer's
cash, needs an approved KYC case and, above a threshold, a compliance approval confirmed by a
second staff member; it settles by posting the hold. A returned deposit is reversed even if
the cash was spent: the account goes negative and is restricted until it is covered.

Paper customers are funded instantly from the paper book's omnibus account (`fund_paper`),
recorded as funding of direction "paper" so that a customer's history tells which money they
hold: a customer with real deposits or withdrawals gets no paper money, and a paper customer
can neither deposit nor withdraw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update

from finplat.identity import (
    Approval,
    IdentityKit,
    Origin,
    Principal,
    SensitiveAction,
    record_audit,
    request_approval,
)
from finplat.kernel import (
    Amount,
    Asset,
    BusinessRuleViolation,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    new_id,
)
from finplat.ledger import journal
from finplat.ledger.accounts import PAPER_BOOK, Account, open_account
from finplat.ledger.domain import AccountKind, currency, transfer
from finplat.ledger.events import (
    DepositReturned,
    DepositSettled,
    WithdrawalApproved,
    WithdrawalRequested,
    WithdrawalSettled,
)
from finplat.ledger.store import accounts, funding
from finplat.onboarding import is_kyc_approved
from finplat.platform.db import UnitOfWork


@dataclass(frozen=True)
class FundingPolicy:
    currency: Asset
    approval_threshold: Amount
    daily_withdrawal_limit: Amount
    daily_deposit_limit: Amount


@dataclass(frozen=True)
class FundingView:
    id: uuid.UUID
    direction: str
    asset: str
    amount: Amount
    status: str
    bank_reference: str
    reason: str | None
    approval_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    replayed: bool = False


def _view(row: Any, asset: Asset, *, replayed: bool = False) -> FundingView:
    return FundingView(
        id=row.id,
        direction=row.direction,
        asset=row.asset,
        amount=Amount(asset, row.amount),
        status=row.status,
        bank_reference=row.bank_reference,
        reason=row.reason,
        approval_id=row.approval_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        replayed=replayed,
    )


def _amount(value: Decimal, asset: Asset) -> Amount:
    amount = Amount.of(value, asset)  # InvalidAmount (422) when not exact in the asset
    if amount.minor <= 0:
        raise InvalidInput("the amount must be positive", code="invalid_amount")
    return amount


#: funding directions: real money over the bank rail, and paper money for paper accounts
LIVE_DIRECTIONS = ("deposit", "withdrawal")
PAPER = "paper"
_REFERENCE_PREFIX = {"deposit": "DEP", "withdrawal": "WDL", PAPER: "PPR"}


def _reference(direction: str) -> str:
    return f"{_REFERENCE_PREFIX[direction]}-{new_id().hex[:20].upper()}"


async def _accounts(uow: UnitOfWork, user_id: uuid.UUID, asset: Asset) -> tuple[Account, Account]:
    bank = await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=asset)
    cash = await open_account(uow, kind=AccountKind.CUSTOMER_CASH, asset=asset, owner_id=user_id)
    return bank, cash


async def _existing(
    uow: UnitOfWork, key: str, request_hash: str, asset: Asset
) -> FundingView | None:
    row = (
        await uow.session.execute(select(funding).where(funding.c.idempotency_key == key))
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict(
            "this idempotency key was used for a different request", code="idempotency_key_reused"
        )
    return _view(row, asset, replayed=True)


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


async def _used_today(uow: UnitOfWork, user_id: uuid.UUID, direction: str) -> int:
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(funding.c.amount), 0))
        .where(funding.c.user_id == user_id)
        .where(funding.c.direction == direction)
        .where(funding.c.created_at >= _day_start(uow.clock.now()))
        .where(funding.c.status.not_in(["rejected", "failed"]))
    )
    return int(total or 0)


async def _has_funding(uow: UnitOfWork, user_id: uuid.UUID, directions: tuple[str, ...]) -> bool:
    found = await uow.session.scalar(
        select(funding.c.id)
        .where(funding.c.user_id == user_id)
        .where(funding.c.direction.in_(directions))
        .limit(1)
    )
    return found is not None


async def _require_live(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    if await _has_funding(uow, user_id, (PAPER,)):
        raise BusinessRuleViolation(
            "a paper account holds paper money only: no deposits or withdrawals",
            code="paper_account",
        )


async def _require_kyc(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    if not await is_kyc_approved(uow, user_id):
        raise PermissionDenied("finish identity verification (KYC) first", code="kyc_not_approved")


async def _insert(
    uow: UnitOfWork,
    *,
    user_id: uuid.UUID,
    direction: str,
    amount: Amount,
    key: str,
    request_hash: str,
    status: str,
) -> tuple[uuid.UUID, str]:
    """Insert the request; returns its id and its bank reference."""
    funding_id = new_id()
    reference = _reference(direction)
    now = uow.clock.now()
    await uow.session.execute(
        insert(funding).values(
            id=funding_id,
            user_id=user_id,
            direction=direction,
            asset=amount.asset.code,
            amount=amount.minor,
            status=status,
            idempotency_key=key,
            request_hash=request_hash,
            bank_reference=reference,
            created_at=now,
            updated_at=now,
        )
    )
    return funding_id, reference


async def _row(uow: UnitOfWork, funding_id: uuid.UUID, *, for_update: bool = False) -> Any:
    query = select(funding).where(funding.c.id == funding_id)
    if for_update:
        query = query.with_for_update()
    row = (await uow.session.execute(query)).one_or_none()
    if row is None:
        raise NotFound("no such deposit or withdrawal", code="funding_not_found")
    return row


def _key(user_id: uuid.UUID, client_key: str) -> str:
    if not client_key or len(client_key) > 200:
        raise InvalidInput(
            "send an Idempotency-Key header (1-200 characters)", code="idempotency_key_required"
        )
    return f"{user_id}:{client_key}"


def _hash(**request: object) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


async def _set(uow: UnitOfWork, funding_id: uuid.UUID, **values: object) -> None:
    await uow.session.execute(
        update(funding)
        .where(funding.c.id == funding_id)
        .values(updated_at=uow.clock.now(), **values)
    )


async def deposit(
    uow: UnitOfWork, policy: FundingPolicy, principal: Principal, amount: Decimal, client_key: str
) -> FundingView:
    """A deposit from the customer's bank; the simulated rail settles it at once."""
    asset = policy.currency
    value = _amount(amount, asset)
    key = _key(principal.user_id, client_key)
    request_hash = _hash(op="deposit", amount=value.minor, asset=asset.code)
    bank, cash = await _accounts(uow, principal.user_id, asset)
    await journal.lock_accounts(uow, [cash.id])  # serialises this customer's funding requests
    replay = await _existing(uow, key, request_hash, asset)
    if replay is not None:
        return replay
    await _require_live(uow, principal.user_id)
    await _require_kyc(uow, principal.user_id)
    if (
        await _used_today(uow, principal.user_id, "deposit") + value.minor
        > policy.daily_deposit_limit.minor
    ):
        raise BusinessRuleViolation(
            f"the daily deposit limit is {policy.daily_deposit_limit}", code="daily_limit_exceeded"
        )
    funding_id, reference = await _insert(
        uow,
        user_id=principal.user_id,
        direction="deposit",
        amount=value,
        key=key,
        request_hash=request_hash,
        status="pending",
    )
    entry = await journal.post_entry(
        uow,
        key=f"funding:{funding_id}:settle",
        postings_=transfer(bank.id, cash.id, asset.code, value.minor),
        description="deposit",
        meta={"bank_reference": reference, "funding_id": str(funding_id)},
    )
    await _set(uow, funding_id, status="settled", settle_entry_id=entry.id)
    await _clear_restriction(uow, cash)
    await uow.publish(
        DepositSettled(
            funding_id=str(funding_id),
            user_id=str(principal.user_id),
            asset=asset.code,
            amount=str(value),
        )
    )
    return _view(await _row(uow, funding_id), asset)


async def fund_paper(
    uow: UnitOfWork, *, user_id: uuid.UUID, asset: Asset, amount: Decimal, key: str
) -> journal.Entry:
    """Credit a paper customer's cash with `amount` (major units: Decimal("100000") is
    100,000.00 USD) from the paper book's omnibus account, at once: a sandbox top-up, with no
    bank, KYC or limits. The same `key` (scoped to the customer) with the same request returns
    the first entry; with another, a conflict. A customer with real deposits or withdrawals is
    refused (`live_account`): paper money never enters an account that holds real money."""
    value = _amount(amount, asset)
    funding_key = _key(user_id, key)
    request_hash = _hash(op=PAPER, amount=value.minor, asset=asset.code)
    bank = await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=asset, book=PAPER_BOOK)
    cash = await open_account(uow, kind=AccountKind.CUSTOMER_CASH, asset=asset, owner_id=user_id)
    await journal.lock_accounts(uow, [cash.id])  # serialises this customer's funding requests
    replay = await _existing(uow, funding_key, request_hash, asset)
    if replay is not None:
        row = await _row(uow, replay.id)
        first = await journal.entry_by_id(uow, row.settle_entry_id)
        return dataclasses.replace(first, replayed=True)
    if await _has_funding(uow, user_id, LIVE_DIRECTIONS):
        raise BusinessRuleViolation(
            "this customer holds real money; paper money cannot be added", code="live_account"
        )
    funding_id, reference = await _insert(
        uow,
        user_id=user_id,
        direction=PAPER,
        amount=value,
        key=funding_key,
        request_hash=request_hash,
        status="pending",
    )
    entry = await journal.post_entry(
        uow,
        key=f"funding:{funding_id}:settle",
        postings_=transfer(bank.id, cash.id, asset.code, value.minor),
        description="paper funding",
        meta={"book": PAPER_BOOK, "paper_reference": reference, "funding_id": str(funding_id)},
    )
    await _set(uow, funding_id, status="settled", settle_entry_id=entry.id)
    return entry


async def _clear_restriction(uow: UnitOfWork, cash: Account) -> None:
    row = (await uow.session.execute(select(accounts).where(accounts.c.id == cash.id))).one()
    if row.restricted and row.credits_posted - row.debits_posted >= 0:
        await uow.session.execute(
            update(accounts).where(accounts.c.id == cash.id).values(restricted=False)
        )


async def return_deposit(
    uow: UnitOfWork,
    policy: FundingPolicy,
    staff: Principal,
    funding_id: uuid.UUID,
    reason: str,
    origin: Origin,
) -> FundingView:
    """The bank took a settled deposit back (an ACH return). The reversal goes through even if
    the cash was spent; a negative balance restricts the account until it is covered."""
    row = await _row(uow, funding_id, for_update=True)
    if row.direction != "deposit" or row.status != "settled":
        raise BusinessRuleViolation("only a settled deposit can be returned", code="not_returnable")
    asset = policy.currency
    bank, cash = await _accounts(uow, row.user_id, asset)
    await journal.post_entry(
        uow,
        key=f"funding:{funding_id}:return",
        postings_=transfer(cash.id, bank.id, asset.code, row.amount),
        description="returned deposit",
        meta={"bank_reference": f"{row.bank_reference}-R", "funding_id": str(funding_id)},
        allow_negative=[cash.id],
    )
    after = (await uow.session.execute(select(accounts).where(accounts.c.id == cash.id))).one()
    if after.credits_posted - after.debits_posted < 0:
        await uow.session.execute(
            update(accounts).where(accounts.c.id == cash.id).values(restricted=True)
        )
    await _set(uow, funding_id, status="returned", reason=reason)
    await uow.publish(
        DepositReturned(
            funding_id=str(funding_id),
            user_id=str(row.user_id),
            asset=asset.code,
            amount=str(Amount(asset, row.amount)),
        )
    )
    await record_audit(
        uow,
        action="funding.deposit_returned",
        actor_id=str(staff.user_id),
        actor_type=staff.kind,
        target_type="funding",
        target_id=str(funding_id),
        ip=origin.ip,
        details={"reason": reason},
    )
    return _view(await _row(uow, funding_id), asset)


async def request_withdrawal(
    uow: UnitOfWork, policy: FundingPolicy, principal: Principal, amount: Decimal, client_key: str
) -> FundingView:
    asset = policy.currency
    value = _amount(amount, asset)
    key = _key(principal.user_id, client_key)
    request_hash = _hash(op="withdrawal", amount=value.minor, asset=asset.code)
    bank, cash = await _accounts(uow, principal.user_id, asset)
    cash = (await journal.lock_accounts(uow, [cash.id]))[cash.id]
    replay = await _existing(uow, key, request_hash, asset)
    if replay is not None:
        return replay
    await _require_live(uow, principal.user_id)
    await _require_kyc(uow, principal.user_id)
    if cash.restricted:
        raise BusinessRuleViolation(
            "the account is restricted until its negative balance is covered",
            code="account_restricted",
        )
    if (
        await _used_today(uow, principal.user_id, "withdrawal") + value.minor
        > policy.daily_withdrawal_limit.minor
    ):
        raise BusinessRuleViolation(
            f"the daily withdrawal limit is {policy.daily_withdrawal_limit}",
            code="daily_limit_exceeded",
        )
    needs_approval = value.minor > policy.approval_threshold.minor
    funding_id, reference = await _insert(
        uow,
        user_id=principal.user_id,
        direction="withdrawal",
        amount=value,
        key=key,
        request_hash=request_hash,
        status="approval_required" if needs_approval else "approved",
    )
    held = await journal.hold(
        uow,
        key=f"funding:{funding_id}:hold",
        debit=cash.id,
        credit=bank.id,
        asset=asset.code,
        amount=value.minor,
        description="withdrawal",
        meta={"bank_reference": reference, "funding_id": str(funding_id)},
    )
    await _set(uow, funding_id, hold_entry_id=held.id)
    event = dict(
        funding_id=str(funding_id),
        user_id=str(principal.user_id),
        asset=asset.code,
        amount=str(value),
    )
    await uow.publish(WithdrawalRequested(**event))
    if not needs_approval:
        await uow.publish(WithdrawalApproved(**event))
        await _settle(uow, funding_id)
    return _view(await _row(uow, funding_id), asset)


async def _settle(uow: UnitOfWork, funding_id: uuid.UUID) -> None:
    """Send to the (simulated, instant) rail and post the hold."""
    row = await _row(uow, funding_id, for_update=True)
    entry = await journal.post_hold(
        uow,
        key=f"funding:{funding_id}:settle",
        hold_id=row.hold_entry_id,
        description="withdrawal settled",
    )
    await _set(uow, funding_id, status="settled", settle_entry_id=entry.id)
    await uow.publish(
        WithdrawalSettled(
            funding_id=str(funding_id),
            user_id=str(row.user_id),
            asset=row.asset,
            amount=str(Amount(currency(row.asset), row.amount)),
        )
    )


async def approve_withdrawal(
    identity_kit: IdentityKit,
    uow: UnitOfWork,
    staff: Principal,
    funding_id: uuid.UUID,
    origin: Origin,
) -> FundingView:
    """The first staff approval of a large withdrawal: it asks a second staff member."""
    row = await _row(uow, funding_id, for_update=True)
    if row.direction != "withdrawal" or row.status != "approval_required":
        raise BusinessRuleViolation("this withdrawal does not await approval", code="not_pending")
    approval = await request_approval(
        identity_kit,
        uow,
        staff,
        SensitiveAction.WITHDRAWAL_APPROVAL,
        str(funding_id),
        {"amount": str(row.amount), "asset": row.asset},
        origin,
    )
    await _set(uow, funding_id, status="awaiting_second_approval", approval_id=approval.id)
    return _view(await _row(uow, funding_id), currency(row.asset))


async def on_withdrawal_approved(uow: UnitOfWork, approval: Approval, checker: uuid.UUID) -> None:
    """Maker-checker handler: the second staff member approved; release to the rail."""
    funding_id = uuid.UUID(approval.target_id)
    row = await _row(uow, funding_id, for_update=True)
    if row.status != "awaiting_second_approval" or row.approval_id != approval.id:
        raise BusinessRuleViolation(
            "the withdrawal changed since approval was asked", code="withdrawal_changed"
        )
    await uow.publish(
        WithdrawalApproved(
            funding_id=str(funding_id),
            user_id=str(row.user_id),
            asset=row.asset,
            amount=str(Amount(currency(row.asset), row.amount)),
        )
    )
    await _settle(uow, funding_id)


async def reject_withdrawal(
    uow: UnitOfWork, staff: Principal, funding_id: uuid.UUID, reason: str, origin: Origin
) -> FundingView:
    row = await _row(uow, funding_id, for_update=True)
    if row.direction != "withdrawal" or row.status not in {
        "approval_required",
        "awaiting_second_approval",
    }:
        raise BusinessRuleViolation("this withdrawal cannot be rejected now", code="not_pending")
    await journal.void_hold(
        uow,
        key=f"funding:{funding_id}:void",
        hold_id=row.hold_entry_id,
        description="withdrawal rejected",
    )
    await _set(uow, funding_id, status="rejected", reason=reason)
    await record_audit(
        uow,
        action="funding.withdrawal_rejected",
        actor_id=str(staff.user_id),
        actor_type=staff.kind,
        target_type="funding",
        target_id=str(funding_id),
        ip=origin.ip,
        details={"reason": reason},
    )
    return _view(await _row(uow, funding_id), currency(row.asset))


async def list_funding(
    uow: UnitOfWork,
    *,
    user_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    before: datetime | None = None,
) -> list[FundingView]:
    query = select(funding).order_by(funding.c.created_at.desc()).limit(limit)
    if user_id is not None:
        query = query.where(funding.c.user_id == user_id)
    if status is not None:
        query = query.where(funding.c.status == status)
    if before is not None:
        query = query.where(funding.c.created_at < before)
    return [_view(row, currency(row.asset)) for row in await uow.session.execute(query)]
