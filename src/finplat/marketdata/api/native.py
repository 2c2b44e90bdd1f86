"""Native market data routes under /api/v1/marketdata: instruments, bars, quotes, the clock
and the calendar. Prices and sizes are decimal strings."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from finplat.identity import Permission, Principal, require
from finplat.kernel import InvalidInput
from finplat.marketdata.bars import read_bars
from finplat.marketdata.calendars import (
    AlwaysOpenCalendar,
    TradingCalendar,
    calendar_for,
    exchange_calendar,
)
from finplat.marketdata.context import MarketDataKit
from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    InstrumentStatus,
    Quote,
    Timeframe,
    Trade,
)
from finplat.marketdata.instruments import get_instrument, list_instruments
from finplat.marketdata.service import snapshot
from finplat.platform.http import DecimalString

router = APIRouter(prefix="/marketdata", tags=["marketdata"])

Reader = Annotated[Principal, require(Permission.MARKETDATA_READ)]
MAX_BARS = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_CENTS = Decimal("0.01")


def _price(value: Decimal) -> Decimal:
    """Prices read as money: at least two decimals (242 -> 242.00), never rounded."""
    return value.quantize(_CENTS) if value.as_tuple().exponent > -2 else value  # type: ignore[operator]


def _kit(request: Request) -> MarketDataKit:
    kit = request.app.state.marketdata
    assert isinstance(kit, MarketDataKit)  # noqa: S101 - wired by the composition root
    return kit


Kit = Annotated[MarketDataKit, Depends(_kit)]


class InstrumentOut(BaseModel):
    id: str
    symbol: str
    name: str
    asset_class: AssetClass
    exchange: str
    currency: str
    tick_size: DecimalString
    lot_size: DecimalString
    min_order_size: DecimalString
    fractionable: bool
    shortable: bool
    easy_to_borrow: bool
    marginable: bool
    status: InstrumentStatus
    tradable: bool
    venue: str

    @classmethod
    def of(cls, instrument: Instrument) -> InstrumentOut:
        return cls(
            id=str(instrument.id),
            symbol=instrument.symbol,
            name=instrument.name,
            asset_class=instrument.asset_class,
            exchange=instrument.exchange,
            currency=instrument.currency,
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
            min_order_size=instrument.min_order_size,
            fractionable=instrument.fractionable,
            shortable=instrument.shortable,
            easy_to_borrow=instrument.easy_to_borrow,
            marginable=instrument.marginable,
            status=instrument.status,
            tradable=instrument.tradable,
            venue=instrument.venue.value,
        )


class BarOut(BaseModel):
    start: datetime
    open: DecimalString
    high: DecimalString
    low: DecimalString
    close: DecimalString
    volume: DecimalString
    trade_count: int
    vwap: DecimalString

    @classmethod
    def of(cls, bar: Bar) -> BarOut:
        return cls(
            start=bar.start,
            open=_price(bar.open),
            high=_price(bar.high),
            low=_price(bar.low),
            close=_price(bar.close),
            volume=bar.volume,
            trade_count=bar.trade_count,
            vwap=_price(bar.vwap),
        )


class BarsOut(BaseModel):
    symbol: str
    timeframe: Timeframe
    bars: list[BarOut]
    next_page_token: str | None


class QuoteOut(BaseModel):
    bid_price: DecimalString
    bid_size: DecimalString
    ask_price: DecimalString
    ask_size: DecimalString
    timestamp: datetime
    stale: bool

    @classmethod
    def of(cls, quote: Quote) -> QuoteOut:
        return cls(
            bid_price=_price(quote.bid_price),
            bid_size=quote.bid_size,
            ask_price=_price(quote.ask_price),
            ask_size=quote.ask_size,
            timestamp=quote.timestamp,
            stale=quote.stale,
        )


class TradeOut(BaseModel):
    price: DecimalString
    size: DecimalString
    timestamp: datetime

    @classmethod
    def of(cls, trade: Trade) -> TradeOut:
        return cls(price=_price(trade.price), size=trade.size, timestamp=trade.timestamp)


class SnapshotOut(BaseModel):
    symbol: str
    market_open: bool
    latest_quote: QuoteOut | None
    latest_trade: TradeOut | None
    minute_bar: BarOut | None
    daily_bar: BarOut | None
    previous_daily_bar: BarOut | None
    change: DecimalString | None = None  # last price less the previous daily close
    change_percent: DecimalString | None = None


class ClockOut(BaseModel):
    asset_class: AssetClass
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class SessionOut(BaseModel):
    date: date
    open: datetime
    close: datetime
    early_close: bool
    pre_open: datetime | None
    post_close: datetime | None


@router.get("/instruments", name="list_instruments")
async def list_instruments_route(
    _principal: Reader,
    kit: Kit,
    asset_class: AssetClass | None = None,
    status: InstrumentStatus | None = None,
    search: Annotated[str | None, Query(max_length=64)] = None,
) -> list[InstrumentOut]:
    async with kit.uows(read_only=True) as uow:
        found = await list_instruments(uow, asset_class=asset_class, status=status, search=search)
    return [InstrumentOut.of(i) for i in found]


@router.get("/instruments/{symbol:path}", name="get_instrument")
async def get_instrument_route(symbol: str, _principal: Reader, kit: Kit) -> InstrumentOut:
    async with kit.uows(read_only=True) as uow:
        return InstrumentOut.of(await get_instrument(uow, symbol.upper()))


def _page_token(symbol: str, start: datetime) -> str:
    raw = json.dumps([symbol, start.isoformat()]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str) -> datetime:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        _symbol, start = json.loads(raw)
        at = datetime.fromisoformat(start)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidInput("the page token is not valid", code="invalid_page_token") from error
    if at.tzinfo is None:
        raise InvalidInput("the page token is not valid", code="invalid_page_token")
    return at


def _aware(at: datetime | None, default: datetime) -> datetime:
    if at is None:
        return default
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@router.get("/bars/{symbol:path}", name="get_bars")
async def get_bars_route(
    symbol: str,
    _principal: Reader,
    kit: Kit,
    timeframe: Annotated[str, Query(description="1Min, 1Hour or 1Day")] = "1Day",
    start: Annotated[
        datetime | None,
        Query(description="without it, the most recent `limit` bars before `end`, unpaged"),
    ] = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BARS)] = 1000,
    page_token: Annotated[str | None, Query(max_length=200)] = None,
) -> BarsOut:
    frame = Timeframe.parse(timeframe)
    until = _aware(end, kit.clock.now() + frame.length)
    latest = start is None and page_token is None
    since = _aware(start, EPOCH)
    if since >= until:
        raise InvalidInput("start must be before end", code="invalid_range")
    async with kit.uows(read_only=True) as uow:
        instrument = await get_instrument(uow, symbol.upper())
        after = (instrument.symbol, _read_token(page_token)) if page_token else None
        found = await read_bars(
            uow.session,
            [instrument.symbol],
            frame,
            since,
            until,
            limit=limit if latest else limit + 1,
            after=after,
            descending=latest,
        )
    if latest:
        found.reverse()
    live = kit.live.current(instrument.symbol, frame)
    if live is not None and since <= live.start < until and (latest or len(found) <= limit):
        found = [b for b in found if b.start != live.start] + [live]
        found = found[-limit:] if latest else found
    more = not latest and len(found) > limit
    page = found[:limit]
    return BarsOut(
        symbol=instrument.symbol,
        timeframe=frame,
        bars=[BarOut.of(b) for b in page],
        next_page_token=_page_token(instrument.symbol, page[-1].start) if more else None,
    )


@router.get("/snapshots/{symbol:path}", name="get_snapshot")
async def get_snapshot_route(symbol: str, _principal: Reader, kit: Kit) -> SnapshotOut:
    async with kit.uows(read_only=True) as uow:
        instrument = await get_instrument(uow, symbol.upper())
    snap = await snapshot(kit, instrument)
    last = snap.latest_trade.price if snap.latest_trade else None
    if last is None and snap.daily_bar is not None:
        last = snap.daily_bar.close
    # the change is against the last close before today: the daily bar itself when no
    # trade has formed today's bar yet (before the open, or at night)
    today = Timeframe.DAY.bucket(kit.clock.now(), instrument.timezone)
    reference = snap.daily_bar
    if reference is None or reference.start >= today:
        reference = snap.previous_daily_bar
    previous = reference.close if reference else None
    change = _price(last - previous) if last is not None and previous else None
    percent = (
        (change * 100 / previous).quantize(Decimal("0.01"))
        if change is not None and previous
        else None
    )
    return SnapshotOut(
        symbol=instrument.symbol,
        market_open=calendar_for(instrument).is_open(kit.clock.now()),
        latest_quote=QuoteOut.of(snap.latest_quote) if snap.latest_quote else None,
        latest_trade=TradeOut.of(snap.latest_trade) if snap.latest_trade else None,
        minute_bar=BarOut.of(snap.minute_bar) if snap.minute_bar else None,
        daily_bar=BarOut.of(snap.daily_bar) if snap.daily_bar else None,
        previous_daily_bar=BarOut.of(snap.previous_daily_bar) if snap.previous_daily_bar else None,
        change=change,
        change_percent=percent,
    )


@router.get("/quotes/latest", name="get_latest_quotes")
async def get_latest_quotes_route(
    _principal: Reader,
    kit: Kit,
    symbols: Annotated[str, Query(min_length=1, max_length=2000, description="comma-separated")],
) -> dict[str, QuoteOut]:
    wanted = sorted({s.strip().upper() for s in symbols.split(",") if s.strip()})
    out: dict[str, QuoteOut] = {}
    for symbol in wanted:
        quote = await kit.cache.latest_quote(symbol)
        if quote is not None:
            out[symbol] = QuoteOut.of(quote)
    return out


@router.get("/clock", name="get_market_clock")
async def get_clock_route(
    _principal: Reader, kit: Kit, asset_class: AssetClass = AssetClass.US_EQUITY
) -> ClockOut:
    clock = _calendar(asset_class).clock(kit.clock.now())
    return ClockOut(
        asset_class=asset_class,
        timestamp=clock.timestamp,
        is_open=clock.is_open,
        next_open=clock.next_open,
        next_close=clock.next_close,
    )


@router.get("/calendar", name="get_market_calendar")
async def get_calendar_route(
    _principal: Reader,
    kit: Kit,
    start: date | None = None,
    end: date | None = None,
    asset_class: AssetClass = AssetClass.US_EQUITY,
) -> list[SessionOut]:
    today = kit.clock.now().date()
    first, last = start or today, end or (start or today) + timedelta(days=30)
    if last < first or (last - first).days > 3660:
        raise InvalidInput(
            "the range must run forward and span at most ten years", code="bad_range"
        )
    return [
        SessionOut(
            date=date.fromisoformat(s.date),
            open=s.open,
            close=s.close,
            early_close=s.early_close,
            pre_open=s.pre_open,
            post_close=s.post_close,
        )
        for s in _calendar(asset_class).sessions(first, last)
    ]


def _calendar(asset_class: AssetClass) -> TradingCalendar:
    if asset_class is AssetClass.CRYPTO:
        return AlwaysOpenCalendar()
    return exchange_calendar("XNYS")
