"""The paper venue against hand-driven quotes, on both databases: fills, their ledger
entries to the cent, triggers, time in force, restarts, cancels and brackets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from finplat.kernel import ManualClock
from finplat.ledger.reconcile import check_ledger
from finplat.platform.db import Database
from finplat.trading import (
    Order,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingKit,
    open_positions,
    service,
)
from finplat.trading.domain.orders import Leg
from finplat.trading.store import executions, order_events
from finplat.trading.venue import Execution
from finplat.trading.venues.simulated import PaperVenue
from tests.integration.trading.conftest import (
    STARTING_CASH,
    Customer,
    LedgerView,
    Market,
    running,
)

D = Decimal


async def submit(
    kit: TradingKit,
    customer: Customer,
    symbol: str,
    side: Side = Side.BUY,
    kind: OrderType = OrderType.MARKET,
    tif: TimeInForce = TimeInForce.DAY,
    qty: str | None = "10",
    **fields: object,
) -> Order:
    request = OrderRequest(
        symbol=symbol,
        side=side,
        type=kind,
        time_in_force=tif,
        qty=None if qty is None else D(qty),
        **fields,  # type: ignore[arg-type]
    )
    return (await service.submit_order(kit, customer.id, request)).order


async def current(kit: TradingKit, order: Order) -> Order:
    return await service.get_order(kit, order.id)


async def fills_of(kit: TradingKit, order: Order) -> list[tuple[str, D, D]]:
    async with kit.uows(read_only=True) as uow:
        rows = await uow.session.execute(
            select(executions.c.venue_execution_id, executions.c.qty, executions.c.price)
            .where(executions.c.order_id == order.id)
            .order_by(executions.c.executed_at, executions.c.venue_execution_id)
        )
        return [(row[0], D(row[1]).scaleb(-9), D(row[2]).scaleb(-9)) for row in rows]


async def events_of(kit: TradingKit, order: Order) -> list[str]:
    async with kit.uows(read_only=True) as uow:
        rows = await uow.session.execute(
            select(order_events.c.event)
            .where(order_events.c.order_id == order.id)
            .order_by(order_events.c.seq)
        )
        return [row[0] for row in rows]


async def assert_ledger_balances(database: Database) -> None:
    checked = await check_ledger(database)
    assert checked.ok, checked.problems


async def position_qty(kit: TradingKit, customer: Customer, symbol: str) -> D:
    async with kit.uows(read_only=True) as uow:
        held = {p.symbol: p.qty for p in await open_positions(uow, customer.id)}
    return held.get(symbol, D(0))


# -- fills and their booking --------------------------------------------------------------------


async def test_a_market_buy_fills_at_the_ask_and_books_cash_shares_and_fee(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("AAPL", "189.98", "190.02")
    bought = await submit(trading_kit, customer, "AAPL", qty="10")
    await paper_venue.idle()

    bought = await current(trading_kit, bought)
    assert bought.status is OrderStatus.FILLED
    assert (bought.filled_qty, bought.filled_avg_price) == (D(10), D("190.02"))
    assert await fills_of(trading_kit, bought) == [(f"{bought.id}:1", D(10), D("190.02"))]
    assert await ledger_view.cash(customer.id) == D("98099.80")  # 100,000 - 1,900.20
    assert await ledger_view.cash(customer.id, available=True) == D("98099.80")  # hold released
    assert await ledger_view.shares(customer.id, "AAPL") == D(10)
    assert await position_qty(trading_kit, customer, "AAPL") == D(10)

    sold = await submit(trading_kit, customer, "AAPL", Side.SELL, qty="10")
    await paper_venue.idle()
    sold = await current(trading_kit, sold)
    assert (sold.status, sold.filled_avg_price) == (OrderStatus.FILLED, D("189.98"))
    # 1,899.80 less the SEC fee (0.0528144) and FINRA's TAF (0.00166): 0.06 rounded up
    assert await ledger_view.cash(customer.id) == D("99999.54")
    assert await ledger_view.fees() == D("0.06")
    assert await ledger_view.shares(customer.id, "AAPL") == D(0)
    assert await events_of(trading_kit, sold) == ["new", "fill"]
    await assert_ledger_balances(database)


async def test_fills_take_the_quoted_size_and_the_rest_waits_for_later_quotes(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("F", "12.00", "12.01", ask_size="100")
    order = await submit(trading_kit, customer, "F", qty="250")
    await paper_venue.idle()
    assert (await current(trading_kit, order)).status is OrderStatus.PARTIALLY_FILLED

    await market.quote("F", "12.01", "12.02", ask_size="100")
    await paper_venue.idle()
    await market.quote("F", "12.02", "12.03", ask_size="300")
    await paper_venue.idle()

    order = await current(trading_kit, order)
    assert order.status is OrderStatus.FILLED
    assert await fills_of(trading_kit, order) == [
        (f"{order.id}:1", D(100), D("12.01")),
        (f"{order.id}:2", D(100), D("12.02")),
        (f"{order.id}:3", D(50), D("12.03")),
    ]
    assert order.filled_avg_price == D("12.018")  # 3,004.50 / 250
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("3004.50")
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH - D("3004.50")
    assert await events_of(trading_kit, order) == ["new", "partial_fill", "partial_fill", "fill"]
    await assert_ledger_balances(database)


async def test_orders_of_a_symbol_share_a_quote_in_arrival_order(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
) -> None:
    await market.quote("F", "12.00", "12.01", ask_size="100")
    first = await submit(
        trading_kit, customer, "F", kind=OrderType.LIMIT, qty="80", limit_price=D("11.50")
    )
    second = await submit(
        trading_kit, customer, "F", kind=OrderType.LIMIT, qty="80", limit_price=D("11.50")
    )
    await paper_venue.idle()

    await market.quote("F", "11.49", "11.50", ask_size="100")
    await paper_venue.idle()
    assert (await current(trading_kit, first)).filled_qty == D(80)
    assert (await current(trading_kit, second)).filled_qty == D(20)  # what the first left


async def test_an_order_takes_from_a_quote_once_though_it_meets_it_twice(
    trading_kit: TradingKit, paper_venue: PaperVenue, market: Market, customer: Customer
) -> None:
    await market.quote("F", "12.00", "12.01", ask_size="100")
    await paper_venue.idle()
    order = await submit(trading_kit, customer, "F", qty="250")
    # the venue meets this quote twice: from the cache when the order arrives, then as
    # the quote's own job
    await market.quote("F", "12.01", "12.02", ask_size="100")
    await paper_venue.idle()
    assert await fills_of(trading_kit, order) == [(f"{order.id}:1", D(100), D("12.02"))]


async def test_a_limit_order_waits_then_fills_at_the_better_price(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("AAPL", "185.90", "186.00")
    order = await submit(
        trading_kit, customer, "AAPL", kind=OrderType.LIMIT, limit_price=D("185.00")
    )
    await paper_venue.idle()
    assert (await current(trading_kit, order)).status is OrderStatus.NEW
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH - D("1850.00")

    await market.quote("AAPL", "185.01", "185.02")  # not yet
    await paper_venue.idle()
    assert (await current(trading_kit, order)).status is OrderStatus.NEW
    await market.quote("AAPL", "184.40", "184.50")
    await paper_venue.idle()

    order = await current(trading_kit, order)
    assert (order.status, order.filled_avg_price) == (OrderStatus.FILLED, D("184.50"))
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("1845.00")
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH - D("1845.00")
    await assert_ledger_balances(database)


async def test_a_notional_buy_fills_whole_lots_of_its_notional(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("AAPL", "190.00", "190.07")
    order = await submit(trading_kit, customer, "AAPL", qty=None, notional=D("1000.00"))
    await paper_venue.idle()

    order = await current(trading_kit, order)
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == D("5.261219550")
    assert await ledger_view.shares(customer.id, "AAPL") == D("5.261219550")
    # 5.261219550 x 190.07 = 999.9999998685: 1,000.00 to the cent
    assert await ledger_view.cash(customer.id) == D("99000.00")
    await assert_ledger_balances(database)


async def test_slippage_moves_fills_against_the_customer(
    trading_kit: TradingKit, market: Market, customer: Customer, ledger_view: LedgerView
) -> None:
    await market.quote("AAPL", "99.99", "100.01")
    async with running(trading_kit, slippage_bps=D(5)) as venue:
        order = await submit(trading_kit, customer, "AAPL", qty="10")
        await venue.idle()
    order = await current(trading_kit, order)
    assert order.filled_avg_price == D("100.07")  # 100.01 * 1.0005 = 100.060005, up a tick
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("1000.70")


# -- stops ------------------------------------------------------------------------------------


async def test_a_buy_stop_triggers_on_the_ask_and_fills_there(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
) -> None:
    await market.quote("AAPL", "193.90", "194.00")
    order = await submit(
        trading_kit, customer, "AAPL", kind=OrderType.STOP, qty="5", stop_price=D("195.00")
    )
    await paper_venue.idle()
    assert not (await current(trading_kit, order)).triggered

    await market.quote("AAPL", "194.99", "195.05")
    await paper_venue.idle()
    order = await current(trading_kit, order)
    assert (order.status, order.triggered, order.filled_avg_price) == (
        OrderStatus.FILLED,
        True,
        D("195.05"),
    )
    assert await events_of(trading_kit, order) == ["new", "triggered", "fill"]
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("975.25")


async def test_a_trailing_stop_follows_the_bid_saves_its_mark_now_and_then_and_triggers(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("AAPL", "99.98", "100.00")
    await submit(trading_kit, customer, "AAPL", qty="10")
    await paper_venue.idle()
    trail = await submit(
        trading_kit,
        customer,
        "AAPL",
        Side.SELL,
        OrderType.TRAILING_STOP,
        TimeInForce.GTC,
        qty="10",
        trail_price=D("2.00"),
    )
    await paper_venue.idle()
    await market.quote("AAPL", "103.50", "103.52")
    await paper_venue.idle()
    assert (await current(trading_kit, trail)).high_water_mark is None  # not on every tick

    paper_venue.check_time()
    await paper_venue.idle()
    assert (await current(trading_kit, trail)).high_water_mark == D("103.50")

    await market.quote("AAPL", "101.60", "101.62")  # the stop stands at 101.50
    await paper_venue.idle()
    assert (await current(trading_kit, trail)).status is OrderStatus.NEW
    await market.quote("AAPL", "101.50", "101.52")
    await paper_venue.idle()

    trail = await current(trading_kit, trail)
    assert (trail.status, trail.filled_avg_price) == (OrderStatus.FILLED, D("101.50"))
    # bought 1,000.00; sold 1,015.00 less 0.03 of fees (0.028217 + 0.00166, up to the cent)
    assert await ledger_view.cash(customer.id) == STARTING_CASH + D("14.97")
    await assert_ledger_balances(database)


# -- time in force ----------------------------------------------------------------------------


async def test_ioc_fills_what_the_quote_allows_and_expires_the_rest(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("F", "12.00", "12.01", ask_size="60")
    order = await submit(trading_kit, customer, "F", tif=TimeInForce.IOC, qty="100")
    await paper_venue.idle()

    order = await current(trading_kit, order)
    assert (order.status, order.filled_qty) == (OrderStatus.EXPIRED, D(60))
    assert await events_of(trading_kit, order) == ["new", "partial_fill", "expired"]
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("720.60")
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH - D("720.60")
    await assert_ledger_balances(database)


async def test_fok_that_the_quote_cannot_fill_expires_without_a_fill(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
) -> None:
    await market.quote("F", "12.00", "12.01", ask_size="60")
    order = await submit(trading_kit, customer, "F", tif=TimeInForce.FOK, qty="100")
    await paper_venue.idle()

    order = await current(trading_kit, order)
    assert (order.status, order.filled_qty) == (OrderStatus.EXPIRED, D(0))
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH
    assert await fills_of(trading_kit, order) == []


async def test_a_day_order_expires_at_the_close_and_its_hold_is_released(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    clock: ManualClock,
    database: Database,
) -> None:
    await market.quote("AAPL", "189.98", "190.02")
    order = await submit(
        trading_kit, customer, "AAPL", kind=OrderType.LIMIT, limit_price=D("150.00")
    )
    await paper_venue.idle()
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH - D("1500.00")

    clock.set(datetime(2026, 1, 5, 20, 59, 59, tzinfo=UTC))
    paper_venue.check_time()
    await paper_venue.idle()
    assert (await current(trading_kit, order)).status is OrderStatus.NEW

    clock.set(datetime(2026, 1, 5, 21, 0, tzinfo=UTC))  # 16:00 in New York
    paper_venue.check_time()
    await paper_venue.idle()
    order = await current(trading_kit, order)
    assert (order.status, order.expired_at) == (OrderStatus.EXPIRED, clock.now())
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH
    await assert_ledger_balances(database)


async def test_opg_fills_whole_at_the_first_quote_after_the_open(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    clock: ManualClock,
) -> None:
    clock.set(datetime(2026, 1, 6, 14, 0, tzinfo=UTC))  # Tuesday, 09:00 in New York
    await market.quote("F", "11.90", "11.95")
    order = await submit(trading_kit, customer, "F", tif=TimeInForce.OPG, qty="500")
    await paper_venue.idle()
    await market.quote("F", "11.80", "11.85")  # still the pre-market
    await paper_venue.idle()
    assert (await current(trading_kit, order)).status is OrderStatus.NEW

    clock.set(datetime(2026, 1, 6, 14, 30, 1, tzinfo=UTC))
    await market.quote("F", "12.00", "12.02", ask_size="10")
    await paper_venue.idle()
    order = await current(trading_kit, order)
    assert (order.status, order.filled_qty, order.filled_avg_price) == (
        OrderStatus.FILLED,
        D(500),
        D("12.02"),
    )
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("6010.00")


async def test_cls_fills_at_the_last_quote_before_the_close(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    clock: ManualClock,
) -> None:
    await market.quote("F", "12.00", "12.01")
    order = await submit(trading_kit, customer, "F", tif=TimeInForce.CLS, qty="100")
    await paper_venue.idle()
    clock.set(datetime(2026, 1, 5, 20, 59, 50, tzinfo=UTC))
    await market.quote("F", "12.10", "12.12", ask_size="1")
    await paper_venue.idle()
    assert (await current(trading_kit, order)).status is OrderStatus.NEW

    clock.set(datetime(2026, 1, 5, 21, 0, 1, tzinfo=UTC))
    await market.quote("F", "12.30", "12.40")  # after the close: not the closing price
    paper_venue.check_time()
    await paper_venue.idle()
    order = await current(trading_kit, order)
    assert (order.status, order.filled_avg_price) == (OrderStatus.FILLED, D("12.12"))


# -- restarts, replays, cancels -------------------------------------------------------------------


async def test_a_restart_resumes_open_orders_without_filling_anything_twice(
    trading_kit: TradingKit,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("F", "12.00", "12.01", ask_size="100")
    async with running(trading_kit) as first:
        order = await submit(trading_kit, customer, "F", qty="250")
        await first.idle()
    assert (await current(trading_kit, order)).filled_qty == D(100)

    async with running(trading_kit) as second:
        # the quote the first venue took from is not taken again
        assert (await current(trading_kit, order)).filled_qty == D(100)
        await market.quote("F", "12.03", "12.05", ask_size="500")
        await second.idle()

    order = await current(trading_kit, order)
    assert order.status is OrderStatus.FILLED
    assert await fills_of(trading_kit, order) == [
        (f"{order.id}:1", D(100), D("12.01")),
        (f"{order.id}:2", D(150), D("12.05")),
    ]
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("3008.50")
    await assert_ledger_balances(database)


async def test_a_fill_reported_twice_is_booked_once(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    clock: ManualClock,
) -> None:
    await market.quote("F", "12.00", "12.01", ask_size="100")
    order = await submit(trading_kit, customer, "F", qty="250")
    await paper_venue.idle()
    replay = Execution(order.id, f"{order.id}:1", D(100), D("12.01"), clock.now())
    assert await service.apply_execution(trading_kit, "simulated", replay) is None
    assert (await current(trading_kit, order)).filled_qty == D(100)
    assert await ledger_view.cash(customer.id) == STARTING_CASH - D("1201.00")


async def test_a_cancel_before_any_fill_releases_the_hold_and_nothing_fills_after(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("AAPL", "189.98", "190.02")
    order = await submit(
        trading_kit, customer, "AAPL", kind=OrderType.LIMIT, limit_price=D("180.00")
    )
    await paper_venue.idle()
    canceled = await service.cancel_order(trading_kit, order.id, account_id=customer.id)
    assert canceled.status is OrderStatus.CANCELED
    await paper_venue.idle()
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH

    await market.quote("AAPL", "179.00", "179.50")
    await paper_venue.idle()
    assert await fills_of(trading_kit, order) == []
    assert await ledger_view.cash(customer.id) == STARTING_CASH
    await assert_ledger_balances(database)


# -- a bracket --------------------------------------------------------------------------------


async def test_a_bracket_entry_fills_its_take_profit_fills_and_its_stop_loss_is_canceled(
    trading_kit: TradingKit,
    paper_venue: PaperVenue,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    database: Database,
) -> None:
    await market.quote("AAPL", "189.98", "190.02")
    entry = await submit(
        trading_kit,
        customer,
        "AAPL",
        tif=TimeInForce.GTC,
        qty="10",
        order_class=OrderClass.BRACKET,
        take_profit=Leg(limit_price=D("200.00")),
        stop_loss=Leg(stop_price=D("180.00")),
    )
    await paper_venue.idle()
    entry = await current(trading_kit, entry)
    assert entry.status is OrderStatus.FILLED
    take, stop = [await service.get_order(trading_kit, leg) for leg in entry.legs]
    assert (take.status, stop.status) == (OrderStatus.NEW, OrderStatus.NEW)
    assert await ledger_view.shares(customer.id, "AAPL", available=True) == D(0)  # held

    await market.quote("AAPL", "199.00", "199.05")
    await paper_venue.idle()
    assert (await current(trading_kit, take)).status is OrderStatus.NEW
    await market.quote("AAPL", "200.10", "200.15")
    await paper_venue.idle()

    take, stop = await current(trading_kit, take), await current(trading_kit, stop)
    assert (take.status, take.filled_avg_price) == (OrderStatus.FILLED, D("200.10"))
    assert stop.status is OrderStatus.CANCELED
    # -1,900.20 + 2,001.00 - 0.06 of fees (SEC 0.0556278 + TAF 0.00166, up to the cent)
    assert await ledger_view.cash(customer.id) == STARTING_CASH + D("100.74")
    assert await ledger_view.shares(customer.id, "AAPL") == D(0)
    assert await position_qty(trading_kit, customer, "AAPL") == D(0)
    await assert_ledger_balances(database)


# -- quotes from the hub, latency ---------------------------------------------------------------


async def test_without_a_feed_in_the_process_the_venue_reads_the_hubs_quotes(
    trading_kit: TradingKit, market: Market, customer: Customer
) -> None:
    feed = trading_kit.marketdata.feed
    trading_kit.marketdata.feed = None  # the feed runs elsewhere: its quotes reach the hub
    async with running(trading_kit) as venue:
        trading_kit.marketdata.feed = feed
        await market.quote("AAPL", "189.98", "190.02")
        order = await submit(
            trading_kit, customer, "AAPL", kind=OrderType.LIMIT, limit_price=D("185.00")
        )
        await venue.idle()
        await market.quote("AAPL", "184.96", "184.99")
        await venue.idle()
        order = await current(trading_kit, order)
    assert (order.status, order.filled_avg_price) == (OrderStatus.FILLED, D("184.99"))


class Gate:
    """A `sleep` that waits until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.opened.wait()


