"""The internal venue's way to the database: what one book command did, in one transaction.

A taker's fills touch two orders each (maker and taker), and a crash between booking the
maker's side and the taker's would leave one customer with shares nobody sold. So every
outcome of one command (the fills of both sides, the taker's cancelled remainder, a
requested cancel) is written in ONE unit of work: the order service's own use cases run
inside it, on a kit whose unit-of-work factory hands them the open transaction instead of
a new one (`joined`). Either the whole command is in the database or none of it is, and the
engine's restart replays what is not.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from finplat import ledger
from finplat.platform.db import UnitOfWork, UnitOfWorkFactory
from finplat.trading import repository as repo
from finplat.trading import service
from finplat.trading.booking import books_for
from finplat.trading.context import TradingKit
from finplat.trading.venue import Execution

VENUE = "internal"


class OutOfStep(Exception):
    """The database disagrees with the book (a maker already ended, a fill already booked):
    the batch is rolled back and the book rebuilt from the database."""


class _Joined(UnitOfWorkFactory):
    """Units of work that are all one open transaction: committing is the opener's job."""

    def __init__(self, outer: UnitOfWorkFactory, uow: UnitOfWork) -> None:
        # No call to super().__init__: nothing here opens a transaction of its own.
        self.database = outer.database
        self.clock = outer.clock
        self._uow = uow

    @asynccontextmanager
    async def __call__(self, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
        yield self._uow


def joined(kit: TradingKit, uow: UnitOfWork) -> TradingKit:
    """`kit` whose use cases run inside `uow` (venues, updates and policy shared)."""
    return replace(kit, uows=_Joined(kit.uows, uow))


@dataclass(frozen=True)
class Fill:
    """Both sides of one book fill, and the accounts that own them."""

    maker: Execution
    taker: Execution
    accounts: tuple[uuid.UUID, uuid.UUID]


@dataclass(frozen=True)
class End:
    """An order leaves the book without filling: `how` is canceled (a requested cancel),
    expired (an ioc/fok remainder) or rejected (the book or the venue refused it)."""

    order_id: uuid.UUID
    how: str  # "canceled" | "expired" | "rejected"
    reason: str = ""


Action = Fill | End


async def apply_batch(
    kit: TradingKit,
    actions: list[Action],
    *,
    symbol: str,
    paper: bool,
    at: datetime,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Write one command's outcome in one transaction. Raises OutOfStep (nothing written)
    when a fill cannot be booked as the book made it."""
    async with kit.uows() as uow:
        await _lock_customers(kit, uow, actions, symbol=symbol, paper=paper)
        await apply_in(joined(kit, uow), actions, at=at)
        if before_commit is not None:
            before_commit()


async def _lock_customers(
    kit: TradingKit, uow: UnitOfWork, actions: list[Action], *, symbol: str, paper: bool
) -> None:
    """Lock the ledger accounts of every customer the fills touch, in one statement (id
    order), before any entry: booking maker after taker locks two customers' accounts one
    after the other, and a submission of the second customer (its accounts, then the shared
    clearing accounts) would otherwise deadlock with it."""
    owners = sorted({owner for a in actions if isinstance(a, Fill) for owner in a.accounts})
    if not owners:
        return
    ids = []
    for owner in owners:
        books = await books_for(
            uow,
            owner,
            symbol,
            currency=kit.policy.currency,
            book="paper" if paper else "live",
            platform=kit.platform_accounts,
        )
        ids += [books.cash.id, books.shares.id]
    await ledger.lock_accounts(uow, ids)


async def apply_in(kit: TradingKit, actions: list[Action], *, at: datetime) -> None:
    """`apply_batch`'s body, on a kit already joined to a transaction."""
    for action in actions:
        if isinstance(action, Fill):
            for execution in (action.maker, action.taker):
                if await service.apply_execution(kit, VENUE, execution) is None:
                    raise OutOfStep(f"{execution.venue_execution_id} could not be booked")
        elif action.how == "expired":
            await service.expire_order(kit, action.order_id, at=at)
        elif action.how == "rejected":
            await service.reject_order(kit, action.order_id, at=at, reason=action.reason)
        else:
            await _confirm_cancel(kit, action.order_id, at)


async def _confirm_cancel(kit: TradingKit, order_id: uuid.UUID, at: datetime) -> None:
    """A cancel the book carried out (or found nothing to cancel for: the order never rested
    or already ended); an order that ended meanwhile stays as it ended."""
    async with kit.uows() as uow:
        order, _ = await repo.load_order(uow, order_id, for_update=True)
    if order.status.is_open:
        await service.confirm_cancel(kit, order_id, at=at)
