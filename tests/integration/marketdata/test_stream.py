"""The market data WebSocket on a live uvicorn socket, driven by the `websockets` client:
authentication, subscriptions, delivery from the hub, errors and the slow-client drop.

The stream reads no table but the instrument list, so these tests run on SQLite only. The
instruments are inserted inactive so that the simulated feed, which streams the active
ones, stays silent and every message a test receives is one it published.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from finplat.app import build_platform, create_app
from finplat.identity import ApiKeyScope
from finplat.identity.apikeys import create_key_for_email
from finplat.kernel import ManualClock
from finplat.marketdata.api.stream import StreamPolicy, use_stream_policy
from finplat.marketdata.context import MarketDataKit
from finplat.marketdata.domain import AssetClass, Instrument, InstrumentStatus, Quote, Trade
from finplat.marketdata.feed import encode_tick
from finplat.marketdata.instruments import upsert_instrument
from tests.support.http import serve
from tests.support.identity import Harness, identity_settings

D = Decimal
WAIT = 5.0  # seconds; a ceiling against hangs, never a timing assertion


@pytest.fixture
def db_backend() -> str:
    return "sqlite"


@dataclass
class Live:
    harness: Harness
    kit: MarketDataKit
    url: str

    async def token(self, email: str = "trader@example.com") -> str:
        await self.harness.sign_up_and_verify(email)
        return (await self.harness.tokens(email))["access_token"]


def instrument(symbol: str) -> Instrument:
    return Instrument(
        symbol=symbol,
        name=f"{symbol} Inc.",
        asset_class=AssetClass.US_EQUITY,
        exchange="XNAS",
        currency="USD",
        tick_size=D("0.01"),
        lot_size=D(1),
        fractionable=False,
        shortable=True,
        status=InstrumentStatus.INACTIVE,
    )


@asynccontextmanager
async def live_stream(
    database_url: str, data_dir: Path, clock: ManualClock, policy: StreamPolicy | None = None
) -> AsyncIterator[Live]:
    settings = identity_settings(database_url, data_dir)
    platform = build_platform(settings, clock=clock)
    app = create_app(settings, platform=platform)
    if policy is not None:
        use_stream_policy(app, policy)
    async with serve(app) as http:
        async with platform.uows() as uow:
            for symbol in ("AAPL", "MSFT"):
                await upsert_instrument(uow, instrument(symbol), now=clock.now())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:  # the socket listens already: connections queue until the server accepts
            port = sock.getsockname()[1]
            yield Live(
                Harness(http, platform, clock), platform.marketdata, f"ws://127.0.0.1:{port}"
            )
        finally:
            server.should_exit = True
            await task
            sock.close()


@pytest.fixture
async def live(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Live]:
    async with live_stream(database_url, tmp_path, clock) as running:
        yield running


class Stream:
    """A client connection that reads messages one by one, whether they came alone or
    together in an array frame."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._waiting: list[Any] = []

    async def frame(self) -> Any:
        return json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))

    async def receive(self) -> Any:
        if not self._waiting:
            frame = await self.frame()
            self._waiting = frame if isinstance(frame, list) else [frame]
        return self._waiting.pop(0)

    async def send(self, message: object) -> Any:
        await self.ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
        return await self.receive()

    async def sign_in(self, token: str) -> None:
        answer = await self.send({"action": "auth", "token": token})
        assert answer == {"type": "success", "msg": "authenticated"}

    async def closed(self) -> tuple[int, str]:
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(self.ws.recv(), WAIT)
        received = info.value.rcvd
        assert received is not None
        return received.code, received.reason


@asynccontextmanager
async def client(live: Live) -> AsyncIterator[Stream]:
    async with connect(f"{live.url}/api/v1/stream", open_timeout=WAIT) as ws:
        yield Stream(ws)


def quote(clock: ManualClock, bid: str, provider: str = "simulated") -> Quote:
    price = D(bid)
    return Quote("AAPL", price, D(100), price + D("0.02"), D(200), clock.now(), provider)


def subscription(quotes: list[str], trades: list[str], bars: list[str]) -> dict[str, Any]:
    return {"type": "subscription", "quotes": quotes, "trades": trades, "bars": bars}


# -- authentication ---------------------------------------------------------------------------


