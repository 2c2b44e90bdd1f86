"""Alpaca's orders API: POST/GET/DELETE /v2/orders, GET/PATCH/DELETE /v2/orders/{id},
GET /v2/orders:by_client_order_id.

An order with exit legs (bracket, OCO, OTO) is answered with its legs nested, as Alpaca does
for a single order; a list nests them only with `nested=true` (otherwise legs are listed as
orders of their own, with `"legs": null`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from finplat.kernel import InvalidInput
from finplat.trading import repository as repo
from finplat.trading.api.alpaca_http import (
    Kit,
    Reader,
    Trader,
    alpaca_code,
    alpaca_errors,
    flag,
    instant,
    instruments_of,
    json_body,
    limit_param,
    not_found,
    unprocessable,
)
from finplat.trading.api.alpaca_models import (
    client_order_id,
    decimal_field,
    enum_field,
    order_json,
    order_request,
)
from finplat.trading.context import TradingKit
from finplat.trading.domain.orders import Order, Side, TimeInForce
from finplat.trading.replace import replace_order
from finplat.trading.service import cancel_all, cancel_order, get_order, submit_order

#: Alpaca's paths, served at the root and left out of finplat's OpenAPI document.
router = APIRouter(include_in_schema=False)

MAX_ORDERS = 500


async def _legs(kit: TradingKit, orders: Sequence[Order]) -> dict[uuid.UUID, list[Order]]:
    wanted = [o for o in orders if o.legs]
    if not wanted:
        return {}
    async with kit.uows(read_only=True) as uow:
        return {o.id: [(await repo.load_order(uow, leg))[0] for leg in o.legs] for o in wanted}


async def orders_json(
    kit: TradingKit, orders: Sequence[Order], *, nested: bool
) -> list[dict[str, object]]:
    legs = await _legs(kit, orders) if nested else {}
    instruments = await instruments_of(kit, {o.symbol for o in orders})
    return [
        order_json(o, instruments.get(o.symbol), legs.get(o.id) if nested and o.legs else None)
        for o in orders
    ]


async def one_order(kit: TradingKit, order: Order) -> dict[str, object]:
    return (await orders_json(kit, [order], nested=True))[0]


def _order_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise not_found("order not found", "order_not_found") from None


@router.post("/v2/orders", name="alpaca_submit_order")
async def submit_order_route(request: Request, principal: Trader, kit: Kit) -> Response:
    """Place an order. A retry with a known client_order_id and the same order returns the
    original order; the same id with another order is refused (422)."""
    body = await json_body(request)
    with alpaca_errors():
        submitted = await submit_order(kit, principal.user_id, order_request(body))
    return JSONResponse(await one_order(kit, submitted.order))


@router.get("/v2/orders", name="alpaca_list_orders")
async def list_orders_route(request: Request, principal: Reader, kit: Kit) -> Response:
    params = request.query_params
    status = params.get("status", "open").lower() or "open"
    if status not in {"open", "closed", "all"}:
        raise unprocessable(f"invalid status: {status[:20]!r}; use open, closed or all")
    direction = params.get("direction", "desc").lower() or "desc"
    if direction not in {"asc", "desc"}:
        raise unprocessable(f"invalid direction: {direction[:20]!r}; use asc or desc")
    side = None
    if params.get("side"):
        with alpaca_errors():
            side = enum_field(params, "side", Side)
    symbols = [s.strip().upper() for s in params.get("symbols", "").split(",") if s.strip()]
    nested = flag(params, "nested")
    async with kit.uows(read_only=True) as uow:
        found = await repo.list_orders(
            uow,
            principal.user_id,
            status=status,
            symbols=symbols,
            side=side,
            after=instant(params, "after"),
            until=instant(params, "until"),
            limit=limit_param(params, "limit", default=50, most=MAX_ORDERS),
            newest_first=direction == "desc",
        )
    if nested:
        found = [o for o in found if o.parent_id is None]
    return JSONResponse(await orders_json(kit, found, nested=nested))


@router.get("/v2/orders:by_client_order_id", name="alpaca_get_order_by_client_id")
async def get_by_client_id_route(request: Request, principal: Reader, kit: Kit) -> Response:
    wanted = request.query_params.get("client_order_id", "")
    if not wanted:
        raise unprocessable("client_order_id is required")
    async with kit.uows(read_only=True) as uow:
        found = await repo.by_client_order_id(uow, principal.user_id, wanted)
    if found is None:
        raise not_found("order not found", "order_not_found")
    return JSONResponse(await one_order(kit, found[0]))


@router.get("/v2/orders/{order_id}", name="alpaca_get_order")
async def get_order_route(order_id: str, principal: Reader, kit: Kit) -> Response:
    with alpaca_errors():
        order = await get_order(kit, _order_id(order_id), account_id=principal.user_id)
    return JSONResponse(await one_order(kit, order))


REPLACE_FIELDS = frozenset(
    {"qty", "time_in_force", "limit_price", "stop_price", "trail", "client_order_id"}
)


def _replacement(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - REPLACE_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field: {unknown[0][:40]}", code="invalid_order_request")
    tif = enum_field(body, "time_in_force", TimeInForce) if body.get("time_in_force") else None
    return {
        "qty": decimal_field(body, "qty"),
        "limit_price": decimal_field(body, "limit_price"),
        "stop_price": decimal_field(body, "stop_price"),
        "trail": decimal_field(body, "trail"),
        "time_in_force": tif,
        "client_order_id": client_order_id(body),
    }


@router.patch("/v2/orders/{order_id}", name="alpaca_replace_order")
async def replace_order_route(
    order_id: str, request: Request, principal: Trader, kit: Kit
) -> Response:
    """Replace an order with a new one (returned); the old one becomes `replaced`."""
    wanted = _order_id(order_id)
    body = await json_body(request)
    with alpaca_errors():
        new = await replace_order(kit, principal.user_id, wanted, **_replacement(body))
    return JSONResponse(await one_order(kit, new))


@router.delete("/v2/orders/{order_id}", name="alpaca_cancel_order", status_code=204)
async def cancel_order_route(order_id: str, principal: Trader, kit: Kit) -> Response:
    with alpaca_errors():
        await cancel_order(kit, _order_id(order_id), account_id=principal.user_id)
    return Response(status_code=204)


@router.delete("/v2/orders", name="alpaca_cancel_all_orders", status_code=207)
async def cancel_all_route(principal: Trader, kit: Kit) -> Response:
    """Cancel every open order: a multi-status list, one `{id, status, body}` per order."""
    with alpaca_errors():
        results = await cancel_all(kit, principal.user_id)
    canceled = [outcome for _, _, outcome in results if isinstance(outcome, Order)]
    rendered = await orders_json(kit, canceled, nested=False)
    by_id = {order.id: body for order, body in zip(canceled, rendered, strict=True)}
    answers = []
    for order_id, status, outcome in results:
        if isinstance(outcome, Order):
            body: dict[str, object] = by_id[outcome.id]
        else:
            body = {"code": alpaca_code(status), "message": outcome}
        answers.append({"id": str(order_id), "status": status, "body": body})
    return JSONResponse(answers, status_code=207)
