"""Opening accounts (idempotent by code) and reading their balances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from finplat.kernel import Asset, NotFound, new_id
from finplat.ledger.domain import NON_NEGATIVE_KINDS, NORMAL_SIDE, AccountKind, Balances, NormalSide
from finplat.ledger.store import accounts, postings
from finplat.platform.db import UnitOfWork


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    code: str
    owner_id: uuid.UUID | None
    kind: AccountKind
    asset: Asset
    side: NormalSide
    non_negative: bool
    balances: Balances
    restricted: bool
    created_at: datetime

    @property
    def posted(self) -> int:
        return self.balances.posted(self.side)

    @property
    def available(self) -> int:
        return self.balances.available(self.side)


def account_from_row(row: object) -> Account:
    r = row
    return Account(
        id=r.id,  # type: ignore[attr-defined]
        code=r.code,  # type: ignore[attr-defined]
        owner_id=r.owner_id,  # type: ignore[attr-defined]
        kind=AccountKind(r.kind),  # type: ignore[attr-defined]
        asset=Asset(r.asset, r.scale),  # type: ignore[attr-defined]
        side=NormalSide(r.normal_side),  # type: ignore[attr-defined]
        non_negative=r.non_negative,  # type: ignore[attr-defined]
        balances=Balances(
            r.debits_posted,  # type: ignore[attr-defined]
            r.credits_posted,  # type: ignore[attr-defined]
            r.debits_pending,  # type: ignore[attr-defined]
            r.credits_pending,  # type: ignore[attr-defined]
        ),
        restricted=r.restricted,  # type: ignore[attr-defined]
        created_at=r.created_at,  # type: ignore[attr-defined]
    )


def customer_code(owner_id: uuid.UUID, kind: AccountKind, asset: Asset) -> str:
    return f"customer:{owner_id}:{kind.value}:{asset.code}"


#: The book of real money; paper trading keeps its own platform accounts (book "paper"), so
#: paper and real money never meet in one account.
LIVE_BOOK = "live"
PAPER_BOOK = "paper"


def platform_code(kind: AccountKind, asset: Asset, book: str = LIVE_BOOK) -> str:
    if book == LIVE_BOOK:
        return f"platform:{kind.value}:{asset.code}"
    return f"platform:{book}:{kind.value}:{asset.code}"


async def by_code(uow: UnitOfWork, code: str) -> Account | None:
    row = (await uow.session.execute(select(accounts).where(accounts.c.code == code))).one_or_none()
    return account_from_row(row) if row is not None else None


async def by_id(uow: UnitOfWork, account_id: uuid.UUID) -> Account:
    row = (
        await uow.session.execute(select(accounts).where(accounts.c.id == account_id))
    ).one_or_none()
    if row is None:
        raise NotFound("no such account", code="account_not_found")
    return account_from_row(row)


async def customer_account(
    uow: UnitOfWork, owner_id: uuid.UUID, kind: AccountKind, asset: Asset
) -> Account | None:
    """The customer's account for (kind, asset) if it was ever opened; it is not created
    (`open_account` creates)."""
    return await by_code(uow, customer_code(owner_id, kind, asset))


class AccountBalance(NamedTuple):
    """An account's balance and what of it is free, in minor units of its asset."""

    posted: int
    available: int  # posted less what holds against the account take away


_BALANCE_COLUMNS = select(
    accounts.c.normal_side,
    accounts.c.debits_posted,
    accounts.c.credits_posted,
    accounts.c.debits_pending,
    accounts.c.credits_pending,
)


async def account_balances(uow: UnitOfWork, account_id: uuid.UUID) -> AccountBalance:
    """The account's posted and available balance as committed now (not locked: a write
    re-checks the invariants under its locks)."""
    row = (
        await uow.session.execute(_BALANCE_COLUMNS.where(accounts.c.id == account_id))
    ).one_or_none()
    if row is None:
        raise NotFound("no such account", code="account_not_found")
    side = NormalSide(row.normal_side)
    counters = Balances(
        row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending
    )
    return AccountBalance(counters.posted(side), counters.available(side))


async def open_account(
    uow: UnitOfWork,
    *,
    kind: AccountKind,
    asset: Asset,
    owner_id: uuid.UUID | None = None,
    book: str = LIVE_BOOK,
) -> Account:
    """The account for (owner, kind, asset), created the first time it is asked for; a
    platform account (no owner) belongs to a `book` (live money, or paper)."""
    code = customer_code(owner_id, kind, asset) if owner_id else platform_code(kind, asset, book)
    found = await by_code(uow, code)
    if found is not None:
        return found
    try:
        async with uow.session.begin_nested():
            await uow.session.execute(
                insert(accounts).values(
                    id=new_id(),
                    code=code,
                    owner_id=owner_id,
                    kind=kind.value,
                    asset=asset.code,
                    scale=asset.scale,
                    normal_side=NORMAL_SIDE[kind].value,
                    non_negative=kind in NON_NEGATIVE_KINDS,
                    debits_posted=0,
                    credits_posted=0,
                    debits_pending=0,
                    credits_pending=0,
                    restricted=False,
                    created_at=uow.clock.now(),
                )
            )
    except IntegrityError:
        pass  # opened concurrently: use that one
    found = await by_code(uow, code)
    assert found is not None  # noqa: S101 - inserted or found above
    return found


async def accounts_of(uow: UnitOfWork, owner_id: uuid.UUID) -> list[Account]:
    rows = await uow.session.execute(
        select(accounts).where(accounts.c.owner_id == owner_id).order_by(accounts.c.code)
    )
    return [account_from_row(row) for row in rows]


async def posted_balance_at(uow: UnitOfWork, account: Account, at: datetime) -> int:
    """The posted balance at a past moment, from the postings up to and including it."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(postings.c.amount), 0))
        .where(postings.c.account_id == account.id)
        .where(postings.c.pending.is_(False))
        .where(postings.c.created_at <= at)
    )
    debit_minus_credit = int(total or 0)
    return debit_minus_credit if account.side is NormalSide.DEBIT else -debit_minus_credit


async def is_restricted(uow: UnitOfWork, owner_id: uuid.UUID) -> bool:
    """True while any of the customer's accounts carries an uncovered forced negative;
    trading reads this to allow only risk-reducing orders."""
    found = await uow.session.scalar(
        select(func.count())
        .select_from(accounts)
        .where(accounts.c.owner_id == owner_id)
        .where(accounts.c.restricted.is_(True))
    )
    return bool(found)