async def test_a_signed_in_customer_receives_the_quotes_published_to_the_hub(
    live: Live, clock: ManualClock
) -> None:
    token = await live.token()
    async with client(live) as ws:
        await ws.sign_in(token)
        answer = await ws.send({"action": "subscribe", "quotes": ["aapl"]})
        assert answer == subscription(["AAPL"], [], [])
        live.kit.hub.publish("quotes", "AAPL", encode_tick(quote(clock, "230.10"))[1])
        assert await ws.receive() == {
            "type": "quote",
            "symbol": "AAPL",
            "bid_price": "230.1",
            "bid_size": "100",
            "ask_price": "230.12",
            "ask_size": "200",
            "timestamp": "2026-01-05T14:30:00Z",
            "provider": "simulated",
            "stale": False,
        }


async def test_an_api_key_with_the_data_scope_may_stream(live: Live) -> None:
    await live.token("quant@example.com")
    key = await create_key_for_email(
        live.harness.platform.identity,
        "quant@example.com",
        scopes=[ApiKeyScope.DATA],
        name="stream",
        expires_in=None,
    )
    async with client(live) as ws:
        answer = await ws.send({"action": "auth", "key": key.key_id, "secret": key.secret})
        assert answer == {"type": "success", "msg": "authenticated"}
        assert await ws.send({"action": "subscribe", "bars": ["MSFT"]}) == subscription(
            [], [], ["MSFT"]
        )


async def test_an_api_key_without_market_data_permission_is_refused(live: Live) -> None:
    await live.token("trader2@example.com")
    key = await create_key_for_email(
        live.harness.platform.identity,
        "trader2@example.com",
        scopes=[ApiKeyScope.TRADE],
        name="orders only",
        expires_in=None,
    )
    async with client(live) as ws:
        answer = await ws.send({"action": "auth", "key": key.key_id, "secret": key.secret})
        assert answer["type"] == "error"
        assert answer["code"] == "permission_denied"
        assert await ws.closed() == (4003, "forbidden")


@pytest.mark.parametrize(
    "first",
    [
        {"action": "auth", "token": "not-a-jwt"},
        {"action": "auth", "key": "FPKNOSUCHKEY", "secret": "wrong"},
        {"action": "auth"},
        {"action": "subscribe", "quotes": ["AAPL"]},
        "not json",
    ],
    ids=["bad token", "bad key", "no credentials", "no auth first", "malformed"],
)
async def test_a_connection_must_authenticate_first(live: Live, first: object) -> None:
    async with client(live) as ws:
        answer = await ws.send(first)
        assert (answer["type"], answer["code"]) == ("error", "unauthenticated")
        assert await ws.closed() == (4001, "unauthenticated")


