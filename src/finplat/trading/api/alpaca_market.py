"""Alpaca's assets, clock and calendar: GET /v2/assets, GET /v2/assets/{symbol_or_id},
GET /v2/clock, GET /v2/calendar.

The clock and the calendar are the US equity market's (NYSE hours, holidays and early
closes), in New York time as Alpaca gives them: the clock with its offset, the calendar as
`HH:MM` opens and closes, `HHMM` extended sessions and the settlement date (T+1).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from finplat import marketdata
from finplat.trading.api.alpaca_http import (
    NEW_YORK,
    Kit,
    Reader,
    alpaca_errors,
    day_param,
    not_found,
    resolve_asset,
    unprocessable,
)
from finplat.trading.api.alpaca_models import EXCHANGES, asset_attributes, asset_json, exchange_of

router = APIRouter(include_in_schema=False)

#: `calendar_for` picks a calendar by instrument; every US equity shares the NYSE calendar,
#: so this stands for all of them.
US_EQUITIES = marketdata.Instrument(
    symbol="SPY",
    name="US equities",
    asset_class=marketdata.AssetClass.US_EQUITY,
    exchange="XNYS",
    currency="USD",
    tick_size=Decimal("0.01"),
    lot_size=Decimal(1),
    fractionable=False,
    shortable=False,
)
#: The days the calendars answer for; Alpaca's whole calendar runs from 1970 to 2029.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
YEARS_AHEAD = 3
#: How far past the last day the next session (its settlement date) is looked for.
SETTLEMENT_LOOKAHEAD_DAYS = 14


def _enum(params: dict[str, str], name: str, allowed: set[str]) -> str | None:
    value = params.get(name, "")
    if not value:
        return None
    if value not in allowed:
        raise unprocessable(f"invalid {name}: {value[:30]!r}")
    return value


@router.get("/v2/assets", name="alpaca_list_assets")
async def list_assets_route(request: Request, _principal: Reader, kit: Kit) -> Response:
    params = dict(request.query_params)
    status = _enum(params, "status", {s.value for s in marketdata.InstrumentStatus})
    kind = _enum(params, "asset_class", {"us_equity", "us_option", "crypto", "crypto_perp"})
    exchange = params.get("exchange", "").upper()
    attributes = {a.strip() for a in params.get("attributes", "").split(",") if a.strip()}
    if exchange and exchange not in {*EXCHANGES.values(), "NYSEARCA", "OTC"}:
        raise unprocessable(f"invalid exchange: {exchange[:30]!r}")
    known = {c.value for c in marketdata.AssetClass}
    if kind is not None and kind not in known:
        return JSONResponse([])  # options and perpetuals are not traded here
    async with kit.uows(read_only=True) as uow:
        found = await marketdata.list_instruments(
            uow,
            asset_class=marketdata.AssetClass(kind) if kind else None,
            status=marketdata.InstrumentStatus(status) if status else None,
        )
    chosen = [
        i
        for i in found
        if (not exchange or exchange_of(i) == exchange)
        and (not attributes or attributes & set(asset_attributes(i)))
    ]
    return JSONResponse([asset_json(i) for i in chosen])


@router.get("/v2/assets/{symbol_or_asset_id:path}", name="alpaca_get_asset")
async def get_asset_route(symbol_or_asset_id: str, _principal: Reader, kit: Kit) -> Response:
    async with kit.uows(read_only=True) as uow:
        found = await resolve_asset(uow, symbol_or_asset_id)
    if found is None:
        raise not_found("asset not found", "asset_not_found")
    return JSONResponse(asset_json(found))


def _new_york(at: datetime) -> str:
    return at.astimezone(NEW_YORK).isoformat()


@router.get("/v2/clock", name="alpaca_get_clock")
async def get_clock_route(_principal: Reader, kit: Kit) -> Response:
    clock = marketdata.calendar_for(US_EQUITIES).clock(kit.clock.now())
    return JSONResponse(
        {
            "timestamp": _new_york(clock.timestamp),
            "is_open": clock.is_open,
            "next_open": _new_york(clock.next_open),
            "next_close": _new_york(clock.next_close),
        }
    )


def _local(at: datetime, pattern: str) -> str:
    return at.astimezone(NEW_YORK).strftime(pattern)


@router.get("/v2/calendar", name="alpaca_get_calendar")
async def get_calendar_route(request: Request, _principal: Reader, kit: Kit) -> Response:
    """Trading days from `start` to `end` (inclusive; by settlement date with
    `date_type=SETTLEMENT`)."""
    params = request.query_params
    today = kit.clock.now().astimezone(NEW_YORK).date()
    start = day_param(params, "start") or FIRST_DAY
    end = day_param(params, "end") or date(today.year + YEARS_AHEAD, 12, 31)
    date_type = params.get("date_type", "").upper() or "TRADING"
    if date_type not in {"TRADING", "SETTLEMENT"}:
        raise unprocessable("invalid date_type; use TRADING or SETTLEMENT")
    by_settlement = date_type == "SETTLEMENT"
    lookahead = timedelta(days=SETTLEMENT_LOOKAHEAD_DAYS)
    first = max(start, FIRST_DAY) - (lookahead if by_settlement else timedelta(0))
    first, last = max(first, FIRST_DAY), min(min(end, LAST_DAY) + lookahead, LAST_DAY)
    if first > last:
        return JSONResponse([])
    with alpaca_errors():
        sessions = marketdata.calendar_for(US_EQUITIES).sessions(first, last)
    days = []
    for session, following in pairwise(sessions):
        day = date.fromisoformat(session.date)
        settles = date.fromisoformat(following.date)
        shown = settles if by_settlement else day
        if start <= shown <= end:
            days.append(
                {
                    "date": session.date,
                    "open": _local(session.open, "%H:%M"),
                    "close": _local(session.close, "%H:%M"),
                    "session_open": _local(session.pre_open or session.open, "%H%M"),
                    "session_close": _local(session.post_close or session.close, "%H%M"),
                    "settlement_date": following.date,
                }
            )
    return JSONResponse(days)
