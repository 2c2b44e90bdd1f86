"""The order model: the transition table, `apply` and its stamps, fills, and request checks."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alpaca.trading import enums as alpaca

from finplat.kernel import BusinessRuleViolation, InvalidInput
from finplat.trading.domain.orders import (
    TERMINAL,
    TRANSITIONS,
    Grid,
    InvalidTransition,
    Leg,
    Order,
    OrderClass,
    OrderEvent,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    check_request,
    next_status,
    normalized,
)

D = Decimal
S, E = OrderStatus, OrderEvent
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)

# The table as the design states it, written out here so that a change to the code's table
# is a deliberate change to this list too.
_WORKING = [
    (E.PARTIAL_FILL, S.PARTIALLY_FILLED),
    (E.FILL, S.FILLED),
    (E.PENDING_CANCEL, S.PENDING_CANCEL),
    (E.CANCELED, S.CANCELED),
    (E.EXPIRED, S.EXPIRED),
    (E.PENDING_REPLACE, S.PENDING_REPLACE),
    (E.REPLACED, S.REPLACED),
]
EXPECTED: dict[OrderStatus, dict[OrderEvent, OrderStatus]] = {
    S.PENDING_NEW: {E.NEW: S.NEW, E.HELD: S.HELD, E.REJECTED: S.REJECTED, E.CANCELED: S.CANCELED},
    S.HELD: {
        E.ACTIVATED: S.NEW,
        E.CANCELED: S.CANCELED,
        E.EXPIRED: S.EXPIRED,
        E.REPLACED: S.REPLACED,
    },
    S.NEW: {**dict(_WORKING), E.TRIGGERED: S.NEW},
    S.PARTIALLY_FILLED: {**dict(_WORKING), E.TRIGGERED: S.PARTIALLY_FILLED},
    S.PENDING_CANCEL: {
        E.PARTIAL_FILL: S.PENDING_CANCEL,
        E.FILL: S.FILLED,
        E.CANCELED: S.CANCELED,
        E.EXPIRED: S.EXPIRED,
        E.CANCEL_REJECTED: S.NEW,
        E.TRIGGERED: S.PENDING_CANCEL,
    },
    S.PENDING_REPLACE: {
        E.PARTIAL_FILL: S.PENDING_REPLACE,
        E.FILL: S.FILLED,
        E.REPLACED: S.REPLACED,
        E.REPLACE_REJECTED: S.NEW,
        E.CANCELED: S.CANCELED,
        E.EXPIRED: S.EXPIRED,
        E.TRIGGERED: S.PENDING_REPLACE,
    },
    S.FILLED: {},
    S.CANCELED: {},
    S.EXPIRED: {},
    S.REJECTED: {},
    S.REPLACED: {},
}
MATRIX = [(status, event) for status in OrderStatus for event in OrderEvent]

EQUITY = Grid(
    symbol="AAPL",
    tick_size=D("0.01"),
    lot_size=D("0.000000001"),
    min_order_size=D("0.000000001"),
    fractionable=True,
    crypto=False,
    tradable=True,
)
WHOLE = replace(EQUITY, symbol="BRK.A", lot_size=D(1), min_order_size=D(1), fractionable=False)
CRYPTO = Grid(
    symbol="BTC/USD",
    tick_size=D("0.5"),
    lot_size=D("0.0001"),
    min_order_size=D("0.001"),
    fractionable=True,
    crypto=True,
    tradable=True,
)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


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


def limit(**changes: Any) -> OrderRequest:
    return request(**{"type": OrderType.LIMIT, "limit_price": D("100.00"), **changes})


def order(status: OrderStatus = S.NEW, **changes: Any) -> Order:
    values: dict[str, Any] = {
        "id": uuid.UUID(int=1),
        "account_id": uuid.UUID(int=2),
        "client_order_id": "c-1",
        "request": request(),
        "status": status,
        "created_at": T0,
        "updated_at": T0,
        "venue": "simulated",
    }
    values.update(changes)
    return Order(**values)


def rejection(req: OrderRequest, grid: Grid = EQUITY) -> str:
    with pytest.raises(OrderRejected) as info:
        check_request(req, grid)
    return info.value.code


# --- the transition table -------------------------------------------------------------------


def test_the_table_is_the_declared_one() -> None:
    assert TRANSITIONS == EXPECTED
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("status", "event"), MATRIX, ids=str)
def test_every_pair_leads_where_the_table_says_or_is_refused(
    status: OrderStatus, event: OrderEvent
) -> None:
    target = EXPECTED[status].get(event)
    if target is not None:
        assert next_status(status, event) is target
        return
    with pytest.raises(InvalidTransition) as info:
        next_status(status, event)
    assert info.value.code == "order_not_in_a_state_to_change"
    assert info.value.message == f"an order that is {status} cannot take '{event}'"
    assert isinstance(info.value, BusinessRuleViolation)


def test_terminal_statuses_are_exactly_these_and_accept_nothing() -> None:
    assert {S.FILLED, S.CANCELED, S.EXPIRED, S.REJECTED, S.REPLACED} == TERMINAL
    for status in OrderStatus:
        assert status.is_terminal is (status in TERMINAL)
        assert status.is_open is (status not in TERMINAL)
    for status in TERMINAL:
        assert TRANSITIONS[status] == {}
        for event in OrderEvent:
            with pytest.raises(InvalidTransition):
                order(status).apply(event, at(1))


def test_every_open_status_is_reachable_and_can_end() -> None:
    reached, frontier = {S.PENDING_NEW}, [S.PENDING_NEW]
    while frontier:
        for target in TRANSITIONS[frontier.pop()].values():
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(OrderStatus)
    for status in set(OrderStatus) - TERMINAL:
        assert any(target in TERMINAL for target in TRANSITIONS[status].values())


def test_spellings_are_alpacas() -> None:
    assert {s.value for s in OrderStatus} <= {s.value for s in alpaca.OrderStatus}
    assert {s.value for s in Side} == {s.value for s in alpaca.OrderSide}
    assert {t.value for t in OrderType} == {t.value for t in alpaca.OrderType}
    assert {c.value for c in OrderClass} == {c.value for c in alpaca.OrderClass} - {"mleg"}
    assert {t.value for t in TimeInForce} - {t.value for t in alpaca.TimeInForce} == {"gtd"}
    # alpaca-py's TradeEvent lacks the two rejections Alpaca's stream documents
    internal = {"held", "activated", "triggered", "order_cancel_rejected", "order_replace_rejected"}
    assert {e.value for e in OrderEvent} - {e.value for e in alpaca.TradeEvent} == internal


def test_kinds() -> None:
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY
    assert {t for t in OrderType if t.has_limit} == {OrderType.LIMIT, OrderType.STOP_LIMIT}
    assert {t for t in OrderType if t.has_stop} == {
        OrderType.STOP,
        OrderType.STOP_LIMIT,
        OrderType.TRAILING_STOP,
    }


# --- apply: moves and stamps ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "event", "stamp"),
    [
        (S.PENDING_NEW, E.NEW, "submitted_at"),
        (S.NEW, E.FILL, "filled_at"),
        (S.PENDING_CANCEL, E.FILL, "filled_at"),
        (S.PENDING_NEW, E.CANCELED, "canceled_at"),
        (S.HELD, E.CANCELED, "canceled_at"),
        (S.NEW, E.CANCELED, "canceled_at"),
        (S.PENDING_CANCEL, E.CANCELED, "canceled_at"),
        (S.HELD, E.EXPIRED, "expired_at"),
        (S.PARTIALLY_FILLED, E.EXPIRED, "expired_at"),
        (S.PENDING_REPLACE, E.EXPIRED, "expired_at"),
        (S.PENDING_NEW, E.REJECTED, "failed_at"),
    ],
)
def test_apply_stamps_the_event_time(start: OrderStatus, event: OrderEvent, stamp: str) -> None:
    before = order(start)
    after = before.apply(event, at(5))
    stamps = ("submitted_at", "filled_at", "canceled_at", "expired_at", "failed_at")
    assert after.status is EXPECTED[start][event]
    assert after.updated_at == at(5)
    assert {name: getattr(after, name) for name in stamps} == {
        name: at(5) if name == stamp else None for name in stamps
    }
    assert before.status is start  # the order is a value: apply returns a new one
    assert before.updated_at == T0


@pytest.mark.parametrize(
    ("start", "event"),
    [
        (S.PENDING_NEW, E.HELD),
        (S.HELD, E.ACTIVATED),
        (S.NEW, E.TRIGGERED),
        (S.NEW, E.PARTIAL_FILL),
        (S.NEW, E.PENDING_CANCEL),
        (S.NEW, E.PENDING_REPLACE),
        (S.NEW, E.REPLACED),
    ],
)
def test_other_events_stamp_only_updated_at(start: OrderStatus, event: OrderEvent) -> None:
    after = order(start).apply(event, at(7))
    assert after.updated_at == at(7)
    assert (after.submitted_at, after.filled_at, after.canceled_at) == (None, None, None)
    assert (after.expired_at, after.failed_at) == (None, None)


def test_apply_keeps_earlier_stamps_and_takes_changes() -> None:
    working = order(S.PENDING_NEW).apply(E.NEW, at(1))
    stopped = working.apply(E.TRIGGERED, at(2), triggered=True)
    done = stopped.apply(E.CANCELED, at(3))
    assert (done.submitted_at, done.canceled_at, done.updated_at) == (at(1), at(3), at(3))
    assert done.triggered is True
    refused = order(S.PENDING_NEW).apply(E.REJECTED, at(4), reject_reason="venue closed")
    assert (refused.status, refused.reject_reason, refused.failed_at) == (
        S.REJECTED,
        "venue closed",
        at(4),
    )


def test_apply_refuses_a_move_outside_the_table() -> None:
    with pytest.raises(InvalidTransition, match="an order that is held cannot take 'fill'"):
        order(S.HELD).apply(E.FILL, at(1))


@pytest.mark.parametrize(
    ("pending", "rejected"),
    [(E.PENDING_CANCEL, E.CANCEL_REJECTED), (E.PENDING_REPLACE, E.REPLACE_REJECTED)],
)
def test_a_refused_cancel_or_replace_restores_new_or_partially_filled(
    pending: OrderEvent, rejected: OrderEvent
) -> None:
    fresh = order(S.NEW).apply(pending, at(1)).apply(rejected, at(2))
    assert (fresh.status, fresh.updated_at) == (S.NEW, at(2))

    partly = order(S.NEW).filled(D(3), D("100.00"), at(1))
    restored = partly.apply(pending, at(2)).apply(rejected, at(3))
    assert (restored.status, restored.filled_qty) == (S.PARTIALLY_FILLED, D(3))

    # a fill that lands while the request is pending is kept, and shows once it is refused
    raced = order(S.NEW).apply(pending, at(1)).filled(D(4), D("100.00"), at(2))
    assert (raced.status, raced.filled_qty) == (pending.value, D(4))
    assert raced.apply(rejected, at(3)).status is S.PARTIALLY_FILLED


# --- fills ----------------------------------------------------------------------------------


def test_three_fills_at_different_prices_average_exactly() -> None:
    placed = order(request=request(qty=D(3)))
    assert placed.filled_avg_price is None
    first = placed.filled(D(1), D("10.00"), at(1))
    second = first.filled(D(1), D("10.01"), at(2))
    third = second.filled(D(1), D("10.03"), at(3))
    assert [o.status for o in (first, second, third)] == [
        S.PARTIALLY_FILLED,
        S.PARTIALLY_FILLED,
        S.FILLED,
    ]
    assert third.filled_qty == D(3)
    assert str(third.filled_notional) == "30.04"
    assert str(third.filled_avg_price) == "10.013333333"  # 30.04 / 3, to 9 places
    assert (first.filled_at, second.filled_at, third.filled_at) == (None, None, at(3))
    assert third.remaining_qty == 0


def test_the_average_rounds_half_to_even_at_the_ninth_place() -> None:
    # 20.000000001 / 2 = 10.0000000005: half-even keeps the 0, half-up would make it 1
    placed = order(request=request(qty=D(2), symbol="BTC/USD"))
    filled = (
        placed.filled(D(1), D("10.000000001"), at(1))
        .filled(D("0.5"), D("10.000000002"), at(2))
        .filled(D("0.5"), D("9.999999998"), at(3))
    )
    assert filled.filled_notional == D("20.000000001")
    assert str(filled.filled_avg_price) == "10.000000000"
    odd = order(request=request(qty=D(2))).filled(D(2), D("10.0000000015"), at(1))
    assert str(odd.filled_avg_price) == "10.000000002"  # 10.0000000015 -> the even 2


def test_fractional_fills_accumulate_to_the_exact_quantity() -> None:
    placed = order(request=request(qty=D("1.5")))
    partly = placed.filled(D("0.333333333"), D("187.25"), at(1))
    assert partly.status is S.PARTIALLY_FILLED
    assert partly.remaining_qty == D("1.166666667")
    done = partly.filled(D("1.166666667"), D("187.26"), at(2))
    assert (done.status, done.filled_qty) == (S.FILLED, D("1.5"))
    assert done.filled_notional == D("0.333333333") * D("187.25") + D("1.166666667") * D("187.26")


def test_one_fill_of_the_whole_quantity_fills_the_order() -> None:
    done = order().filled(D(10), D("99.99"), at(1))
    assert (done.status, done.filled_qty, done.filled_at) == (S.FILLED, D(10), at(1))
    assert str(done.filled_avg_price) == "99.990000000"


@pytest.mark.parametrize("qty", [D(0), D("-1"), D("-0.000000001")])
def test_a_fill_must_have_a_positive_quantity(qty: Decimal) -> None:
    with pytest.raises(BusinessRuleViolation) as info:
        order().filled(qty, D("100.00"), at(1))
    assert info.value.code == "bad_fill"


def test_an_overfill_is_refused_and_changes_nothing() -> None:
    partly = order().filled(D(7), D("100.00"), at(1))
    with pytest.raises(BusinessRuleViolation) as info:
        partly.filled(D(4), D("100.00"), at(2))
    assert info.value.code == "overfill"
    assert "a fill of 4 exceeds the 3 left" in info.value.message
    assert (partly.filled_qty, partly.status) == (D(7), S.PARTIALLY_FILLED)
    done = partly.filled(D(3), D("100.00"), at(2))
    with pytest.raises(BusinessRuleViolation) as again:
        done.filled(D("0.000000001"), D("100.00"), at(3))
    assert again.value.code == "overfill"


@pytest.mark.parametrize("pending", [S.PENDING_CANCEL, S.PENDING_REPLACE])
def test_fills_racing_a_pending_cancel_or_replace(pending: OrderStatus) -> None:
    waiting = order(pending)
    partly = waiting.filled(D(4), D("100.00"), at(1))
    assert (partly.status, partly.filled_qty, partly.filled_at) == (pending, D(4), None)
    done = partly.filled(D(6), D("100.10"), at(2))
    assert (done.status, done.filled_qty, done.filled_at) == (S.FILLED, D(10), at(2))
    assert done.filled_notional == D("1000.60")
    canceled = partly.apply(E.CANCELED, at(3))
    assert (canceled.status, canceled.filled_qty, canceled.remaining_qty) == (
        S.CANCELED,
        D(4),
        D(6),
    )


@pytest.mark.parametrize("status", [S.PENDING_NEW, S.HELD, S.CANCELED, S.EXPIRED, S.REJECTED])
def test_orders_not_working_take_no_fill(status: OrderStatus) -> None:
    with pytest.raises(InvalidTransition):
        order(status).filled(D(1), D("100.00"), at(1))


def test_properties_read_the_request() -> None:
    placed = order(request=limit(side=Side.SELL, qty=D(5), symbol="MSFT"))
    assert (placed.symbol, placed.side, placed.qty, placed.remaining_qty) == (
        "MSFT",
        Side.SELL,
        D(5),
        D(5),
    )
    notional = order(request=request(qty=None, notional=D("250.00")))
    assert (notional.qty, notional.remaining_qty) == (None, None)


def test_fingerprint_ignores_decimal_spelling_only() -> None:
    assert limit(qty=D(10)).fingerprint() == limit(qty=D("10.000")).fingerprint()
    assert limit(limit_price=D("100")).fingerprint() == limit().fingerprint()
    assert limit(qty=D(11)).fingerprint() != limit().fingerprint()
    assert limit(side=Side.SELL).fingerprint() != limit().fingerprint()
    assert limit(extended_hours=True).fingerprint() != limit().fingerprint()
    assert limit(client_order_id="a").fingerprint() == limit(client_order_id="b").fingerprint()


# --- check_request: accepted shapes ---------------------------------------------------------

ACCEPTED = {
    "market day": (request(), EQUITY),
    "market gtc": (request(time_in_force=TimeInForce.GTC), EQUITY),
    "market opg": (request(time_in_force=TimeInForce.OPG), EQUITY),
    "market cls": (request(time_in_force=TimeInForce.CLS), EQUITY),
    "market ioc": (request(time_in_force=TimeInForce.IOC), EQUITY),
    "limit fok": (limit(time_in_force=TimeInForce.FOK), EQUITY),
    "limit gtd": (limit(time_in_force=TimeInForce.GTD, expires_at=at(3600)), EQUITY),
    "stop": (request(type=OrderType.STOP, stop_price=D("101.00")), EQUITY),
    "stop limit": (
        request(type=OrderType.STOP_LIMIT, stop_price=D("101.00"), limit_price=D("101.50")),
        EQUITY,
    ),
    "trailing by price": (request(type=OrderType.TRAILING_STOP, trail_price=D("1.25")), EQUITY),
    "trailing by percent": (
        request(type=OrderType.TRAILING_STOP, trail_percent=D("2.5"), side=Side.SELL),
        EQUITY,
    ),
    "notional": (request(qty=None, notional=D("500.75")), EQUITY),
    "fractional": (request(qty=D("3.654")), EQUITY),
    "fractional limit day": (limit(qty=D("0.5")), EQUITY),
    "extended hours": (limit(extended_hours=True), EQUITY),
    "whole shares": (request(qty=D(2)), WHOLE),
    "crypto gtc": (
        request(symbol="BTC/USD", qty=D("0.0015"), time_in_force=TimeInForce.GTC),
        CRYPTO,
    ),
    "crypto ioc limit": (
        limit(symbol="BTC/USD", qty=D("0.5"), time_in_force=TimeInForce.IOC, limit_price=D("1.5")),
        CRYPTO,
    ),
    "crypto notional gtc": (
        request(symbol="BTC/USD", qty=None, notional=D(100), time_in_force=TimeInForce.GTC),
        CRYPTO,
    ),
}


@pytest.mark.parametrize(("req", "grid"), list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_well_formed_requests_pass(req: OrderRequest, grid: Grid) -> None:
    check_request(req, grid)


# --- check_request: one rule at a time -------------------------------------------------------


def test_not_tradable_comes_first() -> None:
    broken = request(qty=None, notional=None)
    assert rejection(broken, replace(EQUITY, tradable=False)) == "asset_not_tradable"
    assert rejection(broken) == "qty_or_notional"


def test_a_rejection_is_invalid_input_with_a_message() -> None:
    with pytest.raises(InvalidInput, match="AAPL is not tradable"):
        check_request(request(), replace(EQUITY, tradable=False))


def test_qty_xor_notional() -> None:
    assert rejection(request(qty=None)) == "qty_or_notional"
    assert rejection(request(notional=D(100))) == "qty_or_notional"


def test_notional_is_positive_cents() -> None:
    assert rejection(request(qty=None, notional=D(0))) == "invalid_notional"
    assert rejection(request(qty=None, notional=D(-5))) == "invalid_notional"
    assert rejection(request(qty=None, notional=D("10.001"))) == "notional_off_grid"


@pytest.mark.parametrize(
    "changes",
    [
        {"type": OrderType.LIMIT, "limit_price": D("100.00")},
        {"type": OrderType.STOP, "stop_price": D("100.00")},
        {"time_in_force": TimeInForce.GTC},
        {"time_in_force": TimeInForce.IOC},
        {"time_in_force": TimeInForce.OPG},
    ],
)
def test_notional_orders_are_market_orders_for_the_day(changes: dict[str, Any]) -> None:
    assert rejection(request(qty=None, notional=D(100), **changes)) == "notional_shape"


def test_crypto_notional_is_gtc_or_ioc() -> None:
    crypto = {"symbol": "BTC/USD", "qty": None, "notional": D(100)}
    check_request(request(**crypto, time_in_force=TimeInForce.GTC), CRYPTO)
    check_request(request(**crypto, time_in_force=TimeInForce.IOC), CRYPTO)
    assert rejection(request(**crypto, time_in_force=TimeInForce.DAY), CRYPTO) == "notional_shape"
    limited = request(**crypto, time_in_force=TimeInForce.GTC, type=OrderType.LIMIT)
    assert rejection(replace(limited, limit_price=D(1)), CRYPTO) == "notional_shape"


def test_fractions_need_a_fractionable_instrument() -> None:
    assert rejection(request(qty=None, notional=D(100)), WHOLE) == "not_fractionable"
    assert rejection(request(qty=D("1.5")), WHOLE) == "not_fractionable"


@pytest.mark.parametrize("tif", [TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])
def test_fractional_equity_orders_are_day_orders(tif: TimeInForce) -> None:
    assert rejection(limit(qty=D("1.5"), time_in_force=tif)) == "fractional_shape"
    check_request(limit(qty=D(2), time_in_force=tif), EQUITY)


def test_fractional_crypto_orders_may_be_gtc() -> None:
    check_request(limit(symbol="BTC/USD", qty=D("0.25"), time_in_force=TimeInForce.GTC), CRYPTO)


@pytest.mark.parametrize("qty", [D(0), D(-1), D("-2.5"), D("Infinity"), D("NaN"), D("-Infinity")])
@pytest.mark.parametrize("grid", [EQUITY, WHOLE], ids=["fractionable", "whole"])
def test_qty_must_be_a_positive_number(qty: Decimal, grid: Grid) -> None:
    assert rejection(request(qty=qty), grid) == "invalid_qty"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("qty", D("1E+30"), "invalid_qty"),
        ("qty", D("1234567890123456789012345678901"), "invalid_qty"),
        ("notional", D("1E+40"), "invalid_notional"),
        ("limit_price", D("1E+40"), "invalid_price"),
    ],
)
def test_numbers_too_long_for_the_grid_are_rejected_not_crashed(
    field: str, value: Decimal, code: str
) -> None:
    changes: dict[str, Any] = {field: value}
    if field == "notional":
        changes["qty"] = None
    if field == "limit_price":
        changes["type"] = OrderType.LIMIT
    assert rejection(request(**changes)) == code
    assert rejection(request(**changes), WHOLE) == code


def test_qty_fits_the_lot() -> None:
    thousandths = replace(EQUITY, lot_size=D("0.001"), min_order_size=D("0.001"))
    check_request(request(qty=D("1.005")), thousandths)
    assert rejection(request(qty=D("1.0005")), thousandths) == "qty_off_grid"
    round_lots = replace(WHOLE, lot_size=D(100), min_order_size=D(100))
    check_request(request(qty=D(300)), round_lots)
    assert rejection(request(qty=D(150)), round_lots) == "qty_off_grid"
    assert rejection(request(symbol="BTC/USD", qty=D("0.00155")), CRYPTO) == "qty_off_grid"


def test_qty_reaches_the_minimum_order_size() -> None:
    gtc = TimeInForce.GTC
    assert rejection(request(qty=D("0.0009"), time_in_force=gtc), CRYPTO) == "qty_too_small"
    check_request(request(qty=D("0.001"), time_in_force=gtc), CRYPTO)


@pytest.mark.parametrize("kind", [OrderType.LIMIT, OrderType.STOP_LIMIT])
def test_limit_kinds_need_a_limit_price(kind: OrderType) -> None:
    assert rejection(request(type=kind, stop_price=D(100))) == "missing_limit_price"


@pytest.mark.parametrize(
    ("kind", "extra"), [(OrderType.STOP, {}), (OrderType.STOP_LIMIT, {"limit_price": D(100)})]
)
def test_stop_kinds_need_a_stop_price(kind: OrderType, extra: dict[str, Any]) -> None:
    assert rejection(request(type=kind, **extra)) == "missing_stop_price"


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (OrderType.MARKET, {}),
        (OrderType.STOP, {"stop_price": D(100)}),
        (OrderType.TRAILING_STOP, {"trail_price": D(1)}),
    ],
)
def test_other_kinds_take_no_limit_price(kind: OrderType, extra: dict[str, Any]) -> None:
    assert rejection(request(type=kind, limit_price=D(100), **extra)) == "unexpected_limit_price"


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (OrderType.MARKET, {}),
        (OrderType.LIMIT, {"limit_price": D(100)}),
        (OrderType.TRAILING_STOP, {"trail_price": D(1)}),
    ],
)
def test_other_kinds_take_no_stop_price(kind: OrderType, extra: dict[str, Any]) -> None:
    assert rejection(request(type=kind, stop_price=D(100), **extra)) == "unexpected_stop_price"


@pytest.mark.parametrize("field", ["limit_price", "stop_price"])
def test_prices_are_positive_and_on_the_tick(field: str) -> None:
    stop_limit = {"type": OrderType.STOP_LIMIT, "limit_price": D(100), "stop_price": D(100)}
    assert rejection(request(**{**stop_limit, field: D(0)})) == "invalid_price"
    assert rejection(request(**{**stop_limit, field: D("-1.00")})) == "invalid_price"
    assert rejection(request(**{**stop_limit, field: D("100.005")})) == "price_off_grid"
    check_request(request(**{**stop_limit, field: D("100.05")}), EQUITY)
    assert rejection(request(**{**stop_limit, field: D("100.25")}), CRYPTO) == "price_off_grid"


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"trail_price": D(1), "trail_percent": D(1)},
        {"trail_percent": D(0)},
        {"trail_percent": D(100)},
        {"trail_percent": D(-1)},
        {"trail_percent": D("NaN")},
        {"trail_percent": D("Infinity")},
    ],
)
def test_trailing_stop_shape(changes: dict[str, Any]) -> None:
    assert rejection(request(type=OrderType.TRAILING_STOP, **changes)) == "trail_shape"


def test_trail_price_is_positive_and_on_the_tick() -> None:
    trailing = OrderType.TRAILING_STOP
    assert rejection(request(type=trailing, trail_price=D(0))) == "invalid_price"
    assert rejection(request(type=trailing, trail_price=D("0.015"))) == "price_off_grid"
    check_request(request(type=trailing, trail_percent=D("0.01")), EQUITY)
    check_request(request(type=trailing, trail_percent=D("99.99")), EQUITY)


@pytest.mark.parametrize("field", ["trail_price", "trail_percent"])
@pytest.mark.parametrize("kind", [OrderType.MARKET, OrderType.LIMIT])
def test_only_trailing_stops_trail(field: str, kind: OrderType) -> None:
    price = {"limit_price": D(100)} if kind is OrderType.LIMIT else {}
    assert rejection(request(type=kind, **price, **{field: D(1)})) == "trail_shape"


@pytest.mark.parametrize(
    "tif", [TimeInForce.OPG, TimeInForce.CLS, TimeInForce.IOC, TimeInForce.FOK]
)
@pytest.mark.parametrize(
    "changes",
    [
        {"type": OrderType.STOP, "stop_price": D(100)},
        {"type": OrderType.STOP_LIMIT, "stop_price": D(100), "limit_price": D(100)},
        {"type": OrderType.TRAILING_STOP, "trail_price": D(1)},
    ],
    ids=["stop", "stop_limit", "trailing_stop"],
)
def test_auction_and_immediate_orders_are_market_or_limit(
    tif: TimeInForce, changes: dict[str, Any]
) -> None:
    assert rejection(request(time_in_force=tif, **changes)) == "time_in_force_not_allowed"
    check_request(request(time_in_force=tif), EQUITY)
    check_request(limit(time_in_force=tif), EQUITY)


@pytest.mark.parametrize(
    "tif", [TimeInForce.DAY, TimeInForce.OPG, TimeInForce.CLS, TimeInForce.GTD]
)
def test_crypto_orders_are_gtc_ioc_or_fok(tif: TimeInForce) -> None:
    expires = {"expires_at": at(60)} if tif is TimeInForce.GTD else {}
    crypto = limit(symbol="BTC/USD", qty=D(1), limit_price=D(1), time_in_force=tif, **expires)
    assert rejection(crypto, CRYPTO) == "time_in_force_not_allowed"


def test_gtd_and_only_gtd_takes_expires_at() -> None:
    assert rejection(limit(time_in_force=TimeInForce.GTD)) == "gtd_shape"
    assert rejection(limit(time_in_force=TimeInForce.GTC, expires_at=at(60))) == "gtd_shape"
    assert rejection(limit(expires_at=at(60))) == "gtd_shape"


@pytest.mark.parametrize(
    "req",
    [
        request(extended_hours=True),
        limit(extended_hours=True, time_in_force=TimeInForce.GTC),
        request(type=OrderType.STOP, stop_price=D(100), extended_hours=True),
        request(
            type=OrderType.STOP_LIMIT, stop_price=D(100), limit_price=D(100), extended_hours=True
        ),
    ],
    ids=["market day", "limit gtc", "stop day", "stop limit day"],
)
def test_extended_hours_orders_are_limit_orders_for_the_day(req: OrderRequest) -> None:
    assert rejection(req) == "extended_hours_shape"


# --- check_request: order classes ------------------------------------------------------------

TAKE = Leg(limit_price=D("110.00"))
STOP = Leg(stop_price=D("95.00"))
STOP_LIMIT = Leg(stop_price=D("95.00"), limit_price=D("94.50"))


def bracket(**changes: Any) -> OrderRequest:
    return request(
        **{"order_class": OrderClass.BRACKET, "take_profit": TAKE, "stop_loss": STOP, **changes}
    )


def oco(**changes: Any) -> OrderRequest:
    values = {"order_class": OrderClass.OCO, "take_profit": TAKE, "stop_loss": STOP}
    return limit(**{"side": Side.SELL, "limit_price": D("110.00"), **values, **changes})


def test_class_shapes_that_pass() -> None:
    check_request(bracket(), EQUITY)
    check_request(bracket(type=OrderType.LIMIT, limit_price=D(100), stop_loss=STOP_LIMIT), EQUITY)
    check_request(bracket(time_in_force=TimeInForce.GTC), EQUITY)
    check_request(oco(), EQUITY)
    check_request(bracket(order_class=OrderClass.OTO, take_profit=None), EQUITY)
    check_request(bracket(order_class=OrderClass.OTO, stop_loss=None), EQUITY)


@pytest.mark.parametrize(
    ("req", "grid"),
    [
        (request(take_profit=TAKE), EQUITY),
        (request(stop_loss=STOP), EQUITY),
        (bracket(symbol="BTC/USD", qty=D(1), time_in_force=TimeInForce.GTC), CRYPTO),
        (bracket(qty=None, notional=D(1000)), EQUITY),
        (bracket(qty=D("1.5")), EQUITY),
        (bracket(type=OrderType.LIMIT, limit_price=D(100), time_in_force=TimeInForce.IOC), EQUITY),
        (bracket(type=OrderType.LIMIT, limit_price=D(100), time_in_force=TimeInForce.OPG), EQUITY),
        (bracket(type=OrderType.LIMIT, limit_price=D(100), time_in_force=TimeInForce.FOK), EQUITY),
        (
            bracket(
                type=OrderType.LIMIT,
                limit_price=D(100),
                time_in_force=TimeInForce.GTD,
                expires_at=at(60),
            ),
            EQUITY,
        ),
        (bracket(stop_loss=None), EQUITY),
        (bracket(take_profit=None), EQUITY),
        (oco(stop_loss=None), EQUITY),
        (oco(take_profit=None), EQUITY),
        (bracket(order_class=OrderClass.OTO), EQUITY),
        (bracket(order_class=OrderClass.OTO, take_profit=None, stop_loss=None), EQUITY),
        (oco(type=OrderType.MARKET, limit_price=None), EQUITY),
        (bracket(type=OrderType.STOP, stop_price=D(100)), EQUITY),
        (bracket(type=OrderType.TRAILING_STOP, trail_price=D(1)), EQUITY),
        (bracket(take_profit=Leg()), EQUITY),
        (bracket(take_profit=Leg(limit_price=D(110), stop_price=D(111))), EQUITY),
        (bracket(stop_loss=Leg(limit_price=D(94))), EQUITY),
    ],
    ids=[
        "simple with take_profit",
        "simple with stop_loss",
        "crypto bracket",
        "notional bracket",
        "fractional bracket",
        "bracket ioc",
        "bracket opg",
        "bracket fok",
        "bracket gtd",
        "bracket without stop_loss",
        "bracket without take_profit",
        "oco without stop_loss",
        "oco without take_profit",
        "oto with both legs",
        "oto with no leg",
        "oco market",
        "bracket stop entry",
        "bracket trailing entry",
        "take_profit without limit_price",
        "take_profit with stop_price",
        "stop_loss without stop_price",
    ],
)
def test_class_shapes_that_fail(req: OrderRequest, grid: Grid) -> None:
    assert rejection(req, grid) == "order_class_shape"


@pytest.mark.parametrize(
    ("take", "stop", "code"),
    [
        (Leg(limit_price=D("110.005")), STOP, "price_off_grid"),
        (Leg(limit_price=D(0)), STOP, "invalid_price"),
        (TAKE, Leg(stop_price=D("95.001")), "price_off_grid"),
        (TAKE, Leg(stop_price=D(-95)), "invalid_price"),
        (TAKE, Leg(stop_price=D(95), limit_price=D("94.499")), "price_off_grid"),
        (TAKE, Leg(stop_price=D(95), limit_price=D(0)), "invalid_price"),
    ],
)
def test_leg_prices_are_positive_and_on_the_tick(take: Leg, stop: Leg, code: str) -> None:
    assert rejection(bracket(take_profit=take, stop_loss=stop)) == code


@pytest.mark.parametrize(
    ("make", "side", "take", "stop", "ok"),
    [
        # a buy bracket exits by selling: profit above, stop below
        (bracket, Side.BUY, "110.00", "95.00", True),
        (bracket, Side.BUY, "95.00", "110.00", False),
        (bracket, Side.BUY, "100.00", "100.00", False),
        # a sell bracket exits by buying back: profit below, stop above
        (bracket, Side.SELL, "95.00", "110.00", True),
        (bracket, Side.SELL, "110.00", "95.00", False),
        (bracket, Side.SELL, "100.00", "100.00", False),
        # an oco is the exit itself: a sell oco closes a long, a buy oco covers a short
        (oco, Side.SELL, "110.00", "95.00", True),
        (oco, Side.SELL, "95.00", "110.00", False),
        (oco, Side.BUY, "95.00", "110.00", True),
        (oco, Side.BUY, "110.00", "95.00", False),
    ],
)
def test_take_profit_is_on_the_profitable_side_of_the_stop(
    make: Any, side: Side, take: str, stop: str, ok: bool
) -> None:
    req = make(
        side=side,
        take_profit=Leg(limit_price=D(take)),
        stop_loss=Leg(stop_price=D(stop)),
        **({"limit_price": D(take)} if make is oco else {}),
    )
    if ok:
        check_request(req, EQUITY)
    else:
        assert rejection(req) == "order_class_shape"


# --- rules added after the review -------------------------------------------------------------


def test_an_oco_may_leave_its_limit_to_the_take_profit() -> None:
    implied = normalized(oco(limit_price=None))
    assert implied.limit_price == D("110.00")
    check_request(implied, EQUITY)
    assert normalized(limit()) == limit()
    assert rejection(oco(limit_price=D("109.00"))) == "order_class_shape"


@pytest.mark.parametrize(
    ("req", "code"),
    [
        (bracket(type=OrderType.LIMIT, limit_price=D("111.00")), "order_class_shape"),
        (bracket(type=OrderType.LIMIT, limit_price=D("94.00")), "order_class_shape"),
        (
            bracket(
                side=Side.SELL,
                type=OrderType.LIMIT,
                limit_price=D("100.00"),
                take_profit=Leg(limit_price=D("90.00")),
                stop_loss=Leg(stop_price=D("99.00")),
            ),
            "order_class_shape",
        ),
    ],
    ids=["buy entry above its take-profit", "buy entry below its stop", "sell stop below entry"],
)
def test_a_limit_entry_lies_between_its_exits(req: OrderRequest, code: str) -> None:
    assert rejection(req) == code


def test_extended_hours_are_for_simple_whole_share_orders() -> None:
    extended = {"extended_hours": True, "type": OrderType.LIMIT, "limit_price": D("100.00")}
    check_request(limit(**extended), EQUITY)
    assert rejection(limit(**extended, qty=D("1.5"))) == "extended_hours_shape"
    assert rejection(bracket(**extended)) == "extended_hours_shape"


def test_crypto_takes_market_limit_and_stop_limit_orders_only() -> None:
    crypto = {"symbol": "BTC/USD", "qty": D("0.01"), "time_in_force": TimeInForce.GTC}
    check_request(limit(**crypto, limit_price=D("90000.5")), CRYPTO)
    stop = request(**crypto, type=OrderType.STOP, stop_price=D(90000))
    assert rejection(stop, CRYPTO) == "order_type_not_allowed"
    assert rejection(request(**{**crypto, "time_in_force": TimeInForce.FOK}), CRYPTO) == (
        "time_in_force_not_allowed"
    )


def test_a_gtd_expiry_must_be_aware_and_ahead() -> None:
    now = datetime(2026, 1, 5, 15, tzinfo=UTC)
    gtd = limit(time_in_force=TimeInForce.GTD, expires_at=now + timedelta(days=1))
    check_request(gtd, EQUITY, now=now)
    with pytest.raises(OrderRejected, match="past"):
        check_request(replace(gtd, expires_at=now), EQUITY, now=now)
    with pytest.raises(OrderRejected, match="time zone"):
        check_request(
            replace(gtd, expires_at=datetime(2026, 1, 6, 15)),  # noqa: DTZ001 - the point
            EQUITY,
            now=now,
        )


def test_a_notional_order_completes_on_the_venues_final_fill() -> None:
    notional = order(request=request(qty=None, notional=D(100)))
    part = notional.filled(D("0.4"), D("100.00"), T0)
    assert part.status is S.PARTIALLY_FILLED
    done = part.filled(D("0.5999"), D("100.01"), T0, final=True)
    assert done.status is S.FILLED
    assert done.filled_qty == D("0.9999")
