"""Alpaca's Market Data API on finplat's data, so that alpaca-py's `StockHistoricalDataClient`
and `CryptoHistoricalDataClient` work unmodified with `url_override`.

Stocks are under /v2/stocks, crypto under /v1beta3/crypto/us. Alpaca's wire shapes are kept:
one-letter keys, prices and sizes as JSON numbers, results keyed by symbol, an opaque
`next_page_token`, and errors as `{"code": 40010001, "message": ...}` (`alpaca_error`, which
the composition root registers for /v2 and /v1beta3 through `ALPACA_ERROR_FORMATS`).
Symbols that are not instruments of the market asked about are left out of the results
(`null` in snapshots), as Alpaca does; a malformed symbol is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from finplat.identity import Permission, Principal, require
from finplat.marketdata.bars import latest_bars, read_bars
from finplat.marketdata.codec import iso
from finplat.marketdata.context import MarketDataKit
from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    InvalidMarketData,
    Quote,
    Timeframe,
    Trade,
    plain,
)
from finplat.marketdata.instruments import find_instrument
from finplat.marketdata.service import snapshot
from finplat.platform.http.problems import ErrorFormatter, ProblemException

# -- errors -------------------------------------------------------------------------------------

#: Alpaca's error codes by HTTP status; others follow its pattern (status, then 10000).
ALPACA_CODES = {
    400: 40010001,
    401: 40110000,
    403: 40310000,
    404: 40410000,
    422: 42210000,
    429: 42910000,
    500: 50010000,
}


def alpaca_error(status: int, code: str, message: str) -> Response:
    """An error in Alpaca's shape; `code` (finplat's) is dropped, as Alpaca has no place
    for it."""
    number = ALPACA_CODES.get(status, status * 100_000 + 10_000)
    return JSONResponse({"code": number, "message": message}, status_code=status)


#: For `HttpAppSpec.error_formats`: Alpaca's paths answer errors in Alpaca's shape.
ALPACA_ERROR_FORMATS: tuple[tuple[str, ErrorFormatter], ...] = (
    ("/v2", alpaca_error),
    ("/v1beta3", alpaca_error),
)


def _bad(message: str) -> ProblemException:
    return ProblemException(400, "bad_request", message)


# -- JSON with exact numbers ------------------------------------------------------------------


def _json(value: object) -> str:
    # Alpaca sends prices and sizes as JSON numbers. The number text is written from the
    # exact Decimal here, so no float ever rounds a value on our side (the client may).
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return json.dumps(value)


class AlpacaJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _json(content).encode()


# -- wire shapes ------------------------------------------------------------------------------

#: Alpaca's one-letter codes for listing exchanges (MIC). finplat keeps no per-tick venue, so
#: a quote's or trade's exchange is its instrument's listing exchange.
_EXCHANGE_CODES = {"XNAS": "Q", "XNYS": "N", "ARCX": "P", "BATS": "Z", "XASE": "A", "IEXG": "V"}
#: The consolidated tape follows the listing: A for NYSE, C for Nasdaq, B for the rest.
_TAPES = {"XNYS": "A", "XNAS": "C"}


def bar_json(bar: Bar) -> dict[str, object]:
    return {
        "t": iso(bar.start),
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
        "n": bar.trade_count,
        "vw": bar.vwap,
    }


def quote_json(quote: Quote, instrument: Instrument) -> dict[str, object]:
    prices: dict[str, object] = {
        "t": iso(quote.timestamp),
        "bp": quote.bid_price,
        "bs": quote.bid_size,
        "ap": quote.ask_price,
        "as": quote.ask_size,
    }
    if instrument.asset_class is AssetClass.CRYPTO:
        return prices
    venue = _EXCHANGE_CODES.get(instrument.exchange, instrument.exchange)
    return {**prices, "ax": venue, "bx": venue, "c": [], "z": _TAPES.get(instrument.exchange, "B")}


def trade_json(trade: Trade, instrument: Instrument) -> dict[str, object]:
    sale: dict[str, object] = {
        "t": iso(trade.timestamp),
        "p": trade.price,
        "s": trade.size,
        "i": trade.trade_id,
    }
    if instrument.asset_class is AssetClass.CRYPTO:
        return sale
    venue = _EXCHANGE_CODES.get(instrument.exchange, instrument.exchange)
    return {**sale, "x": venue, "c": [], "z": _TAPES.get(instrument.exchange, "B")}


# -- request parameters -----------------------------------------------------------------------


@dataclass(frozen=True)
class Market:
    asset_class: AssetClass
    zone: ZoneInfo  # where a bare date (and the default start, today) is midnight


STOCKS = Market(AssetClass.US_EQUITY, ZoneInfo("America/New_York"))
CRYPTO = Market(AssetClass.CRYPTO, ZoneInfo("UTC"))

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1000
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9./-]{0,23}$")
_FEEDS = frozenset({"iex", "sip", "delayed_sip", "otc", "boats", "overnight"})
_ADJUSTMENTS = frozenset({"raw", "split", "dividend", "spin-off", "all"})
_CURRENCIES = frozenset({"USD"})  # prices are kept in USD; there is no conversion
_MICROSECOND = timedelta(microseconds=1)


def _symbols(params: Mapping[str, str]) -> list[str]:
    text = params.get("symbols", "")
    symbols = sorted({s.strip().upper() for s in text.split(",") if s.strip()})
    if not symbols:
        raise _bad("missing symbols")
    for symbol in symbols:
        if not _SYMBOL.match(symbol):
            raise _bad(f"invalid symbol: {symbol}")
    return symbols


def _limit(params: Mapping[str, str]) -> int:
    text = params.get("limit", "").strip()
    if not text:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise _bad(f"invalid limit: {text!r}; it must be between 1 and {MAX_LIMIT}")
    return int(text)


def _instant(params: Mapping[str, str], name: str, zone: ZoneInfo) -> datetime | None:
    """RFC 3339, or a bare date meaning midnight in the market's zone."""
    text = params.get(name, "").strip().replace(" ", "+")  # an unescaped '+' arrives as ' '
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(f"invalid {name}: {text!r} is neither RFC 3339 nor YYYY-MM-DD") from None
    if at.tzinfo is None:
        raise _bad(f"invalid {name}: {text!r} has no time zone offset (RFC 3339 needs one)")
    return at.astimezone(UTC)