async def test_a_connection_that_does_not_authenticate_in_time_is_closed(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    policy = StreamPolicy(auth_timeout=timedelta(milliseconds=100))
    async with live_stream(database_url, tmp_path, clock, policy) as running, client(running) as ws:
        assert await ws.receive() == {
            "type": "error",
            "code": "unauthenticated",
            "msg": "authenticate within 0.1 seconds",
        }
        assert await ws.closed() == (4001, "unauthenticated")


# -- subscriptions ----------------------------------------------------------------------------


async def test_subscribing_sends_the_cached_quote_marked_stale_when_its_feed_stopped(
    live: Live, clock: ManualClock
) -> None:
    await live.kit.cache.put(quote(clock, "229.50", provider="stopped-feed"))
    await live.kit.cache.mark_dead("stopped-feed")
    token = await live.token()
    async with client(live) as ws:
        await ws.sign_in(token)
        answer = await ws.send({"action": "subscribe", "quotes": ["AAPL", "MSFT"]})
        assert answer == subscription(["AAPL", "MSFT"], [], [])
        snapshot = await ws.receive()  # MSFT has no quote yet: nothing is sent for it
        assert (snapshot["symbol"], snapshot["bid_price"], snapshot["stale"]) == (
            "AAPL",
            "229.5",
            True,
        )


async def test_unsubscribing_stops_delivery(live: Live, clock: ManualClock) -> None:
    token = await live.token()
    async with client(live) as ws:
        await ws.sign_in(token)
        answer = await ws.send({"action": "subscribe", "trades": ["AAPL", "MSFT"]})
        assert answer == subscription([], ["AAPL", "MSFT"], [])
        answer = await ws.send({"action": "unsubscribe", "trades": ["AAPL"]})
        assert answer == subscription([], ["MSFT"], [])
        for symbol in ("AAPL", "MSFT"):
            trade = Trade(symbol, D("10.5"), D(3), clock.now(), 7, "simulated")
            live.kit.hub.publish("trades", symbol, encode_tick(trade)[1])
        assert await ws.receive() == {
            "type": "trade",
            "symbol": "MSFT",
            "price": "10.5",
            "size": "3",
            "timestamp": "2026-01-05T14:30:00Z",
            "trade_id": 7,
            "provider": "simulated",
        }


async def test_the_wildcard_receives_every_symbol_and_waiting_messages_share_a_frame(
    live: Live, clock: ManualClock
) -> None:
    token = await live.token()
    async with client(live) as ws:
        await ws.sign_in(token)
        assert await ws.send({"action": "subscribe", "trades": ["*"]}) == subscription(
            [], ["*"], []
        )
        for n, symbol in enumerate(("AAPL", "MSFT", "TSLA")):
            trade = Trade(symbol, D(n + 1), D(1), clock.now(), n, "simulated")
            live.kit.hub.publish("trades", symbol, encode_tick(trade)[1])
        frame = await ws.frame()  # published together, so waiting together: one frame
        assert [(m["symbol"], m["price"]) for m in frame] == [
            ("AAPL", "1"),
            ("MSFT", "2"),
            ("TSLA", "3"),
        ]


async def test_bad_messages_are_answered_and_the_connection_stays_open(live: Live) -> None:
    token = await live.token()
    async with client(live) as ws:
        await ws.sign_in(token)
        cases: list[tuple[str | bytes, str]] = [
            ("{not json", "invalid_json"),
            ('["subscribe"]', "invalid_message"),
            ('{"action": "dance"}', "unknown_action"),
            ('{"action": "subscribe", "quotes": "AAPL"}', "invalid_message"),
            ('{"action": "subscribe", "news": ["AAPL"]}', "invalid_message"),
            ('{"action": "subscribe", "quotes": ["AAPL", "NOPE"]}', "unknown_symbol"),
            ('{"action": "auth", "token": "again"}', "already_authenticated"),
            (json.dumps({"action": "subscribe", "quotes": ["A" * 20_000]}), "message_too_large"),
            (b'{"action": "subscribe"}', "invalid_message"),
        ]
        for message, code in cases:
            answer = await ws.send(message)
            assert (answer["type"], answer["code"]) == ("error", code), message
        unknown = await ws.send({"action": "subscribe", "trades": ["ZZZZ", "NOPE", "AAPL"]})
        assert unknown["msg"] == "unknown symbols: NOPE, ZZZZ"
        # nothing was subscribed by the refused requests, and the connection still works
        assert await ws.send({"action": "subscribe", "bars": ["MSFT"]}) == subscription(
            [], [], ["MSFT"]
        )


async def test_a_flood_of_bad_messages_closes_the_connection(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with live_stream(database_url, tmp_path, clock, StreamPolicy(max_errors=3)) as running:
        token = await running.token()
        async with client(running) as ws:
            await ws.sign_in(token)
            for _ in range(3):
                assert (await ws.send({"action": "dance"}))["code"] == "unknown_action"
            await ws.ws.send("{}")
            assert await ws.closed() == (1008, "too many bad messages")


async def test_a_client_that_lets_trades_pile_up_is_dropped_as_too_slow(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    policy = StreamPolicy(max_backlog=5)
    async with live_stream(database_url, tmp_path, clock, policy) as running:
        token = await running.token()
        others = running.kit.hub.subscriber_count  # in-process listeners (the paper venue)
        async with client(running) as ws:
            await ws.sign_in(token)
            assert await ws.send({"action": "subscribe", "trades": ["AAPL"]}) == subscription(
                [], ["AAPL"], []
            )
            # six trades before the connection's writer can send any: one more than allowed
            for n in range(6):
                trade = Trade("AAPL", D(100 + n), D(1), clock.now(), n, "simulated")
                running.kit.hub.publish("trades", "AAPL", encode_tick(trade)[1])
            assert await ws.closed() == (4008, "too slow")
        assert running.kit.hub.subscriber_count == others


async def test_quotes_conflate_for_a_client_that_has_not_read_them(
    live: Live, clock: ManualClock
) -> None:
    token = await live.token()
    async with client(live) as ws:
        await ws.sign_in(token)
        assert await ws.send({"action": "subscribe", "quotes": ["AAPL"]}) == subscription(
            ["AAPL"], [], []
        )
        for bid in ("230.00", "230.01", "230.02"):
            live.kit.hub.publish("quotes", "AAPL", encode_tick(quote(clock, bid))[1])
        newest = await ws.receive()
        assert newest["bid_price"] == "230.02"
