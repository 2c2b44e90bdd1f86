"""Pre-trade risk: each denial with its code, in the fixed order, and the prices orders are
sized at."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from finplat.kernel import BusinessRuleViolation
from finplat.trading.domain.orders import OrderRequest, OrderType, Side, TimeInForce
from finplat.trading.domain.risk import (
    AccountTradingState,
    AccountView,
    Market,
    RiskDenied,
    RiskLimits,
    check_order,
    order_value,
    reference_price,
)

D = Decimal
LIMITS = RiskLimits(
    max_order_qty=D(1000),
    max_order_notional=D(50000),
    collar_percent=D(5),
    max_orders_per_minute=60,
)
ACCOUNT = AccountView(
    kyc_approved=True,
    state=AccountTradingState.ACTIVE,
    buying_power=D(10000),
    position_qty=D(10),
    sellable_qty=D(10),
    orders_last_minute=0,
)
OPEN = Market(regular_open=True, extended_open=False, bid=D("100.00"), ask=D("100.10"))
CLOSED = replace(OPEN, regular_open=False)
EXTENDED = replace(OPEN, regular_open=False, extended_open=True)
CRYPTO = Market(regular_open=False, extended_open=False, bid=D(100), ask=D(101), always_open=True)
NO_QUOTE = replace(OPEN, bid=None, ask=None)
ASK_WIDENED = D("105.105")  # 100.10 and the 5% collar


def request(**changes: Any) -> OrderRequest:
    values: dict[str, Any] = {
        "symbol": "AAPL",
        "side": Side.BUY,
        "type": OrderType.MARKET,
        "time_in_force": TimeInForce.DAY,
        "qty": D(10),
    }
    values.update(changes)
    return OrderRequest(**values)


def limit(price: str = "100.00", **changes: Any) -> OrderRequest:
    return request(type=OrderType.LIMIT, limit_price=D(price), **changes)


def sell(**changes: Any) -> OrderRequest:
    return request(side=Side.SELL, **changes)


def check(
    req: OrderRequest,
    account: AccountView = ACCOUNT,
    market: Market = OPEN,
    limits: RiskLimits = LIMITS,
    *,
    kill_switch: bool = False,
) -> str | None:
    """The denial code, or None when the order passes."""
    try:
        check_order(req, account, market, limits, kill_switch=kill_switch)
    except RiskDenied as denied:
        return denied.code
    return None


def account(**changes: Any) -> AccountView:
    return replace(ACCOUNT, **changes)


def test_a_sound_order_passes() -> None:
    assert check(request()) is None
    assert check(limit()) is None
    assert check(sell()) is None


def test_a_denial_is_a_business_rule_violation_with_a_message() -> None:
    with pytest.raises(BusinessRuleViolation, match="trading is halted by the operator"):
        check_order(request(), ACCOUNT, OPEN, LIMITS, kill_switch=True)


def test_the_checks_run_in_a_fixed_order() -> None:
    """Start from an order that breaks every rule and mend one rule at a time: each step
    shows the next rule in line."""
    req = limit("200.00", qty=D(2000))
    acct = account(state=AccountTradingState.HALTED, kyc_approved=False, orders_last_minute=60)
    seen = [check(req, acct, CLOSED, kill_switch=True), check(req, acct, CLOSED)]
    acct = replace(acct, state=AccountTradingState.ACTIVE)
    seen.append(check(req, acct, CLOSED))
    acct = replace(acct, kyc_approved=True)
    seen.append(check(req, acct, CLOSED))
    acct = replace(acct, orders_last_minute=59)
    seen.append(check(req, acct, CLOSED))
    seen.append(check(req, acct, OPEN))
    for mended in (
        replace(req, limit_price=D("100.00")),
        replace(req, limit_price=D("100.00"), qty=D(1000)),
        replace(req, limit_price=D("100.00"), qty=D(400)),
        replace(req, limit_price=D("100.00"), qty=D(100)),
    ):
        seen.append(check(mended, acct, OPEN))
    assert seen == [
        "trading_halted",
        "account_halted",
        "kyc_not_approved",
        "order_rate_exceeded",
        "market_closed",
        "price_outside_collar",
        "quantity_too_large",
        "notional_too_large",  # 1000 at 100.00 is over 50,000
        "insufficient_buying_power",  # 400 at 100.00 is over 10,000
        None,  # 100 at 100.00 is exactly the buying power
    ]


def test_the_kill_switch_stops_even_a_sound_sell() -> None:
    assert check(sell(), kill_switch=True) == "trading_halted"


def test_a_halted_account_may_not_even_sell() -> None:
    assert check(sell(), account(state=AccountTradingState.HALTED)) == "account_halted"


def test_order_rate() -> None:
    assert check(request(), account(orders_last_minute=59)) is None
    assert check(request(), account(orders_last_minute=60)) == "order_rate_exceeded"
    assert check(request(), account(orders_last_minute=61)) == "order_rate_exceeded"


# --- session ---------------------------------------------------------------------------------

GTC, GTD, DAY = TimeInForce.GTC, TimeInForce.GTD, TimeInForce.DAY
EXPIRES = datetime(2026, 2, 1, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("req", "market", "code"),
    [
        (request(), OPEN, None),
        (request(), CLOSED, "market_closed"),
        (request(), EXTENDED, "market_closed"),
        (limit(), CLOSED, "market_closed"),
        (limit(), EXTENDED, "market_closed"),
        (limit(extended_hours=True), EXTENDED, None),
        (limit(extended_hours=True), OPEN, None),
        (limit(extended_hours=True), CLOSED, "market_closed"),
        (limit(time_in_force=GTC), CLOSED, None),
        (limit(time_in_force=GTD, expires_at=EXPIRES), CLOSED, None),
        (request(type=OrderType.STOP, stop_price=D(101), time_in_force=GTC), CLOSED, None),
        (
            request(
                type=OrderType.TRAILING_STOP,
                trail_price=D(1),
                time_in_force=GTD,
                expires_at=EXPIRES,
            ),
            CLOSED,
            None,
        ),
        (request(time_in_force=GTC), CLOSED, "market_closed"),
        (request(time_in_force=GTD, expires_at=EXPIRES), CLOSED, "market_closed"),
        (limit(time_in_force=TimeInForce.IOC), CLOSED, "market_closed"),
        (request(time_in_force=TimeInForce.FOK), EXTENDED, "market_closed"),
        (request(time_in_force=TimeInForce.OPG), CLOSED, None),
        (limit(time_in_force=TimeInForce.OPG), EXTENDED, None),
        (request(time_in_force=TimeInForce.OPG), OPEN, "market_open"),
        (limit(time_in_force=TimeInForce.OPG), OPEN, "market_open"),
        (request(time_in_force=TimeInForce.CLS), OPEN, None),
        (request(time_in_force=GTC), CRYPTO, None),
        (limit("101", time_in_force=TimeInForce.IOC), CRYPTO, None),
    ],
    ids=[
        "day market open",
        "day market closed",
        "day market pre-market",
        "day limit closed",
        "day limit pre-market without extended_hours",
        "extended limit pre-market",
        "extended limit open",
        "extended limit overnight",
        "gtc limit closed",
        "gtd limit closed",
        "gtc stop closed",
        "gtd trailing closed",
        "gtc market closed",
        "gtd market closed",
        "ioc limit closed",
        "fok market pre-market",
        "opg market before the open",
        "opg limit pre-market",
        "opg market open",
        "opg limit open",
        "cls market open",
        "crypto gtc market",
        "crypto ioc limit",
    ],
)
def test_session_rules_per_time_in_force(req: OrderRequest, market: Market, code: str) -> None:
    assert check(req, market=market) == code


def test_the_closed_market_message_names_the_symbol() -> None:
    with pytest.raises(RiskDenied, match="the market for AAPL is closed"):
        check_order(request(), ACCOUNT, CLOSED, LIMITS, kill_switch=False)


# --- collar ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("req", "code"),
    [
        (limit("105.10"), None),  # under 100.10 * 1.05 = 105.105
        (limit("105.11"), "price_outside_collar"),
        (limit("95.00", side=Side.SELL), None),  # exactly 100.00 * 0.95
        (limit("94.99", side=Side.SELL), "price_outside_collar"),
        (limit("1.00"), None),  # far below the ask is no risk to the buyer
        (limit("500.00", side=Side.SELL), None),
    ],
)
def test_the_collar_bounds_how_far_a_limit_reaches_past_the_quote(
    req: OrderRequest, code: str | None
) -> None:
    assert check(req) == code


def test_the_collar_message() -> None:
    with pytest.raises(RiskDenied, match=r"a buy limit of 105.11 is more than 5% above the ask"):
        check_order(limit("105.11"), ACCOUNT, OPEN, LIMITS, kill_switch=False)


def test_without_a_quote_or_for_stop_limits_there_is_no_collar() -> None:
    assert check(limit("500.00"), market=NO_QUOTE) is None
    assert check(limit("50.00", side=Side.SELL), market=NO_QUOTE) is None
    stop_limit = request(type=OrderType.STOP_LIMIT, stop_price=D(199), limit_price=D(200))
    assert check(stop_limit) is None


def test_a_zero_collar_allows_only_the_quote() -> None:
    tight = replace(LIMITS, collar_percent=D(0))
    assert check(limit("100.10"), limits=tight) is None
    assert check(limit("100.11"), limits=tight) == "price_outside_collar"
    assert check(limit("99.99", side=Side.SELL), limits=tight) == "price_outside_collar"


# --- prices orders are sized at ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("req", "price"),
    [
        (limit("99.50"), D("99.50")),
        (limit("99.50", side=Side.SELL), D("99.50")),
        (request(type=OrderType.STOP_LIMIT, stop_price=D(101), limit_price=D(102)), D(102)),
        (request(type=OrderType.STOP, stop_price=D(101)), D("106.05")),  # widened by 5%
        (sell(type=OrderType.STOP, stop_price=D(99)), D(99)),
        (request(), ASK_WIDENED),
        (sell(), D("100.00")),
        (request(type=OrderType.TRAILING_STOP, trail_price=D(1)), ASK_WIDENED),
        (sell(type=OrderType.TRAILING_STOP, trail_percent=D(1)), D("100.00")),
    ],
    ids=[
        "buy limit",
        "sell limit",
        "stop limit",
        "buy stop",
        "sell stop",
        "buy market",
        "sell market",
        "buy trailing",
        "sell trailing",
    ],
)
def test_the_reference_price(req: OrderRequest, price: Decimal) -> None:
    assert reference_price(req, OPEN, LIMITS) == price


def test_the_order_value() -> None:
    assert order_value(request(), OPEN, LIMITS) == D("1051.05")
    assert order_value(limit("99.99", qty=D("0.5")), OPEN, LIMITS) == D("49.995")
    assert order_value(request(qty=None, notional=D("250.00")), NO_QUOTE, LIMITS) == D(250)


@pytest.mark.parametrize(
    "req",
    [
        request(),
        request(type=OrderType.TRAILING_STOP, trail_price=D(1)),
        sell(),
        sell(qty=None, notional=D(100)),
    ],
    ids=["buy market", "buy trailing", "sell market", "notional sell"],
)
def test_orders_priced_by_the_market_need_a_quote(req: OrderRequest) -> None:
    assert check(req, market=NO_QUOTE) == "no_quote"


def test_a_buy_needs_the_ask_and_a_sell_the_bid() -> None:
    assert check(request(), market=replace(OPEN, ask=None)) == "no_quote"
    assert check(sell(), market=replace(OPEN, bid=None)) == "no_quote"
    assert check(request(), market=replace(OPEN, bid=None)) is None
    assert check(sell(), market=replace(OPEN, ask=None)) is None


def test_limit_and_stop_orders_are_priced_without_a_quote() -> None:
    assert check(limit(), market=NO_QUOTE) is None
    assert check(request(type=OrderType.STOP, stop_price=D(101)), market=NO_QUOTE) is None


# --- size --------------------------------------------------------------------------------------


def test_maximum_quantity_and_notional() -> None:
    rich = account(buying_power=D(10**9), sellable_qty=D(10**6))
    assert check(limit("1.00", qty=D(1000)), rich) is None
    assert check(limit("1.00", qty=D("1000.000000001")), rich) == "quantity_too_large"
    assert check(limit("50.00", qty=D(1000)), rich) is None  # 50,000 exactly
    assert check(limit("50.01", qty=D(1000)), rich) == "notional_too_large"
    assert check(request(qty=None, notional=D("50000.01")), rich) == "notional_too_large"
    assert check(sell(qty=D(1001)), rich) == "quantity_too_large"
    # a market buy is sized at the widened ask: 475 * 105.105 = 49,924.875; 476 is over
    assert check(request(qty=D(475)), rich) is None
    assert check(request(qty=D(476)), rich) == "notional_too_large"


# --- buying power, sellable quantity, shorts ---------------------------------------------------


@pytest.mark.parametrize(
    ("req", "code"),
    [
        (request(qty=D(95)), None),  # 95 * 105.105 = 9,984.975
        (request(qty=D(96)), "insufficient_buying_power"),  # 10,090.08
        (limit(qty=D(100)), None),  # 10,000.00 exactly
        (limit("100.01", qty=D(100)), "insufficient_buying_power"),
        (request(qty=None, notional=D("10000.00")), None),
        (request(qty=None, notional=D("10000.01")), "insufficient_buying_power"),
        (request(type=OrderType.STOP, stop_price=D("95.24")), None),  # 10 * 100.002
        (request(type=OrderType.STOP, stop_price=D(1000)), "insufficient_buying_power"),
    ],
)
def test_buying_power_at_the_reference_price(req: OrderRequest, code: str | None) -> None:
    assert check(req) == code


def test_the_buying_power_message() -> None:
    with pytest.raises(RiskDenied, match=r"buying power 10000 is less than the 10090\.080"):
        check_order(request(qty=D(96)), ACCOUNT, OPEN, LIMITS, kill_switch=False)


def test_a_sell_needs_the_sellable_quantity_not_buying_power() -> None:
    broke = account(buying_power=D(0))
    assert check(sell(qty=D(10)), broke) is None
    assert check(sell(qty=D("10.000000001")), broke) == "insufficient_qty"
    assert check(sell(qty=D(11)), account(sellable_qty=D(10), position_qty=D(15))) == (
        "insufficient_qty"
    )


def test_the_insufficient_qty_message() -> None:
    with pytest.raises(RiskDenied, match="only 10 AAPL can be sold, and short sales are not"):
        check_order(sell(qty=D(11)), ACCOUNT, OPEN, LIMITS, kill_switch=False)


def test_a_notional_sell_is_sized_at_the_bid() -> None:
    assert check(sell(qty=None, notional=D("1000.00"))) is None  # 10 at 100.00
    assert check(sell(qty=None, notional=D("1000.01"))) == "insufficient_qty"


def test_short_sales_only_where_allowed() -> None:
    flat = account(position_qty=D(0), sellable_qty=D(0))
    assert check(sell(), flat) == "insufficient_qty"
    assert check(sell(), replace(flat, may_short=True)) is None
    assert check(sell(qty=D(25)), account(may_short=True)) is None  # 10 long, 15 short


# --- reduce-only and restricted accounts --------------------------------------------------------

REDUCE_ONLY = AccountTradingState.REDUCE_ONLY


@pytest.mark.parametrize(
    ("req", "position", "sellable", "code"),
    [
        (request(), D(0), D(0), "reduce_only"),
        (request(), D(10), D(10), "reduce_only"),
        (sell(qty=D(10)), D(10), D(10), None),
        (sell(qty=D(4)), D(10), D(10), None),
        (sell(qty=D(11)), D(10), D(10), "reduce_only"),
        (sell(), D(0), D(0), "reduce_only"),
        (sell(), D(-5), D(0), "reduce_only"),
        (request(qty=D(10)), D(-10), D(0), None),
        (request(qty=D(4)), D(-10), D(0), None),
        (request(qty=D(11)), D(-10), D(0), "reduce_only"),  # would turn a short into a long
        (request(qty=D(50)), D(-10), D(0), "reduce_only"),
        (request(qty=None, notional=D(900)), D(-10), D(0), None),
        (request(qty=None, notional=D(1060)), D(-10), D(0), "reduce_only"),
    ],
    ids=[
        "buy when flat",
        "buy when long",
        "sell the whole long",
        "sell part of the long",
        "sell past the long",
        "sell when flat",
        "sell when short",
        "buy back the whole short",
        "buy back part of the short",
        "buy one past the short",
        "buy far past the short",
        "notional buy within the short",
        "notional buy past the short",
    ],
)
def test_a_reduce_only_account_may_only_shrink_positions(
    req: OrderRequest, position: Decimal, sellable: Decimal, code: str | None
) -> None:
    acct = account(state=REDUCE_ONLY, position_qty=position, sellable_qty=sellable, may_short=True)
    assert check(req, acct) == code


def test_reduce_only_still_needs_buying_power_to_cover() -> None:
    short = account(state=REDUCE_ONLY, position_qty=D(-10), sellable_qty=D(0), buying_power=D(0))
    assert check(request(), short) == "insufficient_buying_power"


def test_a_restricted_account_may_sell_but_not_buy() -> None:
    restricted = account(restricted=True)
    assert check(request(), restricted) == "account_restricted"
    assert check(limit("1.00", qty=D(1)), restricted) == "account_restricted"
    assert check(sell(), restricted) is None


def test_reduce_only_then_restricted_then_buying_power() -> None:
    everything = account(state=REDUCE_ONLY, restricted=True, buying_power=D(0), position_qty=D(0))
    assert check(request(), everything) == "reduce_only"
    assert check(request(), replace(everything, state=AccountTradingState.ACTIVE)) == (
        "account_restricted"
    )
    assert check(
        request(), replace(everything, restricted=False, state=AccountTradingState.ACTIVE)
    ) == ("insufficient_buying_power")
