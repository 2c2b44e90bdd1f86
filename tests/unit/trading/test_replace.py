"""What a replacement order asks for, and which orders may be replaced (the pure part of
`trading.replace`; the transaction is tested through PATCH /v2/orders/{id})."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from finplat.kernel import BusinessRuleViolation, InvalidInput
from finplat.trading.domain.orders import (
    Order,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from finplat.trading.replace import Changes, check_replaceable, replacement

D = Decimal
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
LIMIT = OrderRequest(
    "AAPL",
    Side.BUY,
    OrderType.LIMIT,
    TimeInForce.DAY,
    qty=D(5),
    limit_price=D("190.40"),
    client_order_id="old",
)


def order(request: OrderRequest = LIMIT, **changes: object) -> Order:
    base = Order(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        client_order_id=request.client_order_id or "old",
        request=request,
        status=OrderStatus.NEW,
        created_at=T0,
        updated_at=T0,
        venue="simulated",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_unchanged_fields_are_kept_and_the_quantity_is_what_is_left() -> None:
    partly = order(status=OrderStatus.PARTIALLY_FILLED, filled_qty=D(2))
    new = replacement(partly, Changes(limit_price=D("190.35"), client_order_id="new"))
    assert new == replace(LIMIT, qty=D(3), limit_price=D("190.35"), client_order_id="new")


def test_a_new_quantity_and_time_in_force_replace_the_old_ones() -> None:
    new = replacement(order(), Changes(qty=D(7), time_in_force=TimeInForce.GTC))
    assert (new.qty, new.time_in_force, new.limit_price) == (D(7), TimeInForce.GTC, D("190.40"))
    assert new.client_order_id is not None
    assert uuid.UUID(new.client_order_id)  # a fresh id when none is given


@pytest.mark.parametrize(
    ("trail", "expected"),
    [
        ({"trail_price": D("1.50")}, (D("2.25"), None)),
        ({"trail_percent": D(2)}, (None, D("2.25"))),
    ],
)
def test_trail_replaces_whichever_trail_the_stop_has(
    trail: dict[str, Decimal], expected: tuple[Decimal | None, Decimal | None]
) -> None:
    stop = replace(
        LIMIT,
        type=OrderType.TRAILING_STOP,
        limit_price=None,
        trail_price=trail.get("trail_price"),
        trail_percent=trail.get("trail_percent"),
    )
    new = replacement(order(stop), Changes(trail=D("2.25")))
    assert (new.trail_price, new.trail_percent) == expected


def test_nothing_to_replace_and_trail_on_other_types_are_refused() -> None:
    with pytest.raises(InvalidInput, match="give at least one field"):
        replacement(order(), Changes())
    with pytest.raises(InvalidInput, match="only trailing stops take trail"):
        replacement(order(), Changes(trail=D(1)))


def test_a_legs_quantity_is_fixed() -> None:
    leg = order(parent_id=uuid.uuid4(), status=OrderStatus.HELD)
    assert replacement(leg, Changes(qty=D(5), limit_price=D(200))).qty == D(5)
    with pytest.raises(BusinessRuleViolation, match="keep their quantity"):
        replacement(leg, Changes(qty=D(4)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": OrderStatus.FILLED}, "the order is filled and cannot be replaced"),
        ({"status": OrderStatus.PENDING_CANCEL}, "is pending_cancel and cannot be replaced"),
        ({"legs": (uuid.uuid4(),)}, "a simple order with legs cannot be replaced"),
        (
            {"request": replace(LIMIT, qty=None, notional=D(100), type=OrderType.MARKET)},
            "a notional order cannot be replaced",
        ),
    ],
)
def test_which_orders_cannot_be_replaced(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BusinessRuleViolation, match=message) as info:
        check_replaceable(order(**changes))
    assert info.value.code == "order_not_replaceable"


@pytest.mark.parametrize(
    "status", [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.HELD]
)
def test_working_and_held_orders_may_be_replaced(status: OrderStatus) -> None:
    check_replaceable(order(status=status))


def test_a_bracket_entry_names_its_class() -> None:
    entry = order(replace(LIMIT, order_class=OrderClass.BRACKET), legs=(uuid.uuid4(),))
    with pytest.raises(BusinessRuleViolation, match="a bracket order with legs"):
        check_replaceable(entry)