def _check_options(params: Mapping[str, str], market: Market) -> None:
    """Options that change nothing here are accepted when valid and otherwise refused."""
    if market is STOCKS and params.get("feed", "iex").lower() not in _FEEDS:
        raise _bad(f"invalid feed: {params['feed']!r}")
    adjustments = params.get("adjustment", "raw").lower().split(",")
    if not set(adjustments) <= _ADJUSTMENTS:
        raise _bad(f"invalid adjustment: {params['adjustment']!r}")
    asof = params.get("asof", "-")
    if asof not in {"", "-"}:
        try:
            date.fromisoformat(asof)
        except ValueError:
            raise _bad(f"invalid asof: {asof!r}; use YYYY-MM-DD") from None
    if params.get("currency", "USD").upper() not in _CURRENCIES:
        raise _bad(f"unsupported currency: {params['currency']!r}; prices are in USD")


@dataclass(frozen=True)
class Cursor:
    """Where the previous page stopped: the last symbol and time served, and how many items
    at exactly that time were served (ticks may share a timestamp; bars never do)."""

    symbol: str
    at: datetime
    served_at: int = 0


def _page_token(cursor: Cursor) -> str:
    raw = json.dumps([cursor.symbol, cursor.at.isoformat(), cursor.served_at]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_page_token(token: str, symbols: Sequence[str]) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        symbol, at_text, served = json.loads(raw)
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, ValueError, TypeError):
        raise _bad("invalid page_token") from None
    valid = symbol in symbols and at.tzinfo is not None and type(served) is int and served >= 0
    if not valid:
        raise _bad("invalid page_token")
    return Cursor(symbol, at, served)


@dataclass(frozen=True)
class Window:
    """A page request: symbols in order, [start, end) with end exclusive (Alpaca's `end` is
    inclusive, so one microsecond is added to it), and where to resume."""

    symbols: list[str]
    start: datetime
    end: datetime
    limit: int
    descending: bool
    after: Cursor | None


