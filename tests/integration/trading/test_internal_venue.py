"""The internal venue (customers' orders matched in the book), on both databases: fills booked
for both sides in one transaction, partial fills, ioc/market remainders, cancels, paper and
live kept apart, wash trades refused, and restarts that rebuild the books."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from sqlalchemy import select

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
from finplat.trading.store import executions
from finplat.trading.venues.internal import WASH_TRADE, Fault, InternalVenue
from tests.integration.trading.conftest import (
    STARTING_CASH,
    Customer,
    LedgerView,
    MakeCustomer,
    Market,
)

D = Decimal


@asynccontextmanager
async def engine(kit: TradingKit, fault: Fault | None = None) -> AsyncIterator[InternalVenue]:
    """An internal venue registered on `kit`, running (its books rebuilt) until the block
    ends."""
    venue = InternalVenue(kit, fault=fault)
    kit.venues[venue.name] = venue
    stop = asyncio.Event()
    task = asyncio.create_task(venue.run(stop))
    try:
        await venue.idle()
        yield venue
    finally:
        stop.set()
        await task


@pytest.fixture
async def venue(trading_kit: TradingKit) -> AsyncIterator[InternalVenue]:
    async with engine(trading_kit) as running:
        yield running


async def shorting(kit: TradingKit, make_customer: MakeCustomer, *, paper: bool = True) -> Customer:
    """A customer allowed to sell short: sellers need no shares to start with."""
    customer = await make_customer(paper=paper)
    async with kit.uows() as uow:
        await set_account_state(uow, customer.id, may_short=True)
    return customer


async def submit(
    kit: TradingKit,
    customer: Customer,
    side: Side,
    qty: str,
    price: str | None = None,
    tif: TimeInForce = TimeInForce.DAY,
    kind: OrderType | None = None,
    **fields: object,
) -> Order:
    request = OrderRequest(
        symbol="IWM",
        side=side,
        type=kind or (OrderType.MARKET if price is None else OrderType.LIMIT),
        time_in_force=tif,
        qty=D(qty),
        limit_price=None if price is None else D(price),
        **fields,  # type: ignore[arg-type]
    )
    return (await service.submit_order(kit, customer.id, request)).order


async def current(kit: TradingKit, order: Order) -> Order:
    return await service.get_order(kit, order.id)


async def fills_of(kit: TradingKit, order: Order) -> list[tuple[str, D, D, str]]:
    async with kit.uows(read_only=True) as uow:
        rows = await uow.session.execute(
            select(
                executions.c.venue_execution_id,
                executions.c.qty,
                executions.c.price,
                executions.c.liquidity,
            )
            .where(executions.c.order_id == order.id)
            .order_by(executions.c.venue_execution_id)
        )
        return [(r[0], D(r[1]).scaleb(-9), D(r[2]).scaleb(-9), r[3]) for r in rows]


async def test_a_crossing_order_fills_both_sides_at_the_makers_price(
    trading_kit: TradingKit,
    venue: InternalVenue,
    make_customer: MakeCustomer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    buyer = await make_customer()
    seller = await shorting(trading_kit, make_customer)
    bid = await submit(trading_kit, buyer, Side.BUY, "10", "200.00")
    await venue.idle()
    assert (await current(trading_kit, bid)).status is OrderStatus.NEW
    ask = await submit(trading_kit, seller, Side.SELL, "10", "199.50")
    await venue.idle()

    bid, ask = await current(trading_kit, bid), await current(trading_kit, ask)
    assert (bid.status, bid.filled_qty, bid.filled_avg_price) == (
        OrderStatus.FILLED,
        D(10),
        D("200.00"),
    )
    assert (ask.status, ask.filled_qty) == (OrderStatus.FILLED, D(10))
    assert await fills_of(trading_kit, bid) == [
        ("IWM:paper:000000000000004:maker", D(10), D(200), "maker")
    ]
    assert await fills_of(trading_kit, ask) == [
        ("IWM:paper:000000000000004:taker", D(10), D(200), "taker")
    ]
    assert await ledger_view.shares(buyer.id, "IWM") == D(10)
    assert await ledger_view.shares(seller.id, "IWM") == D(-10)
    fees = trading_kit.policy.fees
    buyer_fee = fees.fee(Side.BUY, D(10), D(2000), crypto=False)
    seller_fee = fees.fee(Side.SELL, D(10), D(2000), crypto=False)
    assert await ledger_view.cash(buyer.id) == STARTING_CASH - D(2000) - buyer_fee
    assert await ledger_view.cash(buyer.id, available=True) == STARTING_CASH - D(2000) - buyer_fee
    assert await ledger_view.cash(seller.id) == STARTING_CASH + D(2000) - seller_fee
    assert (await check_ledger(database)).ok
    venue_book = venue.book("IWM", paper=True)
    assert venue_book is not None
    assert len(venue_book) == 0


async def test_partial_fills_rest_and_ioc_remainders_expire(
    trading_kit: TradingKit, venue: InternalVenue, make_customer: MakeCustomer
) -> None:
    buyer = await make_customer()
    seller = await shorting(trading_kit, make_customer)
    first = await submit(trading_kit, seller, Side.SELL, "3", "100.01")
    second = await submit(trading_kit, seller, Side.SELL, "4", "100.02")
    taker = await submit(trading_kit, buyer, Side.BUY, "5", "100.02")
    ioc = await submit(trading_kit, buyer, Side.BUY, "6", "100.02", tif=TimeInForce.IOC)
    await venue.idle()

    first, second = await current(trading_kit, first), await current(trading_kit, second)
    taker, ioc = await current(trading_kit, taker), await current(trading_kit, ioc)
    assert first.status is OrderStatus.FILLED
    assert (second.status, second.filled_qty) == (OrderStatus.FILLED, D(4))
    assert (taker.status, taker.filled_notional) == (OrderStatus.FILLED, D("500.07"))
    assert (ioc.status, ioc.filled_qty, ioc.filled_avg_price) == (
        OrderStatus.EXPIRED,
        D(2),
        D("100.02"),
    )
    assert [f[0] for f in await fills_of(trading_kit, taker)] == [
        "IWM:paper:000000000000006:taker",
        "IWM:paper:000000000000007:taker",
    ]


async def test_a_market_order_without_liquidity_is_canceled_with_the_reason(
    trading_kit: TradingKit, venue: InternalVenue, customer: Customer, market: Market
) -> None:
    await market.quote("IWM", "199.00", "199.10")
    order = await submit(trading_kit, customer, Side.BUY, "1")
    await venue.idle()
    order = await current(trading_kit, order)
    assert (order.status, order.reject_reason) == (
        OrderStatus.CANCELED,
        "no liquidity in the internal book",
    )


async def test_a_cancel_goes_through_the_book_and_frees_the_hold(
    trading_kit: TradingKit, venue: InternalVenue, customer: Customer, ledger_view: LedgerView
) -> None:
    order = await submit(trading_kit, customer, Side.BUY, "10", "50.00")
    await venue.idle()
    assert await ledger_view.cash(customer.id, available=True) < STARTING_CASH
    pending = await service.cancel_order(trading_kit, order.id, account_id=customer.id)
    assert pending.status is OrderStatus.PENDING_CANCEL
    await venue.idle()
    assert (await current(trading_kit, order)).status is OrderStatus.CANCELED
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH
    book = venue.book("IWM", paper=True)
    assert book is not None
    assert book.best_bid() is None


async def test_paper_and_live_orders_never_meet(
    trading_kit: TradingKit, venue: InternalVenue, make_customer: MakeCustomer
) -> None:
    paper_buyer = await make_customer()
    live_seller = await shorting(trading_kit, make_customer, paper=False)
    bid = await submit(trading_kit, paper_buyer, Side.BUY, "1", "10.00")
    ask = await submit(trading_kit, live_seller, Side.SELL, "1", "9.00")
    await venue.idle()
    assert (await current(trading_kit, bid)).status is OrderStatus.NEW
    assert (await current(trading_kit, ask)).status is OrderStatus.NEW
    paper, live = venue.book("IWM", paper=True), venue.book("IWM", paper=False)
    assert paper is not None
    assert live is not None
    assert (paper.best_bid(), paper.best_ask(), live.best_bid(), live.best_ask()) == (
        1000,
        None,
        None,
        900,
    )


async def test_an_order_that_would_trade_with_its_own_account_is_rejected(
    trading_kit: TradingKit, venue: InternalVenue, make_customer: MakeCustomer
) -> None:
    trader = await shorting(trading_kit, make_customer)
    bid = await submit(trading_kit, trader, Side.BUY, "1", "10.00")
    ask = await submit(trading_kit, trader, Side.SELL, "1", "10.00")
    away = await submit(trading_kit, trader, Side.SELL, "1", "10.01")
    await venue.idle()
    ask = await current(trading_kit, ask)
    assert (ask.status, ask.reject_reason) == (OrderStatus.CANCELED, WASH_TRADE)
    assert (await current(trading_kit, bid)).status is OrderStatus.NEW
    assert (await current(trading_kit, away)).status is OrderStatus.NEW


async def test_order_kinds_the_book_does_not_take_are_rejected(
    trading_kit: TradingKit, venue: InternalVenue, customer: Customer, market: Market
) -> None:
    await market.quote("IWM", "199.00", "199.10")
    stop = await submit(
        trading_kit, customer, Side.BUY, "1", kind=OrderType.STOP, stop_price=D("210.00")
    )
    await venue.idle()
    stop = await current(trading_kit, stop)
    assert (stop.status, stop.reject_reason) == (
        OrderStatus.CANCELED,
        "the internal venue takes market and limit orders, not stop",
    )


async def test_a_restart_rebuilds_the_book_and_matches_what_never_reached_it(
    trading_kit: TradingKit, make_customer: MakeCustomer, database: Database
) -> None:
    buyer = await make_customer()
    seller = await shorting(trading_kit, make_customer)
    async with engine(trading_kit) as venue:
        early = await submit(trading_kit, buyer, Side.BUY, "2", "20.00")
        late = await submit(trading_kit, buyer, Side.BUY, "2", "20.00")
        partial = await submit(trading_kit, seller, Side.SELL, "3", "20.00")
        await venue.idle()
    assert (await current(trading_kit, late)).filled_qty == D(1)
    # accepted while no engine runs: only the database has it
    taker = await submit(trading_kit, seller, Side.SELL, "2", "19.00")
    async with engine(trading_kit) as venue:
        await venue.idle()
        late = await current(trading_kit, late)
        assert (late.status, late.filled_qty) == (OrderStatus.FILLED, D(2))
        taker = await current(trading_kit, taker)
        assert (taker.status, taker.filled_qty) == (OrderStatus.PARTIALLY_FILLED, D(1))
        book = venue.book("IWM", paper=True)
        assert book is not None
        assert (book.best_bid(), book.best_ask()) == (None, 1900)
    assert (await current(trading_kit, early)).status is OrderStatus.FILLED
    assert (await current(trading_kit, partial)).status is OrderStatus.FILLED
    # the sequence went on after the first run's last fill: no execution id reused
    assert [f[0] for f in await fills_of(trading_kit, taker)] == ["IWM:paper:000000000000011:taker"]
    async with trading_kit.uows(read_only=True) as uow:
        held = {p.symbol: p.qty for p in await open_positions(uow, seller.id)}
    assert held == {"IWM": D(-4)}
    assert (await check_ledger(database)).ok
