"""The market data WebSocket: `/api/v1/stream`.

Protocol (also in docs/api-stream.md). Every frame is UTF-8 JSON text.

1. Authenticate in the first message, within 10 seconds:
   `{"action": "auth", "token": "<access JWT>"}` or
   `{"action": "auth", "key": "<api key id>", "secret": "<api key secret>"}`.
   The server answers `{"type": "success", "msg": "authenticated"}`, or
   `{"type": "error", "code": "unauthenticated", "msg": ...}` and closes with 4001. The
   principal must hold `marketdata:read` (else `permission_denied`, close 4003); a principal
   over its request rate gets `rate_limited`, close 4029.
2. `{"action": "subscribe", "quotes": ["AAPL"], "trades": ["*"], "bars": ["MSFT"]}` and
   `{"action": "unsubscribe", ...}` (any of the three lists; `*` is every symbol) are answered
   with the whole subscription: `{"type": "subscription", "quotes": [...], "trades": [...],
   "bars": [...]}`. A subscribe naming an unknown symbol changes nothing and is answered with
   an `unknown_symbol` error. Right after the answer come the latest cached quotes of the
   symbols named in `quotes` (with `"stale": true` when their feed has stopped).
3. Then market data as it comes: `{"type": "quote" | "trade" | "bar", ...}` with prices and
   sizes as decimal strings. When several messages are waiting they are sent in one frame as a
   JSON array (a client reads a frame as an object or as an array of objects); under load this
   cuts the frames, and so the system calls, per message by the batch size.

Errors (`{"type": "error", "code", "msg"}`) for malformed JSON, unknown actions, invalid or
unknown symbols and oversized messages leave the connection open; more than 20 of them within
a minute close it with 1008. Quotes are conflated per symbol (a slow client gets the newest);
trades and bars are not, and a client that lets more than 10,000 of them wait is closed with
4008 "too slow". Keep-alive is the server's: uvicorn pings every 20 s and closes a connection
that does not answer within 20 s, so the protocol has no ping message of its own.

Credentials travel in a message, not in cookies or the URL, so a page on another origin
cannot ride a signed-in browser (no cross-site WebSocket hijacking) and tokens stay out of
access logs. An access token is checked once: a connection outlives the token's expiry, as
an HTTP download that started in time would.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.exceptions import HTTPException
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

from finplat.identity import (
    IdentityKit,
    Permission,
    Principal,
    authenticate_credentials,
    authorize,
)
from finplat.kernel import Clock, PermissionDenied, Unauthenticated
from finplat.marketdata.context import MarketDataKit
from finplat.marketdata.feed import encode_tick
from finplat.marketdata.hub import ALL, Subscriber
from finplat.marketdata.instruments import list_instruments
from finplat.platform.db import UnitOfWorkFactory
from finplat.platform.http.websockets import close_quietly, run_duplex

log = logging.getLogger(__name__)

router = APIRouter(tags=["marketdata"])

STREAM_CHANNELS = ("quotes", "trades", "bars")
#: app.state attribute holding a StreamPolicy that replaces the defaults (tests, benchmarks).
POLICY_STATE = "marketdata_stream_policy"
_DIRECTORY_STATE = "marketdata_stream_symbols"

CLOSE_POLICY_VIOLATION = 1008
CLOSE_UNAUTHENTICATED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_TOO_SLOW = 4008
CLOSE_RATE_LIMITED = 4029
_REJECTIONS = {
    CLOSE_UNAUTHENTICATED: "unauthenticated",
    CLOSE_FORBIDDEN: "forbidden",
    CLOSE_RATE_LIMITED: "rate limited",
}


@dataclass(frozen=True)
class StreamPolicy:
    auth_timeout: timedelta = timedelta(seconds=10)
    #: trades and bars a connection may leave unsent before it is dropped as too slow
    max_backlog: int = 10_000
    max_message_bytes: int = 16_384
    max_symbols: int = 1_000  # per channel
    max_errors: int = 20
    error_window: timedelta = timedelta(minutes=1)
    #: several waiting messages go out as one JSON array frame; False sends one frame each
    batch: bool = True
    max_batch: int = 500
    #: how often an unknown symbol may make the instrument list reload
    directory_refresh: timedelta = timedelta(seconds=30)


def use_stream_policy(app: Any, policy: StreamPolicy) -> None:
    """Replace the stream's defaults for `app` (a FastAPI or Starlette application)."""
    setattr(app.state, POLICY_STATE, policy)