def _window(params: Mapping[str, str], market: Market, now: datetime) -> Window:
    _check_options(params, market)
    symbols = _symbols(params)
    today = Timeframe.DAY.bucket(now, market.zone)
    start = _instant(params, "start", market.zone) or today
    end = _instant(params, "end", market.zone) or now
    if end < start:
        raise _bad("end should not be before start")
    sort = params.get("sort", "asc").lower()
    if sort not in {"asc", "desc"}:
        raise _bad(f"invalid sort: {params['sort']!r}; use asc or desc")
    token = params.get("page_token", "")
    after = _read_page_token(token, symbols) if token else None
    return Window(symbols, start, end + _MICROSECOND, _limit(params), sort == "desc", after)


# -- reading ----------------------------------------------------------------------------------


def _kit(request: Request) -> MarketDataKit:
    kit = request.app.state.marketdata
    assert isinstance(kit, MarketDataKit)  # noqa: S101 - wired by the composition root
    return kit


Kit = Annotated[MarketDataKit, Depends(_kit)]
Reader = Annotated[Principal, require(Permission.MARKETDATA_READ)]


async def _instruments(
    kit: MarketDataKit, symbols: Sequence[str], market: Market
) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    async with kit.uows(read_only=True) as uow:
        for symbol in symbols:
            instrument = await find_instrument(uow, symbol)
            if instrument is not None and instrument.asset_class is market.asset_class:
                found[symbol] = instrument
    return found


def _pending(window: Window, known: Mapping[str, Instrument]) -> list[str]:
    """The known symbols still to serve, resuming at the cursor's symbol."""
    first = window.after.symbol if window.after else ""
    return [s for s in window.symbols if s in known and s >= first]


def _resumes(window: Window, symbol: str) -> Cursor | None:
    return window.after if window.after and window.after.symbol == symbol else None


def _with_live(bars: list[Bar], live: Bar | None, window: Window, want: int) -> list[Bar]:
    """Stored bars with the bar forming now in its place (it replaces its saved state). The
    stored bars are a prefix of the symbol's run, so placing the live bar and cutting to
    `want` leaves the right prefix whether or not the live bar falls inside it."""
    if live is None or not window.start <= live.start < window.end:
        return bars
    cursor = _resumes(window, live.symbol)
    if cursor and (live.start >= cursor.at if window.descending else live.start <= cursor.at):
        return bars
    merged = [b for b in bars if b.start != live.start] + [live]
    return sorted(merged, key=lambda b: b.start, reverse=window.descending)[:want]


async def _bars_page(
    kit: MarketDataKit,
    session: AsyncSession,
    known: Mapping[str, Instrument],
    timeframe: Timeframe,
    window: Window,
) -> tuple[dict[str, list[Bar]], str | None]:
    """Up to `limit` bars over all symbols, by symbol then time (Alpaca's order); one more
    is read to know whether another page follows."""
    page: list[Bar] = []
    for symbol in _pending(window, known):
        want = window.limit + 1 - len(page)
        cursor = _resumes(window, symbol)
        stored = await read_bars(
            session,
            [symbol],
            timeframe,
            window.start,
            window.end,
            limit=want,
            after=(symbol, cursor.at) if cursor else None,
            descending=window.descending,
        )
        page += _with_live(stored, kit.live.current(symbol, timeframe), window, want)
        if len(page) > window.limit:
            break
    token = None
    if len(page) > window.limit:
        page = page[: window.limit]
        token = _page_token(Cursor(page[-1].symbol, page[-1].start))
    grouped: dict[str, list[Bar]] = {}
    for bar in page:
        grouped.setdefault(bar.symbol, []).append(bar)
    return grouped, token


_Tick = TypeVar("_Tick", Quote, Trade)
#: Reads a symbol's ticks in [start, end), oldest first, at most `limit` of them.
_TickReader = Callable[[str, datetime, datetime, int], Awaitable[list[_Tick]]]
#: The cache keeps a bounded window per symbol; a descending read takes all of it.
_WHOLE_WINDOW = 1_000_000


