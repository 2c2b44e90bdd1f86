"""Alpaca's trading stream at /stream: the account's `trade_updates`.

Protocol (Alpaca's; JSON, sent in binary frames as Alpaca's trading stream does):

1. Authenticate in the first message, within 10 seconds:
   `{"action": "authenticate", "data": {"key_id": "<api key id>", "secret_key": "<secret>"}}`
   (also `{"action": "auth", "key": ..., "secret": ...}`, or `"oauth_token"` in `data` for
   an access token). Answer: `{"stream": "authorization", "data": {"action": "authenticate",
   "status": "authorized"}}`, or `"status": "unauthorized"` with a `message`, and the
   connection is closed. The key needs `trading:read`.
2. `{"action": "listen", "data": {"streams": ["trade_updates"]}}` sets the streams listened
   to (an empty list stops); the answer `{"stream": "listening", "data": {"streams": [...]}}`
   names the ones that exist here (only `trade_updates`).
3. Then each order event of the account, after the transaction that made it committed:
   `{"stream": "trade_updates", "data": {"event": "fill", "execution_id": ..., "order":
   {...}, "timestamp": ..., "price": ..., "qty": ..., "position_qty": ...}}`, with the
   order as GET /v2/orders/{id} returns it and prices and quantities as decimal strings.

A client that falls more than the updates backlog behind is closed with 4008 ("too slow"),
so that it reconnects and reads the current state over REST rather than miss updates
silently. MessagePack is not offered: a client asking for it gets JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.exceptions import HTTPException
from starlette.websockets import WebSocketDisconnect

from finplat import marketdata
from finplat.identity import (
    IdentityKit,
    Permission,
    Principal,
    authenticate_credentials,
    authorize,
)
from finplat.kernel import PermissionDenied, Unauthenticated
from finplat.platform.http.websockets import close_quietly, run_duplex
from finplat.trading.api.alpaca_models import trade_update_json
from finplat.trading.context import TradingKit
from finplat.trading.updates import Listener, TradeUpdate

log = logging.getLogger(__name__)

router = APIRouter()

TRADE_UPDATES = "trade_updates"
AUTH_TIMEOUT_SECONDS = 10.0
MAX_MESSAGE_BYTES = 16_384
CLOSE_POLICY_VIOLATION = 1008
CLOSE_UNAUTHORIZED = 4001
CLOSE_TOO_SLOW = 4008


class BadMessage(Exception):
    pass


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def _parse(event: Mapping[str, Any]) -> dict[str, Any]:
    raw = event.get("bytes") or event.get("text") or ""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadMessage(f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        message = json.loads(raw)
    except ValueError:
        raise BadMessage("the message is not valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("action"), str):
        raise BadMessage('a message is an object with an "action"')
    return message


def _authorization(status: str, message: str = "") -> bytes:
    data = {"action": "authenticate", "status": status}
    if message:
        data["message"] = message
    return _encode({"stream": "authorization", "data": data})


def _credentials(message: dict[str, Any]) -> dict[str, str | None]:
    data = message.get("data") if message.get("action") == "authenticate" else message
    if message.get("action") not in {"authenticate", "auth"} or not isinstance(data, dict):
        raise BadMessage("the first message must authenticate")
    fields = {
        "key_id": data.get("key_id", data.get("key")),
        "secret": data.get("secret_key", data.get("secret")),
        "token": data.get("oauth_token"),
    }
    if not all(value is None or isinstance(value, str) for value in fields.values()):
        raise BadMessage("credentials are strings")
    return fields


async def _handshake(websocket: WebSocket) -> Principal | None:
    """The principal of the first message, answered; None (answered, or gone) otherwise."""
    try:
        first = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        await websocket.send_bytes(_authorization("unauthorized", "authentication timed out"))
        return None
    if first["type"] == "websocket.disconnect":
        return None
    kit: IdentityKit = websocket.app.state.identity
    try:
        principal = await authenticate_credentials(kit, **_credentials(_parse(first)))
        await authorize(kit, principal, Permission.TRADING_READ)
    except BadMessage as error:
        await websocket.send_bytes(_authorization("unauthorized", str(error)))
        return None
    except (Unauthenticated, PermissionDenied) as error:
        await websocket.send_bytes(_authorization("unauthorized", error.message))
        return None
    except HTTPException as error:  # the per-principal rate limit
        await websocket.send_bytes(_authorization("unauthorized", str(error.detail)))
        return None
    await websocket.send_bytes(_authorization("authorized"))
    return principal


class Connection:
    """One authorized client: what it listens to, and its account's updates."""

    def __init__(self, websocket: WebSocket, kit: TradingKit, principal: Principal) -> None:
        self.websocket = websocket
        self.kit = kit
        self.account_id = principal.user_id
        self.listener: Listener | None = None
        self.wake = asyncio.Event()  # the listener changed
        self.sending = asyncio.Lock()  # replies and updates share the socket
        self.instruments: dict[str, marketdata.Instrument | None] = {}

    def listen(self, streams: list[str]) -> list[str]:
        wanted = TRADE_UPDATES in streams
        if wanted and self.listener is None:
            self.listener = self.kit.updates.listen(self.account_id)
        elif not wanted and self.listener is not None:
            self.kit.updates.forget(self.account_id, self.listener)
            self.listener = None
        self.wake.set()
        return [TRADE_UPDATES] if wanted else []

    def close(self) -> None:
        if self.listener is not None:
            self.kit.updates.forget(self.account_id, self.listener)
            self.listener = None

    async def handle(self, message: dict[str, Any]) -> bytes:
        if message["action"] != "listen":
            raise BadMessage(f"unknown action {str(message['action'])[:40]!r}")
        data = message.get("data")
        streams = data.get("streams") if isinstance(data, dict) else None
        if not isinstance(streams, list) or not all(isinstance(s, str) for s in streams):
            raise BadMessage('listen takes {"data": {"streams": [...]}}')
        listening = self.listen(streams)
        return _encode({"stream": "listening", "data": {"streams": listening}})

    async def send(self, frame: bytes) -> None:
        async with self.sending:
            await self.websocket.send_bytes(frame)

    async def read(self) -> tuple[int, str]:
        while True:
            event = await self.websocket.receive()
            if event["type"] == "websocket.disconnect":
                return 0, ""
            try:
                reply = await self.handle(_parse(event))
            except BadMessage as error:
                reply = _encode({"stream": "listening", "data": {"error": str(error)}})
            await self.send(reply)

    async def _instrument(self, symbol: str) -> marketdata.Instrument | None:
        if symbol not in self.instruments:
            async with self.kit.uows(read_only=True) as uow:
                self.instruments[symbol] = await marketdata.find_instrument(uow, symbol)
        return self.instruments[symbol]

    async def _next(self) -> TradeUpdate | None:
        """The next update, or None when the listener changed or was dropped."""
        while True:
            listener = self.listener
            if listener is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            if listener.dropped:
                return None
            self.wake.clear()
            getting = asyncio.ensure_future(listener.queue.get())
            waking = asyncio.ensure_future(self.wake.wait())
            done, _ = await asyncio.wait({getting, waking}, return_when=asyncio.FIRST_COMPLETED)
            waking.cancel()
            if getting in done:
                return getting.result()
            getting.cancel()

    async def write(self) -> tuple[int, str]:
        while True:
            update = await self._next()
            if update is None:
                return CLOSE_TOO_SLOW, "too slow"
            instrument = await self._instrument(update.order.symbol)
            await self.send(_encode(trade_update_json(update, instrument)))


@router.websocket("/stream", name="alpaca_trade_updates")
async def trade_updates(websocket: WebSocket) -> None:
    kit = websocket.app.state.trading
    assert isinstance(kit, TradingKit)  # noqa: S101 - wired by the composition root
    await websocket.accept()
    try:
        principal = await _handshake(websocket)
    except (WebSocketDisconnect, RuntimeError):  # the client left mid-handshake
        return
    if principal is None:
        await close_quietly(websocket, CLOSE_UNAUTHORIZED, "unauthorized")
        return
    connection = Connection(websocket, kit, principal)
    try:
        code, reason = await run_duplex(connection.read(), connection.write(), name="trade updates")
    finally:
        connection.close()
    if code:
        await close_quietly(websocket, code, reason)
