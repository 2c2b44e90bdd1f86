"""Native trading routes under /api/v1: orders, their events, positions, the trading account,
and the staff controls (kill switch, account trading state). Decimal strings throughout."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from finplat.identity import Origin, Permission, Principal, record_audit, request_origin, require
from finplat.platform.http import DecimalString, StrictModel
from finplat.trading import repository as repo
from finplat.trading.accounts import kill_switch, set_account_state, set_kill_switch
from finplat.trading.context import TradingKit
from finplat.trading.domain.orders import (
    Leg,
    Order,
    OrderClass,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
)
from finplat.trading.domain.risk import AccountTradingState
from finplat.trading.positions import open_positions
from finplat.trading.service import cancel_all, cancel_order, get_order, submit_order
from finplat.trading.store import order_events

router = APIRouter(tags=["trading"])

Reader = Annotated[Principal, require(Permission.TRADING_READ)]
Trader = Annotated[Principal, require(Permission.TRADING_WRITE)]
Halter = Annotated[Principal, require(Permission.TRADING_HALT, mfa=True)]
RequestOrigin = Annotated[Origin, Depends(request_origin)]


def _kit(request: Request) -> TradingKit:
    kit = request.app.state.trading
    assert isinstance(kit, TradingKit)  # noqa: S101 - wired by the composition root
    return kit


Kit = Annotated[TradingKit, Depends(_kit)]


class LegIn(StrictModel):
    limit_price: DecimalString | None = None
    stop_price: DecimalString | None = None


class OrderIn(StrictModel):
    symbol: str = Field(min_length=1, max_length=24)
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    qty: DecimalString | None = None
    notional: DecimalString | None = None
    limit_price: DecimalString | None = None
    stop_price: DecimalString | None = None
    trail_price: DecimalString | None = None
    trail_percent: DecimalString | None = None
    extended_hours: bool = False
    client_order_id: str | None = Field(default=None, min_length=1, max_length=128)
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: LegIn | None = None
    stop_loss: LegIn | None = None
    expires_at: datetime | None = None

    def request(self) -> OrderRequest:
        def leg(value: LegIn | None) -> Leg | None:
            return None if value is None else Leg(value.limit_price, value.stop_price)

        return OrderRequest(
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            time_in_force=self.time_in_force,
            qty=self.qty,
            notional=self.notional,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            trail_price=self.trail_price,
            trail_percent=self.trail_percent,
            extended_hours=self.extended_hours,
            client_order_id=self.client_order_id,
            order_class=self.order_class,
            take_profit=leg(self.take_profit),
            stop_loss=leg(self.stop_loss),
            expires_at=self.expires_at,
        )


class OrderOut(BaseModel):
    id: uuid.UUID
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    order_class: str
    status: str
    venue: str
    paper: bool
    qty: DecimalString | None
    notional: DecimalString | None
    limit_price: DecimalString | None
    stop_price: DecimalString | None
    trail_price: DecimalString | None
    trail_percent: DecimalString | None
    extended_hours: bool
    filled_qty: DecimalString
    filled_avg_price: DecimalString | None
    parent_id: uuid.UUID | None
    legs: list[uuid.UUID]
    replaces: uuid.UUID | None
    replaced_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    filled_at: datetime | None
    canceled_at: datetime | None
    expired_at: datetime | None
    reject_reason: str | None

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        request = order.request
        return cls(
            id=order.id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side.value,
            type=request.type.value,
            time_in_force=request.time_in_force.value,
            order_class=request.order_class.value,
            status=order.status.value,
            venue=order.venue,
            paper=order.paper,
            qty=request.qty,
            notional=request.notional,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            trail_price=request.trail_price,
            trail_percent=request.trail_percent,
            extended_hours=request.extended_hours,
            filled_qty=order.filled_qty,
            filled_avg_price=order.filled_avg_price,
            parent_id=order.parent_id,
            legs=list(order.legs),
            replaces=order.replaces,
            replaced_by=order.replaced_by,
            created_at=order.created_at,
            updated_at=order.updated_at,
            submitted_at=order.submitted_at,
            filled_at=order.filled_at,
            canceled_at=order.canceled_at,
            expired_at=order.expired_at,
            reject_reason=order.reject_reason or None,
        )


@router.post("/orders", name="submit_order", status_code=status.HTTP_201_CREATED)
async def submit_order_route(
    body: OrderIn, principal: Trader, kit: Kit, response: Response
) -> OrderOut:
    """Place an order. Resending the same `client_order_id` with the same order returns the
    first order (200); with a different order it is refused (409)."""
    submitted = await submit_order(kit, principal.user_id, body.request())
    if submitted.replayed:
        response.status_code = status.HTTP_200_OK
    return OrderOut.of(submitted.order)


@router.get("/orders", name="list_orders")
async def list_orders_route(
    principal: Reader,
    kit: Kit,
    status_: Annotated[Literal["open", "closed", "all"], Query(alias="status")] = "open",
    symbols: Annotated[str | None, Query(max_length=2000)] = None,
    side: Side | None = None,
    after: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    direction: Literal["asc", "desc"] = "desc",
) -> list[OrderOut]:
    wanted = [s.strip().upper() for s in (symbols or "").split(",") if s.strip()]
    async with kit.uows(read_only=True) as uow:
        found = await repo.list_orders(
            uow,
            principal.user_id,
            status=status_,
            symbols=wanted,
            side=side,
            after=after,
            until=until,
            limit=limit,
            newest_first=direction == "desc",
        )
    return [OrderOut.of(o) for o in found]


@router.get("/orders/{order_id}", name="get_order")
async def get_order_route(order_id: uuid.UUID, principal: Reader, kit: Kit) -> OrderOut:
    return OrderOut.of(await get_order(kit, order_id, account_id=principal.user_id))


class OrderEventOut(BaseModel):
    seq: int
    event: str
    status: str
    qty: DecimalString | None
    price: DecimalString | None
    detail: dict[str, Any]
    event_time: datetime
    recorded_at: datetime


@router.get("/orders/{order_id}/events", name="list_order_events")
async def list_order_events_route(
    order_id: uuid.UUID, principal: Reader, kit: Kit
) -> list[OrderEventOut]:
    """The order's history: every transition, with when it happened and when it was
    recorded."""
    await get_order(kit, order_id, account_id=principal.user_id)
    async with kit.uows(read_only=True) as uow:
        rows = await uow.session.execute(
            select(order_events)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.seq)
        )
    return [
        OrderEventOut(
            seq=r.seq,
            event=r.event,
            status=r.status,
            qty=repo.from_nanos(r.qty),
            price=repo.from_nanos(r.price),
            detail=dict(r.detail),
            event_time=r.event_time,
            recorded_at=r.recorded_at,
        )
        for r in rows
    ]


@router.delete("/orders/{order_id}", name="cancel_order")
async def cancel_order_route(order_id: uuid.UUID, principal: Trader, kit: Kit) -> OrderOut:
    return OrderOut.of(await cancel_order(kit, order_id, account_id=principal.user_id))


class CancelResultOut(BaseModel):
    id: uuid.UUID
    status: int
    order: OrderOut | None
    error: str | None


@router.delete("/orders", name="cancel_all_orders")
async def cancel_all_route(principal: Trader, kit: Kit) -> list[CancelResultOut]:
    results = await cancel_all(kit, principal.user_id)
    return [
        CancelResultOut(
            id=order_id,
            status=code,
            order=OrderOut.of(outcome) if isinstance(outcome, Order) else None,
            error=outcome if isinstance(outcome, str) else None,
        )
        for order_id, code, outcome in results
    ]


class PositionOut(BaseModel):
    symbol: str
    side: str
    qty: DecimalString
    avg_entry_price: DecimalString
    cost_basis: DecimalString
    market_price: DecimalString | None
    market_value: DecimalString | None
    unrealized_pl: DecimalString | None


@router.get("/positions", name="list_positions")
async def list_positions_route(principal: Reader, kit: Kit) -> list[PositionOut]:
    async with kit.uows(read_only=True) as uow:
        held = await open_positions(uow, principal.user_id)
    out = []
    for p in held:
        quote = await kit.marketdata.cache.latest_quote(p.symbol)
        price = (quote.bid_price if p.qty > 0 else quote.ask_price) if quote else None
        value = p.qty * price if price is not None else None
        sign = 1 if p.qty > 0 else -1
        out.append(
            PositionOut(
                symbol=p.symbol,
                side=p.side,
                qty=p.qty,
                avg_entry_price=p.avg_entry_price,
                cost_basis=p.cost_basis,
                market_price=price,
                market_value=value,
                unrealized_pl=(value - sign * p.cost_basis) if value is not None else None,
            )
        )
    return out


class KillSwitchIn(StrictModel):
    enabled: bool
    reason: str = Field(min_length=3, max_length=500)


class KillSwitchOut(BaseModel):
    enabled: bool
    reason: str
    changed_by: uuid.UUID | None
    changed_at: datetime | None


@router.get("/admin/trading/kill-switch", name="get_kill_switch")
async def get_kill_switch_route(_staff: Halter, kit: Kit) -> KillSwitchOut:
    async with kit.uows(read_only=True) as uow:
        switch = await kill_switch(uow)
    return KillSwitchOut(**switch.__dict__)


@router.put("/admin/trading/kill-switch", name="set_kill_switch")
async def set_kill_switch_route(
    body: KillSwitchIn, staff: Halter, kit: Kit, origin: RequestOrigin
) -> KillSwitchOut:
    """Stop (or resume) all new orders on the platform; audited."""
    async with kit.uows() as uow:
        switch = await set_kill_switch(
            uow, enabled=body.enabled, reason=body.reason, by=staff.user_id
        )
        await record_audit(
            uow,
            action="trading.kill_switch",
            actor_id=str(staff.user_id),
            actor_type=staff.kind,
            target_type="platform",
            target_id="trading",
            ip=origin.ip,
            details={"enabled": body.enabled, "reason": body.reason},
        )
    return KillSwitchOut(**switch.__dict__)


class AccountStateIn(StrictModel):
    state: AccountTradingState
    may_short: bool | None = None
    reason: str = Field(min_length=3, max_length=500)


class TradingAccountOut(BaseModel):
    account_id: uuid.UUID
    account_number: str
    state: AccountTradingState
    paper: bool
    may_short: bool


@router.put("/admin/trading/accounts/{user_id}", name="set_trading_account_state")
async def set_account_state_route(
    user_id: uuid.UUID, body: AccountStateIn, staff: Halter, kit: Kit, origin: RequestOrigin
) -> TradingAccountOut:
    """Set a customer's trading state (active, reduce_only, halted); audited."""
    async with kit.uows() as uow:
        account = await set_account_state(uow, user_id, state=body.state, may_short=body.may_short)
        await record_audit(
            uow,
            action="trading.account_state",
            actor_id=str(staff.user_id),
            actor_type=staff.kind,
            target_type="user",
            target_id=str(user_id),
            ip=origin.ip,
            details={
                "state": body.state.value,
                "may_short": body.may_short,
                "reason": body.reason,
            },
        )
    return TradingAccountOut(
        account_id=account.account_id,
        account_number=account.account_number,
        state=account.state,
        paper=account.paper,
        may_short=account.may_short,
    )
