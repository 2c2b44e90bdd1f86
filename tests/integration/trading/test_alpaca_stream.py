"""The `trade_updates` stream (/stream) on a live uvicorn socket, driven by the `websockets`
client as alpaca-py's TradingStream drives it: authenticate, listen, then each order event
of the account, in binary frames. The stream reads no table of its own, so SQLite only."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from finplat import trading
from finplat.app import Platform, build_platform, create_app
from finplat.identity import ApiKeyScope
from finplat.kernel import ManualClock
from finplat.trading.venue import Execution
from tests.support.alpaca_trading import (
    RecordingVenue,
    alpaca_headers,
    api_key,
    mount_alpaca,
    paper_trader,
    seed_market,
)
from tests.support.identity import identity_settings

WAIT = 5.0  # seconds; a ceiling against hangs, never a timing assertion
EMAIL = "streamer@example.com"
ORDER = {
    "symbol": "AAPL",
    "qty": "2",
    "side": "buy",
    "type": "limit",
    "time_in_force": "day",
    "limit_price": "190.40",
}


@pytest.fixture
def db_backend() -> str:
    return "sqlite"


@dataclass
class Live:
    platform: Platform
    http: httpx.AsyncClient
    url: str
    key: tuple[str, str]

    async def submit(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/v2/orders", json={**ORDER, **body}, headers=alpaca_headers(self.key)
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def get(self, path: str) -> Any:
        response = await self.http.get(path, headers=alpaca_headers(self.key))
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def live(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Live]:
    settings = identity_settings(database_url, tmp_path)
    platform = build_platform(settings, clock=clock)
    platform.trading.venues["simulated"] = RecordingVenue("simulated")
    await seed_market(platform)
    await paper_trader(platform, EMAIL, Decimal(100_000))
    key = await api_key(platform, EMAIL, ApiKeyScope.TRADE)
    app = create_app(settings, platform=platform)
    mount_alpaca(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            port = sock.getsockname()[1]
            yield Live(platform, http, f"ws://127.0.0.1:{port}/stream", key)
    finally:
        server.should_exit = True
        await task
        sock.close()
        await platform.database.dispose()


class Stream:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def receive(self) -> Any:
        frame = await asyncio.wait_for(self.ws.recv(), WAIT)
        assert isinstance(frame, bytes)  # Alpaca's trading stream sends binary frames
        return json.loads(frame)

    async def send(self, message: dict[str, Any]) -> Any:
        await self.ws.send(json.dumps(message))
        return await self.receive()

    async def closed(self) -> int:
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(self.ws.recv(), WAIT)
        assert info.value.rcvd is not None
        return info.value.rcvd.code


@asynccontextmanager
async def stream(live: Live) -> AsyncIterator[Stream]:
    async with connect(live.url, open_timeout=WAIT) as ws:
        yield Stream(ws)


def authenticate(key: tuple[str, str]) -> dict[str, Any]:
    return {"action": "authenticate", "data": {"key_id": key[0], "secret_key": key[1]}}


AUTHORIZED = {"stream": "authorization", "data": {"action": "authenticate", "status": "authorized"}}
LISTEN = {"action": "listen", "data": {"streams": ["trade_updates"]}}
LISTENING = {"stream": "listening", "data": {"streams": ["trade_updates"]}}


@asynccontextmanager
async def listening(live: Live) -> AsyncIterator[Stream]:
    async with stream(live) as ws:
        assert await ws.send(authenticate(live.key)) == AUTHORIZED
        assert await ws.send(LISTEN) == LISTENING
        yield ws


async def test_order_events_arrive_as_alpaca_trade_updates(live: Live) -> None:
    async with listening(live) as ws:
        order = await live.submit(client_order_id="streamed")
        update = await ws.receive()
        assert update == {
            "stream": "trade_updates",
            "data": {"event": "new", "timestamp": "2026-01-05T14:30:00Z", "order": order},
        }
        response = await live.http.delete(
            f"/v2/orders/{order['id']}", headers=alpaca_headers(live.key)
        )
        assert response.status_code == 204
        canceled = await ws.receive()
        assert canceled["data"]["event"] == "canceled"
        assert canceled["data"]["order"] == await live.get(f"/v2/orders/{order['id']}")


async def test_a_fill_carries_price_qty_position_and_execution(live: Live) -> None:
    async with listening(live) as ws:
        order = await live.submit()
        assert (await ws.receive())["data"]["event"] == "new"
        execution = Execution(
            uuid.UUID(order["id"]),
            "venue-1",
            Decimal("0.5"),
            Decimal("190.39"),
            live.platform.clock.now(),
        )
        await trading.apply_execution(live.platform.trading, "simulated", execution)
        data = (await ws.receive())["data"]
        assert uuid.UUID(data.pop("execution_id"))
        assert {k: v for k, v in data.items() if k != "order"} == {
            "event": "partial_fill",
            "timestamp": "2026-01-05T14:30:00Z",
            "price": "190.39",
            "qty": "0.5",
            "position_qty": "0.5",
        }
        assert (data["order"]["status"], data["order"]["filled_qty"]) == ("partially_filled", "0.5")


async def test_alpacas_short_auth_form_and_listening_to_nothing(live: Live) -> None:
    async with stream(live) as ws:
        answer = await ws.send({"action": "auth", "key": live.key[0], "secret": live.key[1]})
        assert answer == AUTHORIZED
        quiet = await ws.send({"action": "listen", "data": {"streams": ["account_updates"]}})
        assert quiet == {"stream": "listening", "data": {"streams": []}}
        await live.submit(client_order_id="unheard")
        assert await ws.send(LISTEN) == LISTENING
        heard = await live.submit(client_order_id="heard")
        update = await ws.receive()
        assert update["data"]["order"]["id"] == heard["id"]
        stop = await ws.send({"action": "listen", "data": {"streams": []}})
        assert stop == {"stream": "listening", "data": {"streams": []}}
        bad = await ws.send({"action": "dance"})
        assert bad == {"stream": "listening", "data": {"error": "unknown action 'dance'"}}


async def test_other_accounts_updates_are_not_sent(live: Live) -> None:
    await paper_trader(live.platform, "other@example.com", Decimal(10_000))
    other = await api_key(live.platform, "other@example.com", ApiKeyScope.TRADE)
    async with listening(live) as ws:
        response = await live.http.post(
            "/v2/orders", json={**ORDER, "qty": "1"}, headers=alpaca_headers(other)
        )
        assert response.status_code == 200
        mine = await live.submit()
        assert (await ws.receive())["data"]["order"]["id"] == mine["id"]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"action": "authenticate", "data": {"key_id": "FPKnope", "secret_key": "x"}}, None),
        ({"action": "listen", "data": {"streams": ["trade_updates"]}}, "the first message"),
        ({"action": "authenticate", "data": {"key_id": 1, "secret_key": 2}}, "strings"),
    ],
)
async def test_unauthorized_connections_are_told_and_closed(
    live: Live, message: dict[str, Any], reason: str | None
) -> None:
    async with stream(live) as ws:
        answer = await ws.send(message)
        assert answer["stream"] == "authorization"
        assert (answer["data"]["action"], answer["data"]["status"]) == (
            "authenticate",
            "unauthorized",
        )
        if reason is not None:
            assert reason in answer["data"]["message"]
        assert await ws.closed() == 4001


async def test_a_key_without_trading_read_is_unauthorized(live: Live) -> None:
    data_only = await api_key(live.platform, EMAIL, ApiKeyScope.DATA)
    async with stream(live) as ws:
        answer = await ws.send(authenticate(data_only))
        assert answer["data"]["status"] == "unauthorized"
        assert await ws.closed() == 4001
