"""Alpaca Market Data API v2: historical bars over REST (httpx), quotes and trades over its
WebSocket stream (websockets).

Numbers are read from the JSON text straight into `Decimal` (`parse_float=Decimal`); no price
or size passes through a float. Stock symbols go to `/v2/...`, crypto pairs ("BTC/USD") to
`/v1beta3/crypto/us...`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from finplat.kernel import Clock, InvalidInput, Unavailable
from finplat.marketdata.domain import SCALE, Bar, InvalidMarketData, Quote, Tick, Timeframe, Trade
from finplat.marketdata.providers.base import FeedStopped

__all__ = [
    "AlpacaCredentialsRejected",
    "AlpacaProvider",
    "AlpacaRequestRejected",
    "AlpacaStreamAuthFailed",
    "AlpacaStreamError",
    "AlpacaUnavailable",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_T = TypeVar("_T")
JsonObject = dict[str, Any]

_STOCK_BARS: Final = "/v2/stocks/bars"
_CRYPTO_BARS: Final = "/v1beta3/crypto/us/bars"
_CRYPTO_STREAM: Final = "/v1beta3/crypto/us"
_NANO: Final = Decimal(1).scaleb(-SCALE)
# Stream error codes that reconnecting cannot cure: the credentials or the plan (402, 409),
# or what we asked for (400 invalid syntax, 405 symbol limit, 410 invalid subscribe action).
_AUTH_CODES: Final = frozenset({402, 409})
_PERMANENT_CODES: Final = frozenset({400, 405, 410}) | _AUTH_CODES


class AlpacaCredentialsRejected(Unavailable):
    """Alpaca answered 401 or 403: the key is wrong or the plan does not cover the request.
    Retrying will not help until the configuration changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="alpaca_credentials_rejected")


class AlpacaUnavailable(Unavailable):
    """Alpaca could not be reached or kept failing (5xx, 429, transport errors) past the
    retries; the caller may try again later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="alpaca_unavailable")


class AlpacaRequestRejected(InvalidInput):
    """Alpaca refused the request itself (400, 404, 422), e.g. an unknown symbol."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="alpaca_request_rejected")


