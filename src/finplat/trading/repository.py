"""Orders, their events and executions in the database (rows <-> the model)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row

from finplat.kernel import Conflict, NotFound
from finplat.platform.db import UnitOfWork
from finplat.trading.domain.orders import (
    Leg,
    Order,
    OrderClass,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from finplat.trading.store import executions, order_events, orders

_NANO = Decimal(1).scaleb(-9)


def nanos(value: Decimal | None) -> int | None:
    return None if value is None else int((value / _NANO).to_integral_value())


def from_nanos(value: int | None) -> Decimal | None:
    return None if value is None else (Decimal(value) * _NANO).normalize()


def _leg_doc(leg: Leg | None) -> dict[str, str | None] | None:
    if leg is None:
        return None
    return {
        "limit_price": None if leg.limit_price is None else str(leg.limit_price),
        "stop_price": None if leg.stop_price is None else str(leg.stop_price),
    }


def _leg(doc: dict[str, Any] | None) -> Leg | None:
    if doc is None:
        return None
    return Leg(
        None if doc.get("limit_price") is None else Decimal(doc["limit_price"]),
        None if doc.get("stop_price") is None else Decimal(doc["stop_price"]),
    )


def fingerprint(request: OrderRequest) -> str:
    text = json.dumps([str(part) for part in request.fingerprint()])
    return hashlib.sha256(text.encode()).hexdigest()


def _request(row: Row[Any]) -> OrderRequest:
    return OrderRequest(
        symbol=row.symbol,
        side=Side(row.side),
        type=OrderType(row.type),
        time_in_force=TimeInForce(row.time_in_force),
        qty=from_nanos(row.qty),
        notional=from_nanos(row.notional),
        limit_price=from_nanos(row.limit_price),
        stop_price=from_nanos(row.stop_price),
        trail_price=from_nanos(row.trail_price),
        trail_percent=from_nanos(row.trail_percent),
        extended_hours=row.extended_hours,
        client_order_id=row.client_order_id,
        order_class=OrderClass(row.order_class),
        take_profit=_leg(row.take_profit),
        stop_loss=_leg(row.stop_loss),
        expires_at=row.expires_at,
    )


def order_from_row(row: Row[Any], legs: tuple[uuid.UUID, ...] = ()) -> Order:
    return Order(
        id=row.id,
        account_id=row.account_id,
        client_order_id=row.client_order_id,
        request=_request(row),
        status=OrderStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        venue=row.venue,
        paper=row.paper,
        filled_qty=from_nanos(row.filled_qty) or Decimal(0),
        filled_notional=Decimal(row.filled_notional),
        parent_id=row.parent_id,
        replaces=row.replaces,
        replaced_by=row.replaced_by,
        hold_id=row.hold_id,
        triggered=row.triggered,
        high_water_mark=from_nanos(row.high_water_mark),
        submitted_at=row.submitted_at,
        filled_at=row.filled_at,
        canceled_at=row.canceled_at,
        expired_at=row.expired_at,
        failed_at=row.failed_at,
        reject_reason=row.reject_reason,
        legs=legs,
    )


def _state(order: Order) -> dict[str, Any]:
    """The columns that change over an order's life."""
    return {
        "status": order.status.value,
        "filled_qty": nanos(order.filled_qty),
        "filled_notional": str(order.filled_notional),
        "replaced_by": order.replaced_by,
        "hold_id": order.hold_id,
        "triggered": order.triggered,
        "high_water_mark": nanos(order.high_water_mark),
        "reject_reason": order.reject_reason,
        "updated_at": order.updated_at,
        "submitted_at": order.submitted_at,
        "filled_at": order.filled_at,
        "canceled_at": order.canceled_at,
        "expired_at": order.expired_at,
        "failed_at": order.failed_at,
    }


async def insert_order(uow: UnitOfWork, order: Order, *, accept_seq: int) -> None:
    request = order.request
    await uow.session.execute(
        insert(orders).values(
            id=order.id,
            account_id=order.account_id,
            client_order_id=order.client_order_id,
            fingerprint=fingerprint(request),
            symbol=request.symbol,
            side=request.side.value,
            type=request.type.value,
            time_in_force=request.time_in_force.value,
            order_class=request.order_class.value,
            qty=nanos(request.qty),
            notional=nanos(request.notional),
            limit_price=nanos(request.limit_price),
            stop_price=nanos(request.stop_price),
            trail_price=nanos(request.trail_price),
            trail_percent=nanos(request.trail_percent),
            extended_hours=request.extended_hours,
            take_profit=_leg_doc(request.take_profit),
            stop_loss=_leg_doc(request.stop_loss),
            expires_at=request.expires_at,
            venue=order.venue,
            paper=order.paper,
            parent_id=order.parent_id,
            replaces=order.replaces,
            accept_seq=accept_seq,
            version=1,
            created_at=order.created_at,
            **_state(order),
        )
    )


async def save_order(uow: UnitOfWork, order: Order, *, version: int) -> int:
    """Write `order`'s state if nobody changed the row since `version` was read; returns the
    new version. A lost race is a Conflict (the caller's transaction rolls back)."""
    result = await uow.session.execute(
        update(orders)
        .where(orders.c.id == order.id, orders.c.version == version)
        .values(version=version + 1, **_state(order))
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the order changed meanwhile; retry", code="order_changed")
    return version + 1


async def _legs_of(
    uow: UnitOfWork, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, ...]]:
    if not ids:
        return {}
    rows = await uow.session.execute(
        select(orders.c.parent_id, orders.c.id)
        .where(orders.c.parent_id.in_(list(ids)))
        .order_by(orders.c.accept_seq)
    )
    legs: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
    for parent, leg in rows:
        legs[parent] = (*legs.get(parent, ()), leg)
    return legs