async def _ticks_page(
    read: _TickReader[_Tick], known: Mapping[str, Instrument], window: Window
) -> tuple[dict[str, list[_Tick]], str | None]:
    """Like `_bars_page`, from the cache's recent window. A cursor resumes at its time and
    skips the items at that time that were already served."""
    page: list[_Tick] = []
    for symbol in _pending(window, known):
        want = window.limit + 1 - len(page)
        cursor = _resumes(window, symbol)
        skip = cursor.served_at if cursor else 0
        if window.descending:
            end = cursor.at + _MICROSECOND if cursor else window.end
            ticks = await read(symbol, window.start, min(end, window.end), _WHOLE_WINDOW)
            ticks = sorted(ticks, key=lambda t: t.timestamp)[::-1]
        else:
            start = max(cursor.at, window.start) if cursor else window.start
            ticks = await read(symbol, start, window.end, want + skip)
            ticks = sorted(ticks, key=lambda t: t.timestamp)
        if cursor:
            while skip and ticks and ticks[0].timestamp == cursor.at:
                ticks, skip = ticks[1:], skip - 1
        page += ticks[:want]
        if len(page) > window.limit:
            break
    token = None
    if len(page) > window.limit:
        page = page[: window.limit]
        last = page[-1]
        served = sum(1 for t in page if t.symbol == last.symbol and t.timestamp == last.timestamp)
        cursor = _resumes(window, last.symbol)
        if cursor and cursor.at == last.timestamp:
            served += cursor.served_at
        token = _page_token(Cursor(last.symbol, last.timestamp, served))
    grouped: dict[str, list[_Tick]] = {}
    for tick in page:
        grouped.setdefault(tick.symbol, []).append(tick)
    return grouped, token


async def _latest_minute_bar(kit: MarketDataKit, session: AsyncSession, symbol: str) -> Bar | None:
    live = kit.live.current(symbol, Timeframe.MINUTE)
    if live is not None:
        return live
    before = kit.clock.now() + Timeframe.MINUTE.length
    stored = await latest_bars(session, symbol, Timeframe.MINUTE, 1, before=before)
    return stored[0] if stored else None


# -- use cases behind the routes --------------------------------------------------------------


def _timeframe(params: Mapping[str, str]) -> Timeframe:
    text = params.get("timeframe", "")
    if not text:
        raise _bad("missing timeframe")
    try:
        return Timeframe.parse(text)
    except InvalidMarketData as error:
        raise _bad(error.message) from None


async def historical_bars(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, object]:
    timeframe = _timeframe(params)
    window = _window(params, market, kit.clock.now())
    known = await _instruments(kit, window.symbols, market)
    async with kit.uows(read_only=True) as uow:
        bars, token = await _bars_page(kit, uow.session, known, timeframe, window)
    return {
        "bars": {symbol: [bar_json(b) for b in items] for symbol, items in bars.items()},
        "next_page_token": token,
    }


async def historical_quotes(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, object]:
    window = _window(params, market, kit.clock.now())
    known = await _instruments(kit, window.symbols, market)
    quotes, token = await _ticks_page(kit.cache.recent_quotes, known, window)
    return {
        "quotes": {s: [quote_json(q, known[s]) for q in items] for s, items in quotes.items()},
        "next_page_token": token,
    }


async def historical_trades(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, object]:
    window = _window(params, market, kit.clock.now())
    known = await _instruments(kit, window.symbols, market)
    trades, token = await _ticks_page(kit.cache.recent_trades, known, window)
    return {
        "trades": {s: [trade_json(t, known[s]) for t in items] for s, items in trades.items()},
        "next_page_token": token,
    }


async def _known(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, Instrument]:
    _check_options(params, market)
    return await _instruments(kit, _symbols(params), market)


async def latest_quotes(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, object]:
    out: dict[str, object] = {}
    for symbol, instrument in (await _known(kit, params, market)).items():
        quote = await kit.cache.latest_quote(symbol)
        if quote is not None:
            out[symbol] = quote_json(quote, instrument)
    return {"quotes": out}


