"""Alpaca's account API: GET /v2/account, GET /v2/account/activities[/{activity_type}].

The account is the customer's (its id is the user id). Cash is the ledger's posted cash;
buying power is what is available (cash less the holds of open orders); positions are
valued at their marks (see `alpaca_positions`), and equity is cash plus their market value.
Accounts are cash accounts: the multiplier is 1 and margin figures are zero.

Activities are FILL activities, one per execution (cash activities are not served yet).
Pages follow Alpaca: newest first unless `direction=asc`, at most `page_size` (100), and
`page_token` is the id of the last activity of the previous page.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, or_, select
from starlette.responses import Response

from finplat import ledger, onboarding
from finplat.trading.accounts import find_account, kill_switch
from finplat.trading.api.alpaca_http import (
    NEW_YORK,
    Kit,
    Reader,
    day_param,
    instant,
    limit_param,
    unprocessable,
)
from finplat.trading.api.alpaca_models import money, plain, stamp
from finplat.trading.api.alpaca_positions import valued_positions
from finplat.trading.context import TradingKit
from finplat.trading.domain.orders import OrderStatus
from finplat.trading.domain.risk import AccountTradingState
from finplat.trading.repository import from_nanos
from finplat.trading.service import account_of
from finplat.trading.store import executions, orders

router = APIRouter(include_in_schema=False)

ZERO = Decimal(0)


@dataclass(frozen=True)
class Cash:
    posted: Decimal
    available: Decimal
    restricted: bool


async def _cash(kit: TradingKit, account_id: uuid.UUID) -> Cash:
    async with kit.uows(read_only=True) as uow:
        found = [
            a
            for a in await ledger.accounts_of(uow, account_id)
            if a.kind is ledger.AccountKind.CUSTOMER_CASH and a.asset.code == kit.policy.currency
        ]
    if not found:
        return Cash(ZERO, ZERO, False)
    cash = found[0]
    scale = cash.asset.scale
    return Cash(
        Decimal(cash.posted).scaleb(-scale),
        Decimal(cash.available).scaleb(-scale),
        cash.restricted,
    )


async def account_json(kit: TradingKit, account_id: uuid.UUID) -> dict[str, object]:
    async with kit.uows(read_only=True) as uow:
        found = await find_account(uow, account_id)
        approved = await onboarding.is_kyc_approved(uow, account_id)
        halted = (await kill_switch(uow)).enabled
    account = found or await account_of(kit, account_id)  # opened on first use, as orders do
    cash = await _cash(kit, account_id)
    held = await valued_positions(kit, account_id)
    cents = [(v, Decimal(money(v.market_value))) for v in held]
    long_value = sum((value for v, value in cents if v.position.qty > 0), ZERO)
    short_value = sum((value for v, value in cents if v.position.qty < 0), ZERO)
    last_close = sum(
        (Decimal(money(v.lastday_value)) for v in held),
        ZERO,
    )
    equity = cash.posted + long_value + short_value
    buying_power = ZERO if cash.restricted else max(cash.available, ZERO)
    status = "ACTIVE" if approved else "ONBOARDING"
    blocked = not approved or halted or account.state is AccountTradingState.HALTED
    return {
        "id": str(account.account_id),
        "account_number": account.account_number,
        "status": status,
        "crypto_status": status,
        "currency": kit.policy.currency,
        "buying_power": money(buying_power),
        "regt_buying_power": money(buying_power),
        "daytrading_buying_power": money(ZERO),
        "effective_buying_power": money(buying_power),
        "non_marginable_buying_power": money(buying_power),
        "options_buying_power": money(buying_power),
        "cash": money(cash.posted),
        "accrued_fees": money(ZERO),
        "pending_transfer_in": money(ZERO),
        "pending_transfer_out": money(ZERO),
        "portfolio_value": money(equity),
        "pattern_day_trader": False,
        "trading_blocked": blocked,
        "transfers_blocked": account.paper,
        "account_blocked": False,
        "created_at": stamp(account.created_at),
        "trade_suspended_by_user": False,
        "multiplier": "1",
        "shorting_enabled": account.may_short,
        "equity": money(equity),
        "last_equity": money(cash.posted + last_close),
        "long_market_value": money(long_value),
        "short_market_value": money(short_value),
        "position_market_value": money(long_value - short_value),
        "initial_margin": money(ZERO),
        "maintenance_margin": money(ZERO),
        "last_maintenance_margin": money(ZERO),
        "sma": money(ZERO),
        "daytrade_count": 0,
        "balance_asof": kit.clock.now().astimezone(NEW_YORK).date().isoformat(),
        "options_approved_level": 0,
        "options_trading_level": 0,
    }


@router.get("/v2/account", name="alpaca_get_account")
async def get_account_route(principal: Reader, kit: Kit) -> Response:
    return JSONResponse(await account_json(kit, principal.user_id))


# -- activities ---------------------------------------------------------------------------------

FILL = "FILL"
#: Alpaca's activity types; finplat records FILLs (the others answer an empty list).
ACTIVITY_TYPES = frozenset(
    {
        *("FILL", "ACATC", "ACATS", "CFEE", "CIL", "CSD", "CSW", "DIV", "DIVCGL", "DIVCGS"),
        *("DIVNRA", "DIVROC", "DIVTXEX", "DIVWH", "EXTRD", "FEE", "FXTRD", "INT", "INTPNL"),
        *("JNLC", "JNLS", "MA", "MEM", "NC", "OCT", "OPASN", "OPCSH", "OPEXC", "OPEXP"),
        *("OPTRD", "PTC", "REORG", "SPIN", "SPLIT", "SWP", "VOF", "WH"),
    }
)
PAGE_SIZE = 100


def activity_id(executed_at: datetime, execution_id: uuid.UUID) -> str:
    """Alpaca's form: the time to the millisecond, then the execution's id."""
    at = executed_at.astimezone(UTC)
    return f"{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}::{execution_id}"


def _token(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.rpartition("::")[2])
    except ValueError:
        raise unprocessable("invalid page_token") from None


@dataclass(frozen=True)
class Query:
    account_id: uuid.UUID
    descending: bool
    after: datetime | None
    until: datetime | None
    page_size: int
    page_token: uuid.UUID | None


def _query(account_id: uuid.UUID, params: Mapping[str, str]) -> Query:
    direction = params.get("direction", "desc").lower() or "desc"
    if direction not in {"asc", "desc"}:
        raise unprocessable(f"invalid direction: {direction[:20]!r}; use asc or desc")
    after, until = instant(params, "after"), instant(params, "until")
    day = day_param(params, "date")
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).astimezone(UTC)
        after, until = start - timedelta(microseconds=1), start + timedelta(days=1)
    token = params.get("page_token", "")
    return Query(
        account_id,
        direction == "desc",
        after,
        until,
        limit_param(params, "page_size", default=PAGE_SIZE, most=PAGE_SIZE),
        _token(token) if token else None,
    )


async def _fills(kit: TradingKit, query: Query) -> list[dict[str, object]]:
    e = executions.c
    statement = (
        select(executions, orders.c.qty.label("order_qty"), orders.c.status.label("order_status"))
        .join(orders, orders.c.id == e.order_id)
        .where(e.account_id == query.account_id)
    )
    if query.after is not None:
        statement = statement.where(e.executed_at > query.after)
    if query.until is not None:
        statement = statement.where(e.executed_at < query.until)
    order = (e.executed_at.desc(), e.id.desc()) if query.descending else (e.executed_at, e.id)
    async with kit.uows(read_only=True) as uow:
        if query.page_token is not None:
            at = await uow.session.scalar(select(e.executed_at).where(e.id == query.page_token))
            if at is None:
                raise unprocessable("invalid page_token")
            before = e.executed_at < at if query.descending else e.executed_at > at
            tie = e.id < query.page_token if query.descending else e.id > query.page_token
            statement = statement.where(or_(before, and_(e.executed_at == at, tie)))
        rows = (await uow.session.execute(statement.order_by(*order).limit(query.page_size))).all()
        siblings = await _order_fills(uow.session, [r.order_id for r in rows])
    return [_fill_json(row, siblings[row.order_id]) for row in rows]


async def _order_fills(session: Any, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """Every execution of these orders, oldest first: for the running filled quantity."""
    found: dict[uuid.UUID, list[Any]] = {i: [] for i in order_ids}
    if not order_ids:
        return found
    e = executions.c
    rows = await session.execute(
        select(e.id, e.order_id, e.qty, e.executed_at)
        .where(e.order_id.in_(set(order_ids)))
        .order_by(e.executed_at, e.id)
    )
    for row in rows:
        found[row.order_id].append(row)
    return found


def _fill_json(row: Any, siblings: Sequence[Any]) -> dict[str, object]:
    qty = from_nanos(row.qty) or ZERO
    done = list(siblings)
    position = next(n for n, s in enumerate(done) if s.id == row.id)
    cumulative = sum((from_nanos(s.qty) or ZERO for s in done[: position + 1]), ZERO)
    ordered = from_nanos(row.order_qty)
    last = position == len(done) - 1
    if ordered is not None:
        complete = cumulative == ordered
    else:  # a notional order completes on its last fill
        complete = last and row.order_status == OrderStatus.FILLED.value
    status = OrderStatus.FILLED if complete else OrderStatus.PARTIALLY_FILLED
    if last and not complete and OrderStatus(row.order_status).is_terminal:
        status = OrderStatus(row.order_status)
    return {
        "id": activity_id(row.executed_at, row.id),
        "activity_type": FILL,
        "transaction_time": stamp(row.executed_at),
        "type": "fill" if complete else "partial_fill",
        "price": plain(from_nanos(row.price) or ZERO),
        "qty": plain(qty),
        "side": row.side,
        "symbol": row.symbol,
        "leaves_qty": plain(ordered - cumulative if ordered is not None else ZERO),
        "order_id": str(row.order_id),
        "cum_qty": plain(cumulative),
        "order_status": status.value,
    }


def _wanted(types: Sequence[str]) -> bool:
    """Whether FILLs are among the activity types asked for (all when none are named)."""
    unknown = [t for t in types if t not in ACTIVITY_TYPES]
    if unknown:
        raise unprocessable(f"invalid activity type: {unknown[0][:20]}")
    return not types or FILL in types


async def _activities(
    kit: TradingKit, account_id: uuid.UUID, params: Mapping[str, str], types: Sequence[str]
) -> Response:
    category = params.get("category", "")
    if category not in {"", "trade_activity", "non_trade_activity"}:
        raise unprocessable(f"invalid category: {category[:30]!r}")
    query = _query(account_id, params)
    if not _wanted(types) or category == "non_trade_activity":
        return JSONResponse([])
    return JSONResponse(await _fills(kit, query))


@router.get("/v2/account/activities", name="alpaca_list_activities")
async def list_activities_route(request: Request, principal: Reader, kit: Kit) -> Response:
    params = request.query_params
    types = [t.strip().upper() for t in params.get("activity_types", "").split(",") if t.strip()]
    return await _activities(kit, principal.user_id, params, types)


@router.get("/v2/account/activities/{activity_type}", name="alpaca_list_activities_of_type")
async def list_activities_of_type_route(
    activity_type: str, request: Request, principal: Reader, kit: Kit
) -> Response:
    types = [activity_type.upper()]
    return await _activities(kit, principal.user_id, request.query_params, types)
