"""The internal venue killed at random points of a stream of crossing orders from two
customers (before its batch is written, inside the transaction, after the commit), restarted
each time, the stream finished: the ledger proves, every book fill is booked once for both
sides, positions equal the ledger's securities, and finished orders hold nothing."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from finplat import ledger
from finplat.ledger.reconcile import check_ledger
from finplat.platform.db import Database
from finplat.trading import (
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingKit,
    open_positions,
    service,
)
from finplat.trading.accounts import set_account_state
from finplat.trading.repository import list_orders
from finplat.trading.store import executions
from finplat.trading.venues.internal import InternalVenue
from tests.integration.trading.conftest import STARTING_CASH, Customer, LedgerView, MakeCustomer

D = Decimal
ORDERS = 60
POINTS = ("matched", "applied", "committed")


class Killed(BaseException):
    """The engine dies here (not an Exception: nothing in the venue may catch it)."""


class Killer:
    """Kills the engine at the `at`-th fault point it passes (counting every point)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.passed = 0
        self.kills: list[str] = []
        self.arm()

    def arm(self) -> None:
        self.at = self.passed + self.rng.randint(1, 12)

    def __call__(self, point: str) -> None:
        self.passed += 1
        if self.passed == self.at:
            self.kills.append(point)
            self.arm()
            raise Killed(point)


class Engine:
    """One engine run after another on the same kit, each killed by the same Killer."""

    def __init__(self, kit: TradingKit, killer: Killer | None) -> None:
        self.kit, self.killer = kit, killer
        self.task: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()
        self.starts = 0

    def start(self) -> None:
        self.venue = InternalVenue(self.kit, fault=self.killer)
        self.kit.venues[self.venue.name] = self.venue
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.venue.run(self.stop))
        self.starts += 1

    async def settle(self) -> None:
        """Wait until the engine is idle, restarting it as often as it is killed."""
        while True:
            assert self.task is not None
            idle = asyncio.create_task(self.venue.idle())
            await asyncio.wait([idle, self.task], return_when=asyncio.FIRST_COMPLETED)
            if not self.task.done():
                return
            idle.cancel()
            with pytest.raises(Killed):
                await self.task
            self.start()

    async def close(self) -> None:
        """Stop the engine (it may die on its way out: the next start repairs that too)."""
        assert self.task is not None
        self.stop.set()
        with contextlib.suppress(Killed):
            await self.task


async def shorting(kit: TradingKit, make_customer: MakeCustomer) -> Customer:
    customer = await make_customer()
    async with kit.uows() as uow:
        await set_account_state(uow, customer.id, may_short=True)
    return customer


def stream(rng: random.Random, customers: list[Customer]) -> list[tuple[Customer, OrderRequest]]:
    """Crossing orders: the first customer mostly buys, the second mostly sells (an order
    that would cross its own account's resting order is refused as a wash trade)."""
    out = []
    for _ in range(ORDERS):
        who = rng.randrange(2)
        side = (Side.BUY, Side.SELL)[who if rng.random() < 0.85 else 1 - who]
        out.append(
            (
                customers[who],
                OrderRequest(
                    symbol="IWM",
                    side=side,
                    type=OrderType.LIMIT,
                    time_in_force=rng.choice([TimeInForce.DAY, TimeInForce.DAY, TimeInForce.IOC]),
                    qty=D(rng.randint(1, 6)),
                    limit_price=D(rng.randint(9995, 10005)).scaleb(-2),
                ),
            )
        )
    return out


@pytest.mark.parametrize("seed", [7, 2026])
async def test_no_fill_is_lost_or_booked_twice_when_the_engine_dies(  # noqa: PLR0915
    seed: int,
    trading_kit: TradingKit,
    make_customer: MakeCustomer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    rng = random.Random(seed)
    customers = [await shorting(trading_kit, make_customer) for _ in range(2)]
    killer = Killer(rng)
    engine = Engine(trading_kit, killer)
    engine.start()
    for n, (customer, request) in enumerate(stream(rng, customers)):
        await service.submit_order(trading_kit, customer.id, request)
        if n % 3 == 2:  # now and then several orders queue up before the engine runs
            await engine.settle()
    await engine.settle()
    # cancel what still rests, through the engine (and its killer) too
    for customer in customers:
        await service.cancel_all(trading_kit, customer.id)
        await engine.settle()
    await engine.close()
    assert len(killer.kills) >= 3, killer.kills
    assert set(killer.kills) == set(POINTS)

    # a clean engine finds nothing left to do
    engine = Engine(trading_kit, None)
    engine.start()
    await engine.settle()
    await engine.close()

    assert (await check_ledger(database)).ok

    async with trading_kit.uows(read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(
                    executions.c.venue_execution_id,
                    executions.c.order_id,
                    executions.c.account_id,
                    executions.c.qty,
                    executions.c.price,
                    executions.c.ledger_entry_id,
                ).where(executions.c.venue == "internal")
            )
        ).all()
        orders: list[Order] = []
        for customer in customers:
            orders += await list_orders(uow, customer.id, status="all", limit=10_000)
    assert len(rows) >= 20, "the stream must have traded"
    sides: dict[str, dict[str, tuple[object, ...]]] = defaultdict(dict)
    for venue_id, order_id, account_id, qty, price, entry in rows:
        fill, role = venue_id.rsplit(":", 1)
        assert entry is not None
        sides[fill][role] = (order_id, account_id, qty, price)
    for fill, both in sides.items():
        assert set(both) == {"maker", "taker"}, fill
        maker, taker = both["maker"], both["taker"]
        assert maker[2:] == taker[2:], fill  # same quantity and price
        assert maker[1] != taker[1], fill  # never the same account
    filled: dict[object, D] = defaultdict(D)
    for _, order_id, _, qty, _, _ in rows:
        filled[order_id] += D(qty).scaleb(-9)
    assert len(orders) == ORDERS
    for order in orders:
        assert order.status.is_terminal, order
        assert order.filled_qty == filled.get(order.id, D(0)), order
        if order.request.time_in_force is TimeInForce.IOC:
            assert order.status in {OrderStatus.FILLED, OrderStatus.EXPIRED, OrderStatus.CANCELED}

    async with trading_kit.uows(read_only=True) as uow:
        for order in orders:
            if order.hold_id is not None:
                assert await ledger.held_amount(uow, order.hold_id) == 0, order
        positions = {c.id: await open_positions(uow, c.id) for c in customers}
    total_cash = D(0)
    for customer in customers:
        held = {p.symbol: p.qty for p in positions[customer.id]}
        assert held.get("IWM", D(0)) == await ledger_view.shares(customer.id, "IWM")
        cash = await ledger_view.cash(customer.id)
        assert await ledger_view.cash(customer.id, available=True) == cash
        total_cash += cash
    shares = [await ledger_view.shares(c.id, "IWM") for c in customers]
    assert sum(shares) == 0  # they traded only with each other
    assert total_cash + await ledger_view.fees() == 2 * STARTING_CASH
