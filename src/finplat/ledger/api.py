"""Ledger and funding HTTP routes: accounts, balances, activity, deposits, withdrawals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from finplat.identity import (
    IdentityKit,
    Origin,
    Permission,
    Principal,
    identity_kit,
    request_origin,
    require,
)
from finplat.kernel import Amount, NotFound
from finplat.ledger import funding
from finplat.ledger.accounts import Account, accounts_of, by_id, posted_balance_at
from finplat.ledger.funding import FundingPolicy, FundingView
from finplat.ledger.store import entries, postings
from finplat.platform.db import UnitOfWorkFactory
from finplat.platform.http import DecimalString, StrictModel

router = APIRouter(tags=["ledger"])

Reader = Annotated[Principal, require(Permission.ACCOUNTS_READ)]
FundingReader = Annotated[Principal, require(Permission.FUNDING_READ)]
Depositor = Annotated[Principal, require(Permission.FUNDING_WRITE)]
Withdrawer = Annotated[Principal, require(Permission.FUNDING_WRITE, mfa=True, step_up=True)]
Staff = Annotated[Principal, require(Permission.APPROVALS_DECIDE, mfa=True)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def _uows(request: Request) -> UnitOfWorkFactory:
    kit: IdentityKit = request.app.state.identity
    return kit.uows


def _policy(request: Request) -> FundingPolicy:
    policy = request.app.state.funding_policy
    assert isinstance(policy, FundingPolicy)  # noqa: S101 - wired by the composition root
    return policy


Uows = Annotated[UnitOfWorkFactory, Depends(_uows)]
Policy = Annotated[FundingPolicy, Depends(_policy)]
Kit = Annotated[IdentityKit, Depends(identity_kit)]
RequestOrigin = Annotated[Origin, Depends(request_origin)]


class AccountOut(BaseModel):
    id: uuid.UUID
    kind: str
    asset: str
    balance: DecimalString = Field(description="posted balance")
    available: DecimalString = Field(description="balance less holds")
    held: DecimalString
    restricted: bool


def _account_out(account: Account) -> AccountOut:
    side = account.side
    return AccountOut(
        id=account.id,
        kind=account.kind.value,
        asset=account.asset.code,
        balance=Amount(account.asset, account.balances.posted(side)).to_decimal(),
        available=Amount(account.asset, account.balances.available(side)).to_decimal(),
        held=Amount(
            account.asset, account.balances.posted(side) - account.balances.available(side)
        ).to_decimal(),
        restricted=account.restricted,
    )


@router.get("/accounts", name="list_my_accounts")
async def list_my_accounts(principal: Reader, uows: Uows) -> list[AccountOut]:
    async with uows(read_only=True) as uow:
        found = await accounts_of(uow, principal.user_id)
    return [_account_out(a) for a in found]


async def _own(uows: UnitOfWorkFactory, principal: Principal, account_id: uuid.UUID) -> Account:
    async with uows(read_only=True) as uow:
        account = await by_id(uow, account_id)
    if account.owner_id != principal.user_id:
        raise NotFound("no such account", code="account_not_found")
    return account


class BalanceOut(BaseModel):
    account_id: uuid.UUID
    asset: str
    as_of: datetime | None
    balance: DecimalString


@router.get("/accounts/{account_id}/balance", name="get_account_balance")
async def get_account_balance(
    account_id: uuid.UUID,
    principal: Reader,
    uows: Uows,
    as_of: Annotated[datetime | None, Query(description="posted balance at this moment")] = None,
) -> BalanceOut:
    account = await _own(uows, principal, account_id)
    if as_of is None:
        minor = account.balances.posted(account.side)
    else:
        async with uows(read_only=True) as uow:
            minor = await posted_balance_at(uow, account, as_of)
    return BalanceOut(
        account_id=account.id,
        asset=account.asset.code,
        as_of=as_of,
        balance=Amount(account.asset, minor).to_decimal(),
    )


class ActivityOut(BaseModel):
    seq: int
    entry_id: uuid.UUID
    kind: str
    description: str
    amount: DecimalString = Field(description="+ adds to the balance, - takes from it")
    pending: bool
    at: datetime
    reference: str | None


@router.get("/accounts/{account_id}/activities", name="list_account_activities")
async def list_account_activities(
    account_id: uuid.UUID,
    principal: Reader,
    uows: Uows,
    before: Annotated[int | None, Query(ge=1, description="seq cursor from the last page")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_pending: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ActivityOut]:
    """Postings to the account, newest first, with the entry they belong to."""
    account = await _own(uows, principal, account_id)
    query = (
        select(postings, entries.c.kind, entries.c.description, entries.c.meta)
        .join(entries, entries.c.id == postings.c.entry_id)
        .where(postings.c.account_id == account.id)
        .order_by(postings.c.seq.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(postings.c.seq < before)
    if since is not None:
        query = query.where(postings.c.created_at >= since)
    if until is not None:
        query = query.where(postings.c.created_at <= until)
    if not include_pending:
        query = query.where(postings.c.pending.is_(False))
    sign = -1 if account.side.value == "credit" else 1
    async with uows(read_only=True) as uow:
        rows = (await uow.session.execute(query)).all()
    return [
        ActivityOut(
            seq=row.seq,
            entry_id=row.entry_id,
            kind=row.kind,
            description=row.description,
            amount=Amount(account.asset, sign * row.amount).to_decimal(),
            pending=row.pending,
            at=row.created_at,
            reference=dict(row.meta).get("bank_reference"),
        )
        for row in rows
    ]


class FundingIn(StrictModel):
    amount: DecimalString


class FundingOut(BaseModel):
    id: uuid.UUID
    direction: str
    asset: str
    amount: DecimalString
    status: str
    bank_reference: str
    reason: str | None
    approval_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


def _funding_out(view: FundingView) -> FundingOut:
    return FundingOut(**{**vars(view), "amount": view.amount.to_decimal()})


def _answer(view: FundingView, created: int = status.HTTP_201_CREATED) -> Any:
    body = _funding_out(view).model_dump(mode="json")
    return JSONResponse(body, status_code=status.HTTP_200_OK if view.replayed else created)


@router.post(
    "/funding/deposits",
    name="create_deposit",
    response_model=FundingOut,
    status_code=201,
)
async def create_deposit(
    body: FundingIn, principal: Depositor, uows: Uows, policy: Policy, key: IdempotencyKey
) -> Any:
    """Deposit from the customer's bank (settles at once on the simulated rail). Retrying with
    the same Idempotency-Key returns the first answer (200)."""
    async with uows() as uow:
        view = await funding.deposit(uow, policy, principal, body.amount, key)
    return _answer(view)


@router.post(
    "/funding/withdrawals",
    name="create_withdrawal",
    response_model=FundingOut,
    status_code=201,
)
async def create_withdrawal(
    body: FundingIn, principal: Withdrawer, uows: Uows, policy: Policy, key: IdempotencyKey
) -> Any:
    """Withdraw to the customer's bank. Needs a recent MFA step-up and an approved KYC case;
    above the approval threshold it waits for two staff approvals."""
    async with uows() as uow:
        view = await funding.request_withdrawal(uow, policy, principal, body.amount, key)
    return _answer(view)


@router.get("/funding/transfers", name="list_my_funding")
async def list_my_funding(
    principal: FundingReader,
    uows: Uows,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: datetime | None = None,
) -> list[FundingOut]:
    async with uows(read_only=True) as uow:
        found = await funding.list_funding(
            uow, user_id=principal.user_id, status=None, limit=limit, before=before
        )
    return [_funding_out(v) for v in found]


@router.get("/compliance/withdrawals", name="list_withdrawals_for_review")
async def list_withdrawals_for_review(
    principal: Staff,
    uows: Uows,
    status_filter: Annotated[str, Query(alias="status")] = "approval_required",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[FundingOut]:
    async with uows(read_only=True) as uow:
        found = await funding.list_funding(uow, user_id=None, status=status_filter, limit=limit)
    return [_funding_out(v) for v in found]


@router.post(
    "/compliance/withdrawals/{funding_id}/approve",
    name="approve_withdrawal",
    status_code=status.HTTP_202_ACCEPTED,
)
async def approve_withdrawal(
    funding_id: uuid.UUID, principal: Staff, uows: Uows, kit: Kit, origin: RequestOrigin
) -> FundingOut:
    """First approval of a large withdrawal; a second staff member confirms it at
    /admin/approvals, which releases it to the bank."""
    async with uows() as uow:
        view = await funding.approve_withdrawal(kit, uow, principal, funding_id, origin)
    return _funding_out(view)


class ReasonIn(StrictModel):
    reason: str = Field(min_length=3, max_length=2000)


@router.post("/compliance/withdrawals/{funding_id}/reject", name="reject_withdrawal")
async def reject_withdrawal(
    funding_id: uuid.UUID, body: ReasonIn, principal: Staff, uows: Uows, origin: RequestOrigin
) -> FundingOut:
    async with uows() as uow:
        view = await funding.reject_withdrawal(uow, principal, funding_id, body.reason, origin)
    return _funding_out(view)


@router.post("/admin/funding/deposits/{funding_id}/return", name="return_deposit")
async def return_deposit(
    funding_id: uuid.UUID,
    body: ReasonIn,
    principal: Staff,
    uows: Uows,
    policy: Policy,
    origin: RequestOrigin,
) -> FundingOut:
    """Record that the bank returned a settled deposit (the simulated rail's ACH return)."""
    async with uows() as uow:
        view = await funding.return_deposit(uow, policy, principal, funding_id, body.reason, origin)
    return _funding_out(view)