async def latest_trades(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, object]:
    out: dict[str, object] = {}
    for symbol, instrument in (await _known(kit, params, market)).items():
        trade = await kit.cache.latest_trade(symbol)
        if trade is not None:
            out[symbol] = trade_json(trade, instrument)
    return {"trades": out}


async def latest_minute_bars(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, object]:
    out: dict[str, object] = {}
    known = await _known(kit, params, market)
    async with kit.uows(read_only=True) as uow:
        for symbol in known:
            bar = await _latest_minute_bar(kit, uow.session, symbol)
            if bar is not None:
                out[symbol] = bar_json(bar)
    return {"bars": out}


def _bar_or_none(bar: Bar | None) -> object:
    return bar_json(bar) if bar else None


async def snapshots(
    kit: MarketDataKit, params: Mapping[str, str], market: Market
) -> dict[str, object]:
    """Each requested symbol's snapshot, `null` for a symbol that is not an instrument. Stock
    snapshots are the top-level object; crypto ones sit under "snapshots" (as Alpaca has it)."""
    _check_options(params, market)
    symbols = _symbols(params)
    known = await _instruments(kit, symbols, market)
    out: dict[str, object] = dict.fromkeys(symbols)
    for symbol, instrument in known.items():
        snap = await snapshot(kit, instrument)
        trade, quote = snap.latest_trade, snap.latest_quote
        out[symbol] = {
            "latestTrade": trade_json(trade, instrument) if trade else None,
            "latestQuote": quote_json(quote, instrument) if quote else None,
            "minuteBar": _bar_or_none(snap.minute_bar),
            "dailyBar": _bar_or_none(snap.daily_bar),
            "prevDailyBar": _bar_or_none(snap.previous_daily_bar),
        }
    return out if market is STOCKS else {"snapshots": out}


# -- routes -----------------------------------------------------------------------------------

#: Alpaca's paths are kept, so this router is served at the root, not under /api/v1. It is
#: left out of the OpenAPI document, which describes finplat's own API.
router = APIRouter(include_in_schema=False)

_UseCase = Callable[[MarketDataKit, Mapping[str, str], Market], Awaitable[dict[str, object]]]

ROUTES: tuple[tuple[str, str, _UseCase, Market], ...] = (
    ("/v2/stocks/bars", "alpaca_stock_bars", historical_bars, STOCKS),
    ("/v2/stocks/bars/latest", "alpaca_stock_latest_bars", latest_minute_bars, STOCKS),
    ("/v2/stocks/quotes", "alpaca_stock_quotes", historical_quotes, STOCKS),
    ("/v2/stocks/quotes/latest", "alpaca_stock_latest_quotes", latest_quotes, STOCKS),
    ("/v2/stocks/trades", "alpaca_stock_trades", historical_trades, STOCKS),
    ("/v2/stocks/trades/latest", "alpaca_stock_latest_trades", latest_trades, STOCKS),
    ("/v2/stocks/snapshots", "alpaca_stock_snapshots", snapshots, STOCKS),
    ("/v1beta3/crypto/us/bars", "alpaca_crypto_bars", historical_bars, CRYPTO),
    ("/v1beta3/crypto/us/latest/bars", "alpaca_crypto_latest_bars", latest_minute_bars, CRYPTO),
    ("/v1beta3/crypto/us/quotes", "alpaca_crypto_quotes", historical_quotes, CRYPTO),
    ("/v1beta3/crypto/us/latest/quotes", "alpaca_crypto_latest_quotes", latest_quotes, CRYPTO),
    ("/v1beta3/crypto/us/trades", "alpaca_crypto_trades", historical_trades, CRYPTO),
    ("/v1beta3/crypto/us/latest/trades", "alpaca_crypto_latest_trades", latest_trades, CRYPTO),
    ("/v1beta3/crypto/us/snapshots", "alpaca_crypto_snapshots", snapshots, CRYPTO),
)


def _endpoint(use_case: _UseCase, market: Market) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, _principal: Reader, kit: Kit) -> Response:
        return AlpacaJSON(await use_case(kit, request.query_params, market))

    return endpoint


for _path, _name, _use_case, _market in ROUTES:
    router.add_api_route(_path, _endpoint(_use_case, _market), methods=["GET"], name=_name)