class StreamError(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg

    def message(self) -> str:
        return _encode({"type": "error", "code": self.code, "msg": self.msg})


def _encode(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"))


# -- symbols ----------------------------------------------------------------------------------


class SymbolDirectory:
    """The instrument master's symbols, held in memory so a subscription costs no query.
    Asked about a symbol it does not know, it reloads, at most once per `refresh`, so an
    instrument added while the server runs becomes subscribable."""

    def __init__(self, uows: UnitOfWorkFactory, clock: Clock, refresh: timedelta) -> None:
        self._uows = uows
        self._clock = clock
        self._refresh = refresh
        self._symbols: frozenset[str] = frozenset()
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def unknown(self, symbols: Iterable[str]) -> list[str]:
        """The symbols (other than `*`) that no instrument has, in order."""
        wanted = [s for s in symbols if s != ALL]
        missing = [s for s in wanted if s not in self._symbols]
        if missing and self._stale():
            async with self._lock:
                if self._stale():
                    await self._load()
            missing = [s for s in wanted if s not in self._symbols]
        return missing

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock.now() - self._loaded_at >= self._refresh

    async def _load(self) -> None:
        async with self._uows(read_only=True) as uow:
            found = await list_instruments(uow)
        self._symbols = frozenset(i.symbol for i in found)
        self._loaded_at = self._clock.now()


def _directory(websocket: WebSocket, kit: MarketDataKit, policy: StreamPolicy) -> SymbolDirectory:
    state = websocket.app.state
    directory = getattr(state, _DIRECTORY_STATE, None)
    if not isinstance(directory, SymbolDirectory):
        directory = SymbolDirectory(kit.uows, kit.clock, policy.directory_refresh)
        setattr(state, _DIRECTORY_STATE, directory)
    return directory


# -- authentication ---------------------------------------------------------------------------


async def authenticate(websocket: WebSocket, message: dict[str, Any]) -> Principal:
    """The principal behind an auth message, through identity's own credential rules,
    per-principal rate limit and permission check (the same as an HTTP route's)."""
    token, key, secret = message.get("token"), message.get("key"), message.get("secret")
    by_token = isinstance(token, str) and bool(token) and key is None and secret is None
    by_key = (
        isinstance(key, str) and isinstance(secret, str) and bool(key and secret) and token is None
    )
    if not (by_token or by_key):
        raise StreamError("unauthenticated", 'send {"action":"auth","token":...} or key/secret')
    kit: IdentityKit = websocket.app.state.identity
    principal = await authenticate_credentials(
        kit,
        token=token if by_token else None,
        key_id=key if by_key else None,
        secret=secret if by_key else None,
    )
    await authorize(kit, principal, Permission.MARKETDATA_READ)
    return principal


async def _handshake(
    websocket: WebSocket, policy: StreamPolicy
) -> tuple[Principal | None, int, str]:
    """Authenticate the first message: (principal, close code, error message)."""
    try:
        first = await asyncio.wait_for(websocket.receive(), policy.auth_timeout.total_seconds())
    except TimeoutError:
        seconds = policy.auth_timeout.total_seconds()
        error = StreamError("unauthenticated", f"authenticate within {seconds:g} seconds")
        return None, CLOSE_UNAUTHENTICATED, error.message()
    if first["type"] == "websocket.disconnect":
        return None, 0, ""
    try:
        message = _parse(first, policy)
        if message.get("action") != "auth":
            raise StreamError("unauthenticated", "the first message must authenticate")
        return await authenticate(websocket, message), 0, ""
    except StreamError as error:
        return None, CLOSE_UNAUTHENTICATED, StreamError("unauthenticated", error.msg).message()
    except Unauthenticated as error:
        return None, CLOSE_UNAUTHENTICATED, StreamError("unauthenticated", error.message).message()
    except PermissionDenied as error:
        return None, CLOSE_FORBIDDEN, StreamError("permission_denied", error.message).message()
    except HTTPException as error:
        if error.status_code != 429:
            raise
        return None, CLOSE_RATE_LIMITED, StreamError("rate_limited", str(error.detail)).message()


# -- client messages --------------------------------------------------------------------------


def _parse(event: Message, policy: StreamPolicy) -> dict[str, Any]:
    text = event.get("text")
    if not isinstance(text, str):
        raise StreamError("invalid_message", "send JSON as text frames")
    if len(text.encode()) > policy.max_message_bytes:
        raise StreamError(
            "message_too_large", f"messages are limited to {policy.max_message_bytes} bytes"
        )
    try:
        message = json.loads(text)
    except ValueError:
        raise StreamError("invalid_json", "the message is not valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("action"), str):
        raise StreamError("invalid_message", 'a message is an object with an "action"')
    return message


def _requested(message: dict[str, Any], policy: StreamPolicy) -> dict[str, list[str]]:
    extra = sorted(set(message) - {"action", *STREAM_CHANNELS})
    if extra:
        raise StreamError("invalid_message", f"unknown fields: {', '.join(extra)}")
    wanted: dict[str, list[str]] = {}
    for channel in STREAM_CHANNELS:
        symbols = message.get(channel, [])
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise StreamError("invalid_message", f"{channel} must be a list of symbols")
        if len(symbols) > policy.max_symbols:
            raise StreamError("too_many_symbols", f"at most {policy.max_symbols} per channel")
        wanted[channel] = list(dict.fromkeys(s.strip().upper() for s in symbols))
    return wanted


@dataclass
class Connection:
    """One authenticated client: its mailbox in the hub and its count of bad messages."""

    websocket: WebSocket
    kit: MarketDataKit
    policy: StreamPolicy
    directory: SymbolDirectory
    subscriber: Subscriber
    errors: list[datetime] = field(default_factory=list)

    def reply(self, message: str) -> None:
        """Queue a reply behind what the client already has pending, in order."""
        self.subscriber.offer("control", "", message)

    def subscription(self) -> str:
        subscriptions = self.subscriber.subscriptions
        body = {channel: sorted(subscriptions[channel]) for channel in STREAM_CHANNELS}
        return _encode({"type": "subscription", **body})

    async def handle(self, event: Message) -> None:
        message = _parse(event, self.policy)
        action = message["action"]
        if action == "subscribe":
            await self.subscribe(_requested(message, self.policy))
        elif action == "unsubscribe":
            for channel, symbols in _requested(message, self.policy).items():
                self.subscriber.unsubscribe(channel, symbols)
            self.reply(self.subscription())
        elif action == "auth":
            raise StreamError("already_authenticated", "this connection is authenticated")
        else:
            raise StreamError("unknown_action", f"unknown action {action[:40]!r}")

    async def subscribe(self, wanted: dict[str, list[str]]) -> None:
        named = sorted({symbol for symbols in wanted.values() for symbol in symbols})
        unknown = await self.directory.unknown(named)
        if unknown:
            raise StreamError("unknown_symbol", f"unknown symbols: {', '.join(unknown[:20])}")
        current = self.subscriber.subscriptions
        for channel, symbols in wanted.items():
            if len(current[channel] | set(symbols)) > self.policy.max_symbols:
                limit = self.policy.max_symbols
                raise StreamError("too_many_symbols", f"at most {limit} symbols per channel")
        for channel, symbols in wanted.items():
            self.subscriber.subscribe(channel, symbols)
        self.reply(self.subscription())
        for symbol in wanted["quotes"]:
            if symbol == ALL:
                continue
            quote = await self.kit.cache.latest_quote(symbol)
            if quote is not None:
                self.subscriber.prime("quotes", symbol, encode_tick(quote)[1])

    def count_error(self) -> bool:
        """Record a bad message; True when the client has sent too many."""
        now = self.kit.clock.now()
        self.errors = [at for at in self.errors if now - at < self.policy.error_window]
        self.errors.append(now)
        return len(self.errors) > self.policy.max_errors

    async def read(self) -> tuple[int, str]:
        """Handle client messages until it leaves (0) or must be closed (code, reason)."""
        while True:
            event = await self.websocket.receive()
            if event["type"] == "websocket.disconnect":
                return 0, ""
            try:
                await self.handle(event)
            except StreamError as error:
                self.reply(error.message())
                if self.count_error():
                    return CLOSE_POLICY_VIOLATION, "too many bad messages"

    async def write(self) -> tuple[int, str]:
        """Send what the hub offers until the mailbox is closed or overflows."""
        subscriber, websocket, policy = self.subscriber, self.websocket, self.policy
        while True:
            entries = await subscriber.next_entries(policy.max_batch)
            if not entries:
                return (CLOSE_TOO_SLOW, "too slow") if subscriber.overflowed else (0, "")
            if policy.batch and len(entries) > 1:
                await websocket.send_text("[" + ",".join(entry[2] for entry in entries) + "]")
            else:
                for entry in entries:
                    await websocket.send_text(entry[2])


def _kit(websocket: WebSocket) -> MarketDataKit:
    kit = websocket.app.state.marketdata
    assert isinstance(kit, MarketDataKit)  # noqa: S101 - wired by the composition root
    return kit


def _policy(websocket: WebSocket) -> StreamPolicy:
    policy = getattr(websocket.app.state, POLICY_STATE, None)
    return policy if isinstance(policy, StreamPolicy) else StreamPolicy()


@router.websocket("/stream", name="marketdata_stream")
async def stream(websocket: WebSocket) -> None:
    kit, policy = _kit(websocket), _policy(websocket)
    await websocket.accept()
    principal, code, error = await _handshake(websocket, policy)
    if principal is None:
        if code:
            with suppress(WebSocketDisconnect, RuntimeError):
                await websocket.send_text(error)
            await close_quietly(websocket, code, _REJECTIONS[code])
        return
    try:
        await websocket.send_text(_encode({"type": "success", "msg": "authenticated"}))
    except WebSocketDisconnect:
        return
    subscriber = kit.hub.subscriber(max_backlog=policy.max_backlog)
    connection = Connection(websocket, kit, policy, _directory(websocket, kit, policy), subscriber)
    try:
        code, reason = await run_duplex(connection.read(), connection.write(), name="market data")
    finally:
        subscriber.close()
    if code:
        log.info("closing a market data stream: %s", reason, extra={"code": code})
        await close_quietly(websocket, code, reason)