async def load_order(
    uow: UnitOfWork, order_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Order, int]:
    """The order and its row version (locked for the transaction with `for_update`)."""
    query = select(orders).where(orders.c.id == order_id)
    if for_update:
        query = query.with_for_update()
    row = (await uow.session.execute(query)).one_or_none()
    if row is None:
        raise NotFound("no such order", code="order_not_found")
    legs = await _legs_of(uow, [row.id])
    return order_from_row(row, legs.get(row.id, ())), row.version


async def by_client_order_id(
    uow: UnitOfWork, account_id: uuid.UUID, client_order_id: str
) -> tuple[Order, str] | None:
    """The account's order with this client order id and its request fingerprint."""
    row = (
        await uow.session.execute(
            select(orders).where(
                orders.c.account_id == account_id, orders.c.client_order_id == client_order_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    legs = await _legs_of(uow, [row.id])
    return order_from_row(row, legs.get(row.id, ())), row.fingerprint


async def list_orders(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    *,
    status: str = "open",
    symbols: Sequence[str] = (),
    side: Side | None = None,
    after: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    newest_first: bool = True,
) -> list[Order]:
    query = select(orders).where(orders.c.account_id == account_id)
    open_statuses = [s.value for s in OrderStatus if s.is_open]
    if status == "open":
        query = query.where(orders.c.status.in_(open_statuses))
    elif status == "closed":
        query = query.where(orders.c.status.not_in(open_statuses))
    if symbols:
        query = query.where(orders.c.symbol.in_(list(symbols)))
    if side is not None:
        query = query.where(orders.c.side == side.value)
    if after is not None:
        query = query.where(orders.c.created_at > after)
    if until is not None:
        query = query.where(orders.c.created_at < until)
    order_by = (
        (orders.c.accept_seq.desc(), orders.c.id.desc())
        if newest_first
        else (orders.c.accept_seq, orders.c.id)
    )
    rows = (await uow.session.execute(query.order_by(*order_by).limit(limit))).all()
    legs = await _legs_of(uow, [row.id for row in rows])
    return [order_from_row(row, legs.get(row.id, ())) for row in rows]


async def open_orders(uow: UnitOfWork, *, venue: str | None = None) -> list[Order]:
    """Every working order (of a venue), in arrival order: what a venue rebuilds at start."""
    query = select(orders).where(orders.c.status.in_([s.value for s in OrderStatus if s.is_open]))
    if venue is not None:
        query = query.where(orders.c.venue == venue)
    rows = (await uow.session.execute(query.order_by(orders.c.accept_seq, orders.c.id))).all()
    return [order_from_row(row) for row in rows]


def arrival(at: datetime) -> int:
    """The arrival number of an order accepted at `at` (microseconds since the epoch); ties
    break on the order id, which is time-ordered too (UUIDv7)."""
    return int(at.timestamp() * 1_000_000)


async def orders_since(uow: UnitOfWork, account_id: uuid.UUID, since: datetime) -> int:
    count = await uow.session.scalar(
        select(func.count())
        .select_from(orders)
        .where(orders.c.account_id == account_id, orders.c.created_at >= since)
    )
    return int(count or 0)


async def record_event(
    uow: UnitOfWork,
    order: Order,
    event: OrderEvent,
    *,
    at: datetime,
    qty: Decimal | None = None,
    price: Decimal | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append the event (the order's status after it included); returns its sequence."""
    result = await uow.session.execute(
        insert(order_events)
        .values(
            order_id=order.id,
            account_id=order.account_id,
            event=event.value,
            status=order.status.value,
            qty=nanos(qty),
            price=nanos(price),
            detail=detail or {},
            event_time=at,
            recorded_at=uow.clock.now(),
        )
        .returning(order_events.c.seq)
    )
    return int(result.scalar_one())


async def claim_execution(
    uow: UnitOfWork,
    *,
    execution_id: uuid.UUID,
    venue: str,
    venue_execution_id: str,
    order: Order,
    qty: Decimal,
    price: Decimal,
    fee_minor: int,
    liquidity: str,
    at: datetime,
) -> bool:
    """Record an execution once: False when the venue already reported it (a replay)."""
    exists = await uow.session.scalar(
        select(executions.c.id).where(
            executions.c.venue == venue, executions.c.venue_execution_id == venue_execution_id
        )
    )
    if exists is not None:
        return False
    await uow.session.execute(
        insert(executions).values(
            id=execution_id,
            venue=venue,
            venue_execution_id=venue_execution_id,
            order_id=order.id,
            account_id=order.account_id,
            symbol=order.symbol,
            side=order.side.value,
            qty=nanos(qty),
            price=nanos(price),
            fee=fee_minor,
            liquidity=liquidity,
            executed_at=at,
            recorded_at=uow.clock.now(),
        )
    )
    return True


async def link_execution(uow: UnitOfWork, execution_id: uuid.UUID, entry_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(executions).where(executions.c.id == execution_id).values(ledger_entry_id=entry_id)
    )