async def test_a_market_order_fills_at_the_quote_current_after_the_latency(
    trading_kit: TradingKit, market: Market, customer: Customer
) -> None:
    gate = Gate()
    latency = timedelta(milliseconds=250)
    async with running(trading_kit, latency=latency, sleep=gate.sleep) as venue:
        await market.quote("AAPL", "189.98", "190.02")
        order = await submit(trading_kit, customer, "AAPL", qty="10")
        await market.quote("AAPL", "190.40", "190.45")  # the market moves meanwhile
        await asyncio.sleep(0)
        assert (await current(trading_kit, order)).status is OrderStatus.NEW
        gate.opened.set()
        await venue.idle()
    order = await current(trading_kit, order)
    assert gate.slept == [0.25]
    assert (order.status, order.filled_avg_price) == (OrderStatus.FILLED, D("190.45"))


async def test_a_market_order_that_reaches_a_closed_market_is_canceled_with_a_reason(
    trading_kit: TradingKit,
    market: Market,
    customer: Customer,
    ledger_view: LedgerView,
    clock: ManualClock,
) -> None:
    gate = Gate()
    async with running(trading_kit, latency=timedelta(seconds=2), sleep=gate.sleep) as venue:
        clock.set(datetime(2026, 1, 5, 20, 59, 59, tzinfo=UTC))
        await market.quote("AAPL", "189.98", "190.02")
        order = await submit(trading_kit, customer, "AAPL", qty="10")
        clock.set(datetime(2026, 1, 5, 21, 0, 1, tzinfo=UTC))
        gate.opened.set()
        await venue.idle()
    order = await current(trading_kit, order)
    assert (order.status, order.reject_reason) == (
        OrderStatus.CANCELED,
        "the market for AAPL is closed",
    )
    assert await ledger_view.cash(customer.id, available=True) == STARTING_CASH