class AlpacaStreamError(FeedStopped):
    """The stream stopped; `code` is Alpaca's error code when the server sent one.
    `permanent` says reconnecting with the same settings will fail again."""

    def __init__(self, message: str, *, code: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


class AlpacaStreamAuthFailed(AlpacaStreamError):
    """The stream refused the credentials or the feed (402 auth failed, 409 insufficient
    subscription): not transient."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message, code=code, permanent=True)


class AlpacaProvider:
    """Market data from Alpaca. Give it an `httpx.AsyncClient` to share a connection pool;
    otherwise it makes its own, closed by `aclose()` (or `async with`)."""

    name = "alpaca"

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        feed: str = "iex",
        rest_url: str = "https://data.alpaca.markets",
        stream_url: str = "wss://stream.data.alpaca.markets/v2",
        http: httpx.AsyncClient | None = None,
        clock: Clock,
        page_size: int = 10_000,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        handshake_timeout: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 1 <= page_size <= 10_000:
            raise ValueError("page_size must be between 1 and 10000 (Alpaca's limit)")
        self._key_id = key_id
        self._secret_key = secret_key
        self._feed = feed
        self._rest_url = rest_url.rstrip("/")
        self._stream_url = stream_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=30.0)
        self._clock = clock
        self._page_size = page_size
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_wait = max_wait
        self._handshake_timeout = handshake_timeout
        self._sleep = sleep

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AlpacaProvider:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- historical bars ------------------------------------------------------------------

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        """Bars with `start <= bar.start < end`, oldest first, across every page."""
        for moment in (start, end):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidMarketData("bar windows need timezone-aware datetimes")
        if start >= end:
            return []
        crypto = _is_crypto(symbol)
        query = {
            "symbols": symbol,
            "timeframe": Timeframe(timeframe).value,
            "start": _rfc3339(start),
            "end": _rfc3339(end),
            "limit": str(self._page_size),
            "sort": "asc",
        }
        if not crypto:
            # The crypto endpoint has one feed and no corporate actions: these are stock-only.
            query |= {"feed": self._feed, "adjustment": "raw"}
        path = _CRYPTO_BARS if crypto else _STOCK_BARS
        bars: list[Bar] = []
        seen_tokens: set[str] = set()
        token: str | None = None
        while True:
            page = await self._get(path, query if token is None else query | {"page_token": token})
            bars.extend(_page_bars(page, symbol, timeframe))
            token = page.get("next_page_token")
            if not token:
                break
            if token in seen_tokens:
                raise AlpacaUnavailable(f"Alpaca repeated the page token {token!r}")
            seen_tokens.add(token)
        # Alpaca's `end` is inclusive; the provider contract's is not.
        return [bar for bar in bars if start <= bar.start < end]

    async def _get(self, path: str, query: Mapping[str, str]) -> JsonObject:
        headers = {
            "APCA-API-KEY-ID": self._key_id,
            "APCA-API-SECRET-KEY": self._secret_key,
            "Accept": "application/json",
        }
        url = self._rest_url + path
        for attempt in range(self._max_retries + 1):
            last_try = attempt == self._max_retries
            try:
                response = await self._http.get(url, params=query, headers=headers)
            except httpx.TransportError as exc:
                if last_try:
                    raise AlpacaUnavailable(f"Alpaca unreachable: {exc!r}") from exc
                await self._wait(self._backoff_delay(attempt), f"transport error {exc!r}")
                continue
            status = response.status_code
            if status == 200:
                return _json_object(response.text)
            if status in (401, 403):
                raise AlpacaCredentialsRejected(
                    f"Alpaca refused the credentials ({status}): {_message(response)}"
                )
            if status == 429 or status >= 500:
                if last_try:
                    raise AlpacaUnavailable(
                        f"Alpaca answered {status} {_message(response)} "
                        f"{self._max_retries + 1} times"
                    )
                delay = self._rate_limit_delay(response) if status == 429 else None
                await self._wait(delay or self._backoff_delay(attempt), f"status {status}")
                continue
            raise AlpacaRequestRejected(f"Alpaca rejected {path} ({status}): {_message(response)}")
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _wait(self, delay: float, reason: str) -> None:
        if delay > self._max_wait:
            raise AlpacaUnavailable(f"Alpaca asked to wait {delay:.0f}s ({reason}); giving up")
        log.warning("alpaca retry", extra={"reason": reason, "delay_seconds": delay})
        await self._sleep(delay)

    def _backoff_delay(self, attempt: int) -> float:
        return float(self._backoff * 2**attempt)

    def _rate_limit_delay(self, response: httpx.Response) -> float | None:
        """Seconds until Alpaca accepts requests again: Retry-After (seconds or an HTTP
        date), else X-RateLimit-Reset (epoch seconds), else unknown."""
        now = self._clock.now()
        retry_after = response.headers.get("Retry-After", "").strip()
        if retry_after.isdigit():
            return float(retry_after)
        if retry_after:
            try:
                return max(0.0, (parsedate_to_datetime(retry_after) - now).total_seconds())
            except (TypeError, ValueError):
                pass
        reset = response.headers.get("X-RateLimit-Reset", "").strip()
        if reset.isdigit():
            return max(0.0, int(reset) - now.timestamp())
        return None

    # -- live quotes and trades -----------------------------------------------------------

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        """Quotes and trades for `symbols`: all stocks (on the configured feed) or all crypto
        pairs, one connection per call. Raises AlpacaStreamError (a FeedStopped) when the
        connection ends, and AlpacaStreamAuthFailed when Alpaca refuses the credentials."""
        url = self._stream_endpoint(symbols)
        wanted = list(dict.fromkeys(symbols))
        try:
            # Busy feeds batch many messages in one frame; websockets' 1 MiB default is tight.
            connection = await connect(url, max_size=2**23)
            try:
                await self._handshake(connection, wanted)
                async for frame in connection:
                    for message in _frame_messages(frame):
                        tick = self._tick_or_none(message)
                        if tick is not None:
                            yield tick
            finally:
                # A consumer that stops listening is no error: close with 1000, where
                # `async with connect(...)` would send 1011 (internal error).
                await connection.close()
        except ConnectionClosed as exc:
            raise AlpacaStreamError(f"the Alpaca stream closed: {exc}") from exc
        except TimeoutError as exc:
            raise AlpacaStreamError("the Alpaca stream did not complete its handshake") from exc
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise AlpacaStreamError(f"cannot connect to the Alpaca stream: {exc!r}") from exc
        raise AlpacaStreamError("the Alpaca stream closed")

    def _stream_endpoint(self, symbols: Sequence[str]) -> str:
        if not symbols:
            raise InvalidMarketData("give at least one symbol to stream")
        crypto = {_is_crypto(symbol) for symbol in symbols}
        if len(crypto) > 1:
            raise InvalidMarketData(
                "Alpaca streams stocks and crypto on separate connections; "
                "stream them in separate calls",
                code="mixed_asset_classes",
            )
        if crypto == {True}:
            parts = urlsplit(self._stream_url)
            return f"{parts.scheme}://{parts.netloc}{_CRYPTO_STREAM}"
        return f"{self._stream_url}/{self._feed}"

    async def _handshake(self, connection: ClientConnection, symbols: list[str]) -> None:
        async with asyncio.timeout(self._handshake_timeout):
            await _await_success(connection, "connected")
            auth = {"action": "auth", "key": self._key_id, "secret": self._secret_key}
            await connection.send(json.dumps(auth))
            await _await_success(connection, "authenticated")
        subscribe = {"action": "subscribe", "trades": symbols, "quotes": symbols}
        await connection.send(json.dumps(subscribe))

    def _tick_or_none(self, message: JsonObject) -> Tick | None:
        """The quote or trade in `message`, None for anything else. One malformed message is
        logged and skipped: stopping the feed would lose every symbol's data, not one tick."""
        try:
            return self._tick(message)
        except InvalidMarketData as exc:
            log.error("alpaca malformed message", extra={"error": str(exc), "alpaca": message})
            return None

    def _tick(self, message: JsonObject) -> Tick | None:
        kind = message.get("T")
        if kind == "q":
            return Quote(
                symbol=_field(message, "S", str),
                bid_price=_decimal(message, "bp"),
                bid_size=_decimal(message, "bs"),
                ask_price=_decimal(message, "ap"),
                ask_size=_decimal(message, "as"),
                timestamp=_timestamp(message),
                provider=self.name,
            )
        if kind == "t":
            trade_id = message.get("i", 0)
            if not isinstance(trade_id, int) or isinstance(trade_id, bool):
                raise InvalidMarketData(f"Alpaca trade id {trade_id!r} is not an integer")
            return Trade(
                symbol=_field(message, "S", str),
                price=_decimal(message, "p"),
                size=_decimal(message, "s"),
                timestamp=_timestamp(message),
                trade_id=trade_id,
                provider=self.name,
            )
        if kind == "error":
            raise _stream_error(message)
        # Subscription acknowledgements and channels we did not ask for (bars, statuses...).
        return None


# -- parsing ------------------------------------------------------------------------------


def _is_crypto(symbol: str) -> bool:
    return "/" in symbol


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_object(text: str) -> JsonObject:
    try:
        value = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise AlpacaUnavailable(f"Alpaca sent a body that is not JSON: {text[:200]!r}") from exc
    if not isinstance(value, dict):
        raise AlpacaUnavailable(f"Alpaca sent {type(value).__name__} where an object belongs")
    return value


def _message(response: httpx.Response) -> str:
    try:
        body = json.loads(response.text)
    except json.JSONDecodeError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.text[:200]


def _page_bars(page: JsonObject, symbol: str, timeframe: Timeframe) -> list[Bar]:
    by_symbol = page.get("bars") or {}  # Alpaca sends {} or null when there are none
    if not isinstance(by_symbol, dict):
        raise AlpacaUnavailable("Alpaca's bars are not keyed by symbol")
    rows = by_symbol.get(symbol) or []
    return [_bar(row, symbol, timeframe) for row in rows]


def _bar(row: JsonObject, symbol: str, timeframe: Timeframe) -> Bar:
    # Alpaca's vwap is a computed mean carried to float noise (crypto: 10+ places); the
    # store keeps 9, as BarBuilder does.
    vwap = _decimal(row, "vw").quantize(_NANO, ROUND_HALF_EVEN)
    return Bar(
        symbol=symbol,
        timeframe=timeframe,
        start=_timestamp(row),
        open=_decimal(row, "o"),
        high=_decimal(row, "h"),
        low=_decimal(row, "l"),
        close=_decimal(row, "c"),
        volume=_decimal(row, "v"),
        trade_count=_field(row, "n", int),
        vwap=vwap,
    )


def _field(row: JsonObject, key: str, kind: type[_T]) -> _T:
    value = row.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidMarketData(f"Alpaca message field {key!r} is {value!r}, not {kind.__name__}")
    return value


def _decimal(row: JsonObject, key: str) -> Decimal:
    value = row.get(key)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:  # a float here would mean the JSON was parsed without parse_float=Decimal
        raise InvalidMarketData(f"Alpaca message field {key!r} is {value!r}, not a number")
    if not number.is_finite():
        raise InvalidMarketData(f"Alpaca message field {key!r} is {number}")
    return number


def _timestamp(row: JsonObject) -> datetime:
    """RFC 3339 with up to nanoseconds; Python keeps microseconds (the rest is dropped,
    never rounded up into the next microsecond)."""
    text = _field(row, "t", str)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidMarketData(f"Alpaca timestamp {text!r} is not RFC 3339") from exc
    if moment.tzinfo is None:
        raise InvalidMarketData(f"Alpaca timestamp {text!r} has no offset")
    return moment.astimezone(UTC)


def _frame_messages(frame: str | bytes) -> list[JsonObject]:
    text = frame.decode() if isinstance(frame, bytes) else frame
    try:
        value = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise AlpacaStreamError(f"Alpaca sent a frame that is not JSON: {text[:200]!r}") from exc
    messages = value if isinstance(value, list) else [value]
    if not all(isinstance(message, dict) for message in messages):
        raise AlpacaStreamError(f"Alpaca sent an unexpected frame: {text[:200]!r}")
    return messages


async def _await_success(connection: ClientConnection, expected: str) -> None:
    """Reads frames until Alpaca's `{"T": "success", "msg": expected}` or an error."""
    while True:
        for message in _frame_messages(await connection.recv()):
            if message.get("T") == "error":
                raise _stream_error(message)
            if message.get("T") == "success" and message.get("msg") == expected:
                return


def _stream_error(message: JsonObject) -> AlpacaStreamError:
    code = message.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    text = f"Alpaca stream error {code}: {message.get('msg', '')}"
    if code in _AUTH_CODES:
        return AlpacaStreamAuthFailed(text, code=code)
    return AlpacaStreamError(text, code=code, permanent=code in _PERMANENT_CODES)
