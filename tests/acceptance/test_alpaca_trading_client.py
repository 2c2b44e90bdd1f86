"""alpaca-py's `TradingClient` and `TradingStream`, unmodified, against finplat with
`url_override`: the account, every order type and time in force, notional and fractional
orders, reads by id and client id, replace, cancel, cancel all, positions and closing them,
assets, the clock, the calendar, and trade updates over the stream. Orders fill at the
paper venue against the seeded quotes (buys at the ask, sells at the bid).

alpaca-py keeps the API's decimal strings as strings, so quantities and prices are compared
exactly; the few it parses into floats are compared through `Decimal(str(value))`.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import (
    AccountStatus,
    AssetClass,
    AssetExchange,
    OrderClass,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.models import Order, TradeUpdate
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream

from tests.acceptance.trading_server import BOUND, Alpaca, Trader, TradingServer, trading_server
from tests.support.alpaca_trading import AAPL, BTC, QUOTES

pytestmark = pytest.mark.acceptance

D = Decimal
OPEN = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # Monday, half an hour into the session
PRE_OPEN = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 09:00 in New York


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TradingServer]:
    with trading_server(tmp_path_factory.mktemp("trading"), OPEN) as running:
        yield running


@pytest.fixture
def trader(server: TradingServer) -> Trader:
    """A new funded paper customer per test, and fresh quotes (full sizes) a second later."""
    server.clock.advance(timedelta(seconds=1))
    for quote in QUOTES:
        server.quote(replace(quote, timestamp=server.clock.now()))
    return server.trader(f"trader-{uuid.uuid4().hex[:12]}@example.com")


@pytest.fixture
def client(server: TradingServer, trader: Trader) -> Alpaca:
    return Alpaca(server, trader)


def submit(server: TradingServer, client: Alpaca, request: Any) -> Order:
    """Submit, let the venue work it, and read the order back."""
    order = client.submit(request)
    server.settle()
    return client.order(order.id)


def market(symbol: str = "AAPL", side: OrderSide = OrderSide.BUY, **kw: Any) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol, side=side, time_in_force=kw.pop("time_in_force", TimeInForce.DAY), **kw
    )


def resting_limit(**kw: Any) -> LimitOrderRequest:
    """A buy limit below the bid: it waits."""
    values: dict[str, Any] = {
        "symbol": "AAPL",
        "qty": 1,
        "side": OrderSide.BUY,
        "time_in_force": TimeInForce.DAY,
        "limit_price": 189.0,
    }
    return LimitOrderRequest(**{**values, **kw})


# -- account --------------------------------------------------------------------------------------


def test_the_account(client: Alpaca, trader: Trader) -> None:
    account = client.account()
    assert account.id == trader.user_id
    assert account.account_number.startswith("PA")
    assert account.status is AccountStatus.ACTIVE
    assert (account.currency, account.cash, account.buying_power) == (
        "USD",
        "100000.00",
        "100000.00",
    )
    assert (account.equity, account.portfolio_value, account.long_market_value) == (
        "100000.00",
        "100000.00",
        "0.00",
    )
    assert (account.pattern_day_trader, account.trading_blocked, account.multiplier) == (
        False,
        False,
        "1",
    )


# -- orders ---------------------------------------------------------------------------------------


def test_a_market_order_fills_and_the_stream_tells_of_it(
    server: TradingServer, client: Alpaca, trader: Trader
) -> None:
    received: queue.Queue[TradeUpdate] = queue.Queue()

    async def on_update(update: TradeUpdate) -> None:
        received.put(update)

    stream = TradingStream(trader.key_id, trader.secret, paper=True, url_override=server.stream_url)
    stream.subscribe_trade_updates(on_update)
    running = threading.Thread(target=stream.run, daemon=True)
    running.start()
    try:
        server.updates.wait_for_listener(trader.user_id)
        order = submit(server, client, market(qty=2, client_order_id="stream-me"))
        new, fill = received.get(timeout=BOUND), received.get(timeout=BOUND)
    finally:
        stream.stop()
        running.join(BOUND)
    assert (order.status, order.filled_qty, order.filled_avg_price) == (
        OrderStatus.FILLED,
        "2",
        "190.42",
    )
    assert (new.event, new.order.id, new.order.status) == ("new", order.id, OrderStatus.NEW)
    assert (fill.event, fill.order.id, fill.order.status) == ("fill", order.id, OrderStatus.FILLED)
    assert fill.execution_id is not None
    assert [D(str(v)) for v in (fill.price, fill.qty, fill.position_qty)] == [
        D("190.42"),
        D(2),
        D(2),
    ]
    assert fill.timestamp == server.clock.now()


@pytest.mark.parametrize(
    "request_",
    [
        resting_limit(),
        StopOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            stop_price=195.0,
        ),
        StopLimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            stop_price=195.0,
            limit_price=195.5,
        ),
        TrailingStopOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            trail_percent=2.5,
        ),
        TrailingStopOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            trail_price=1.25,
        ),
    ],
    ids=["limit", "stop", "stop_limit", "trailing_percent", "trailing_price"],
)
def test_orders_that_wait_for_the_market(
    server: TradingServer, client: Alpaca, request_: Any
) -> None:
    order = submit(server, client, request_)
    assert (order.type, order.order_type, order.status) == (
        request_.type,
        request_.type,
        OrderStatus.NEW,
    )
    for name in ("limit_price", "stop_price", "trail_price", "trail_percent"):
        sent = getattr(request_, name, None)
        shown = getattr(order, name)
        assert shown == (None if sent is None else str(D(str(sent)).normalize()))
    open_orders = client.orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert [o.id for o in open_orders] == [order.id]


def test_a_stop_triggers_and_fills_when_the_market_reaches_it(
    server: TradingServer, client: Alpaca
) -> None:
    stop = StopOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, stop_price=191.0
    )
    waiting = submit(server, client, stop)
    assert waiting.status is OrderStatus.NEW
    server.quote(replace(QUOTES[0], ask_price=D("191.05"), timestamp=server.clock.now()))
    filled = client.order(waiting.id)
    assert (filled.status, filled.filled_avg_price) == (OrderStatus.FILLED, "191.05")


@pytest.mark.parametrize(
    ("tif", "kind", "final"),
    [
        (TimeInForce.DAY, "resting", OrderStatus.NEW),
        (TimeInForce.GTC, "resting", OrderStatus.NEW),
        (TimeInForce.CLS, "resting", OrderStatus.NEW),  # waits for the closing auction
        (TimeInForce.IOC, "resting", OrderStatus.EXPIRED),
        (TimeInForce.FOK, "resting", OrderStatus.EXPIRED),
        (TimeInForce.IOC, "market", OrderStatus.FILLED),
        (TimeInForce.FOK, "market", OrderStatus.FILLED),
    ],
)
def test_each_time_in_force_while_the_market_is_open(
    server: TradingServer,
    client: Alpaca,
    tif: TimeInForce,
    kind: str,
    final: OrderStatus,
) -> None:
    request_ = (
        resting_limit(time_in_force=tif) if kind == "resting" else market(qty=1, time_in_force=tif)
    )
    order = submit(server, client, request_)
    assert (order.time_in_force, order.status) == (tif, final)


def test_opening_auction_orders_are_refused_once_the_market_is_open(
    client: Alpaca,
) -> None:
    with pytest.raises(APIError) as refused:
        client.submit(market("MSFT", qty=3, time_in_force=TimeInForce.OPG))
    assert refused.value.status_code == 422
    assert refused.value.message == "opening-auction orders are taken only before the open"


def test_opening_and_closing_auctions(tmp_path: Path) -> None:
    with trading_server(tmp_path, PRE_OPEN) as server:
        trader = server.trader("auctions@example.com")
        client = Alpaca(server, trader)
        opening = submit(server, client, market("MSFT", qty=3, time_in_force=TimeInForce.OPG))
        assert (opening.time_in_force, opening.status) == (TimeInForce.OPG, OrderStatus.NEW)
        server.clock.set(datetime(2026, 1, 5, 14, 30, 1, tzinfo=UTC))
        server.quote(replace(QUOTES[1], timestamp=server.clock.now()))
        opened = client.order(opening.id)
        assert (opened.status, opened.filled_qty, opened.filled_avg_price) == (
            OrderStatus.FILLED,
            "3",
            "440.12",
        )
        closing = submit(
            server, client, market("MSFT", OrderSide.SELL, qty=3, time_in_force=TimeInForce.CLS)
        )
        assert closing.status is OrderStatus.NEW
        server.clock.set(datetime(2026, 1, 5, 20, 59, tzinfo=UTC))
        server.quote(replace(QUOTES[1], bid_price=D("441.00"), timestamp=server.clock.now()))
        server.clock.set(datetime(2026, 1, 5, 21, 0, 1, tzinfo=UTC))
        assert server.venue is not None
        server.venue.check_time()
        server.settle()
        closed = client.order(closing.id)
        assert (closed.status, closed.filled_avg_price) == (OrderStatus.FILLED, "441")
        assert client.positions() == []


def test_notional_and_fractional_orders(server: TradingServer, client: Alpaca) -> None:
    notional = submit(server, client, market(notional=100))
    expected = (D(100) / D("190.42")).quantize(D("0.000000001"), ROUND_FLOOR)
    assert (notional.notional, notional.qty, notional.status) == ("100", None, OrderStatus.FILLED)
    assert notional.filled_avg_price == "190.42"
    assert D(str(notional.filled_qty)) == expected == D("0.52515492")
    fractional = submit(server, client, market(qty=0.5))
    assert (fractional.qty, fractional.filled_qty) == ("0.5", "0.5")
    position = client.position("AAPL")
    assert position.qty == "1.02515492"


def test_a_bracket_order_and_its_legs(server: TradingServer, client: Alpaca) -> None:
    bracket = market(
        qty=1,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=200.0),
        stop_loss=StopLossRequest(stop_price=180.0),
    )
    entry = submit(server, client, bracket)
    assert (entry.order_class, entry.status) == (OrderClass.BRACKET, OrderStatus.FILLED)
    assert entry.legs is not None
    legs = [(leg.side, leg.type, leg.status) for leg in entry.legs]
    assert legs == [
        (OrderSide.SELL, OrderType.LIMIT, OrderStatus.NEW),
        (OrderSide.SELL, OrderType.STOP, OrderStatus.NEW),
    ]


# -- reading, replacing, canceling ----------------------------------------------------------------


def test_get_by_id_and_by_client_order_id(server: TradingServer, client: Alpaca) -> None:
    order = submit(server, client, resting_limit(client_order_id="find-me"))
    assert client.order_by_client_id("find-me") == order
    assert client.order(str(order.id)) == order
    with pytest.raises(APIError) as missing:
        client.order_by_client_id("nobody")
    assert (missing.value.status_code, missing.value.code) == (404, 40410000)


def test_a_client_order_id_retry_and_reuse(client: Alpaca) -> None:
    first = client.submit(resting_limit(client_order_id="once"))
    again = client.submit(resting_limit(client_order_id="once"))
    assert isinstance(first, Order)
    assert isinstance(again, Order)
    assert again.id == first.id
    with pytest.raises(APIError) as reused:
        client.submit(resting_limit(client_order_id="once", qty=2))
    assert (reused.value.status_code, reused.value.message) == (
        422,
        "client_order_id must be unique",
    )


def test_replace(server: TradingServer, client: Alpaca) -> None:
    old = submit(server, client, resting_limit())
    new = client.replace(old.id, ReplaceOrderRequest(qty=3, limit_price=188.5))
    server.settle()
    assert (new.replaces, new.qty, new.limit_price, new.status) == (
        old.id,
        "3",
        "188.5",
        OrderStatus.NEW,
    )
    replaced = client.order(old.id)
    assert (replaced.status, replaced.replaced_by) == (OrderStatus.REPLACED, new.id)
    assert client.account().buying_power == "99434.50"  # 100,000 less 3 x 188.50 held


def test_cancel_and_cancel_all(server: TradingServer, client: Alpaca) -> None:
    one = submit(server, client, resting_limit())
    two = submit(server, client, resting_limit(limit_price=188.0))
    three = submit(server, client, resting_limit(limit_price=187.0))
    client.raw.cancel_order_by_id(one.id)  # a 204 without a body
    assert client.order(one.id).status is OrderStatus.CANCELED
    answers = client.cancel_all()
    assert sorted((a.id, a.status) for a in answers) == sorted([(two.id, 200), (three.id, 200)])
    assert all(a.body is not None and a.body["status"] == "canceled" for a in answers)
    assert client.orders() == []
    assert client.account().buying_power == "100000.00"


# -- positions ------------------------------------------------------------------------------------


def test_positions_and_closing_them(server: TradingServer, client: Alpaca) -> None:
    submit(server, client, market(qty=4))
    submit(server, client, market("BTC/USD", qty=0.01, time_in_force=TimeInForce.GTC))
    positions = client.positions()
    assert [(p.symbol, p.qty, p.side, p.avg_entry_price) for p in positions] == [
        ("AAPL", "4", PositionSide.LONG, "190.42"),
        ("BTC/USD", "0.01", PositionSide.LONG, "92000.01"),
    ]
    aapl = client.position("AAPL")
    assert aapl == positions[0]
    assert (aapl.asset_id, aapl.exchange, aapl.asset_class) == (
        AAPL.id,
        AssetExchange.NASDAQ,
        AssetClass.US_EQUITY,
    )
    assert (aapl.market_value, aapl.cost_basis, aapl.current_price) == (
        "761.64",  # at the quote's middle, 190.41
        "761.68",
        "190.41",
    )
    assert client.position(BTC.id).symbol == "BTC/USD"
    half = client.close("AAPL", ClosePositionRequest(percentage="50"))
    server.settle()
    assert (half.side, half.type, half.qty) == (OrderSide.SELL, OrderType.MARKET, "2")
    assert client.order(half.id).filled_avg_price == "190.4"
    assert client.position("AAPL").qty == "2"
    submit(server, client, resting_limit())
    closed = client.close_all(cancel_orders=True)
    server.settle()
    assert [(c.symbol, c.status, c.body.qty) for c in closed] == [  # type: ignore[union-attr]
        ("AAPL", 200, "2"),
        ("BTC/USD", 200, "0.01"),
    ]
    assert client.positions() == []
    assert client.orders() == []
    with pytest.raises(APIError) as gone:
        client.position("AAPL")
    assert (gone.value.status_code, gone.value.message) == (404, "position does not exist")


# -- refusals -------------------------------------------------------------------------------------


def test_refusals_come_back_as_alpaca_errors(client: Alpaca) -> None:
    with pytest.raises(APIError) as poor:
        client.submit(resting_limit(qty=1000, limit_price=190.4))
    assert (poor.value.status_code, poor.value.code, poor.value.message) == (
        403,
        40310000,
        "insufficient buying power",
    )
    with pytest.raises(APIError) as unknown:
        client.submit(market("ZZZZ", qty=1))
    assert (unknown.value.status_code, unknown.value.code) == (422, 42210000)
    with pytest.raises(APIError) as off_tick:
        client.submit(resting_limit(limit_price=189.001))
    assert off_tick.value.message == "limit_price 189.001 is not a multiple of 0.01"
    assert client.orders(GetOrdersRequest(status=QueryOrderStatus.ALL)) == []


# -- assets, clock, calendar ----------------------------------------------------------------------


def test_assets(client: Alpaca) -> None:
    crypto = client.assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert [(a.symbol, a.id, a.asset_class) for a in crypto] == [
        ("BTC/USD", BTC.id, AssetClass.CRYPTO)
    ]
    aapl = client.asset("AAPL")
    assert (aapl.id, aapl.exchange, aapl.fractionable, aapl.tradable) == (
        AAPL.id,
        AssetExchange.NASDAQ,
        True,
        True,
    )
    assert client.asset(AAPL.id) == aapl
    assert client.asset("BTC/USD").id == BTC.id
    everything = client.assets()
    assert [a.symbol for a in everything] == ["AAPL", "BTC/USD", "IWM", "MSFT"]


def test_the_clock(server: TradingServer, client: Alpaca) -> None:
    clock = client.clock()
    assert clock.timestamp == server.clock.now()
    assert clock.is_open is True
    assert clock.next_open == datetime(2026, 1, 6, 14, 30, tzinfo=UTC)
    assert clock.next_close == datetime(2026, 1, 5, 21, 0, tzinfo=UTC)


def test_the_calendar(client: Alpaca) -> None:
    days = client.calendar(GetCalendarRequest(start=date(2025, 12, 23), end=date(2025, 12, 29)))
    # alpaca-py reads the HH:MM times as naive datetimes on each date
    assert [(d.date, d.open.isoformat(), d.close.isoformat()) for d in days] == [
        (date(2025, 12, 23), "2025-12-23T09:30:00", "2025-12-23T16:00:00"),
        (date(2025, 12, 24), "2025-12-24T09:30:00", "2025-12-24T13:00:00"),
        (date(2025, 12, 26), "2025-12-26T09:30:00", "2025-12-26T16:00:00"),
        (date(2025, 12, 29), "2025-12-29T09:30:00", "2025-12-29T16:00:00"),
    ]
