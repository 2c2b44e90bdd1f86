"""The Alpaca adapter against recorded responses: REST through httpx.MockTransport, the stream
through a local websockets server playing a transcript (see recordings/alpaca/README.md)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from finplat.kernel import ManualClock, Unavailable
from finplat.marketdata.domain import Bar, InvalidMarketData, Quote, Tick, Timeframe, Trade
from finplat.marketdata.providers import FeedStopped, MarketDataProvider
from finplat.marketdata.providers.alpaca import (
    AlpacaCredentialsRejected,
    AlpacaProvider,
    AlpacaRequestRejected,
    AlpacaStreamAuthFailed,
    AlpacaStreamError,
    AlpacaUnavailable,
)

RECORDINGS = Path(__file__).parent / "recordings" / "alpaca"
D = Decimal


def load(name: str) -> Any:
    return json.loads((RECORDINGS / name).read_text(), parse_float=Decimal)


CREDENTIALS = load("credentials.json")
KEY_ID: str = CREDENTIALS["key_id"]
SECRET: str = CREDENTIALS["secret_key"]


def dump(value: Any) -> str:
    """JSON text with each Decimal written exactly as recorded (json.dumps would need floats)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(item) for item in value) + "]"
    return json.dumps(value)


def at(hour: int, minute: int, second: int = 0, micro: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, micro, tzinfo=UTC)


# -- REST -------------------------------------------------------------------------------


class Replay:
    """Answers requests with the recorded responses in order, checking each request."""

    def __init__(self, name: str) -> None:
        self.interactions: list[dict[str, Any]] = load(name)["interactions"]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert len(self.requests) < len(self.interactions), "more requests than recorded"
        recorded = self.interactions[len(self.requests)]
        self.requests.append(request)
        expected = recorded["request"]
        assert request.method == expected["method"]
        assert (request.url.scheme, request.url.host) == ("https", "data.alpaca.markets")
        assert request.url.path == expected["path"]
        assert sorted(request.url.params.multi_items()) == sorted(expected["query"].items())
        assert request.headers["APCA-API-KEY-ID"] == KEY_ID
        assert request.headers["APCA-API-SECRET-KEY"] == SECRET
        response = recorded["response"]
        content = dump(response["body"]) if "body" in response else response["text"]
        return httpx.Response(
            response["status"], headers=response["headers"], content=content.encode()
        )


class FakeSleep:
    """Records the waits and moves the clock by them instead of sleeping."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.clock.advance(timedelta(seconds=delay))


@pytest.fixture
def sleep(clock: ManualClock) -> FakeSleep:
    return FakeSleep(clock)


def rest_provider(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: ManualClock,
    sleep: FakeSleep,
    **options: Any,
) -> AlpacaProvider:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AlpacaProvider(KEY_ID, SECRET, http=http, clock=clock, sleep=sleep, **options)


def aapl_minute(
    start: datetime, o: str, h: str, lo: str, c: str, volume: int, count: int, vwap: str
) -> Bar:
    return Bar("AAPL", Timeframe.MINUTE, start, D(o), D(h), D(lo), D(c), D(volume), count, D(vwap))


async def test_bars_follow_every_page_and_keep_exact_decimals(
    clock: ManualClock, sleep: FakeSleep
) -> None:
    replay = Replay("bars_aapl_1min_two_pages.json")
    provider = rest_provider(replay, clock, sleep, page_size=4)

    bars = await provider.bars("AAPL", Timeframe.MINUTE, at(14, 30), at(14, 36))

    assert len(replay.requests) == 2
    assert bars == [
        aapl_minute(at(14, 30), "243.85", "244.12", "243.8", "244.05", 4521, 87, "243.963412"),
        aapl_minute(at(14, 31), "244.06", "244.3", "243.98", "244.21", 2210, 45, "244.152371"),
        aapl_minute(at(14, 32), "244.2", "244.255", "243.91", "243.94", 1984, 39, "244.071289"),
        aapl_minute(at(14, 33), "243.95", "244", "243.71", "243.77", 1675, 33, "243.859104"),
        # vwap 243.81234567891 on the wire, kept to the store's 9 places
        aapl_minute(at(14, 35), "243.78", "243.99", "243.62", "243.9", 1402, 28, "243.812345679"),
    ]  # the 14:36 bar Alpaca sent (its end is inclusive) is outside [start, end)
    assert all(type(bar.open) is Decimal and type(bar.volume) is Decimal for bar in bars)
    assert str(bars[2].high) == "244.255"
    assert sleep.delays == []


@pytest.mark.parametrize("recording", ["bars_empty.json", "bars_null.json"])
async def test_no_bars_is_an_empty_list(
    recording: str, clock: ManualClock, sleep: FakeSleep
) -> None:
    replay = Replay(recording)
    provider = rest_provider(replay, clock, sleep)

    assert await provider.bars("AAPL", Timeframe.DAY, at(0, 0, day=4), at(0, 0, day=5)) == []
    assert len(replay.requests) == 1


DAY_BAR = Bar(
    "AAPL",
    Timeframe.DAY,
    datetime(2026, 1, 2, 5, tzinfo=UTC),
    D("242.1"),
    D("245.67"),
    D("241.32"),
    D("244.9"),
    D(1843227),
    24518,
    D("243.88172"),
)


async def day_bars(provider: AlpacaProvider) -> list[Bar]:
    return await provider.bars(
        "AAPL", Timeframe.DAY, at(5, 0, day=2), datetime(2026, 1, 3, 5, tzinfo=UTC)
    )


async def test_429_waits_for_retry_after_then_for_the_rate_limit_reset(
    clock: ManualClock, sleep: FakeSleep
) -> None:
    replay = Replay("bars_rate_limited.json")
    provider = rest_provider(replay, clock, sleep)

    assert await day_bars(provider) == [DAY_BAR]
    # Retry-After: 3, then X-RateLimit-Reset 14:30:08 read at 14:30:03 on the clock
    assert sleep.delays == [3.0, 5.0]
    assert len(replay.requests) == 3


async def test_429_asking_for_longer_than_max_wait_gives_up_at_once(
    clock: ManualClock, sleep: FakeSleep
) -> None:
    replay = Replay("bars_rate_limited.json")
    provider = rest_provider(replay, clock, sleep, max_wait=2.0)

    with pytest.raises(AlpacaUnavailable, match="wait 3s"):
        await day_bars(provider)
    assert len(replay.requests) == 1
    assert sleep.delays == []


async def test_5xx_retries_with_exponential_backoff(clock: ManualClock, sleep: FakeSleep) -> None:
    replay = Replay("bars_server_errors.json")
    provider = rest_provider(replay, clock, sleep)

    assert await day_bars(provider) == [DAY_BAR]
    assert sleep.delays == [0.5, 1.0]
    assert len(replay.requests) == 3


async def test_5xx_past_the_retries_is_unavailable(clock: ManualClock, sleep: FakeSleep) -> None:
    replay = Replay("bars_server_errors.json")
    provider = rest_provider(replay, clock, sleep, max_retries=1)

    with pytest.raises(AlpacaUnavailable, match="503 upstream connect error") as raised:
        await day_bars(provider)
    assert raised.value.code == "alpaca_unavailable"
    assert len(replay.requests) == 2
    assert sleep.delays == [0.5]


async def test_transport_errors_are_retried(clock: ManualClock, sleep: FakeSleep) -> None:
    replay = Replay("bars_server_errors.json")
    replay.interactions = replay.interactions[2:]
    failures = [httpx.ConnectError("connection refused")]

    def flaky(request: httpx.Request) -> httpx.Response:
        if failures:
            raise failures.pop()
        return replay(request)

    provider = rest_provider(flaky, clock, sleep)

    assert await day_bars(provider) == [DAY_BAR]
    assert sleep.delays == [0.5]


async def test_401_is_a_credentials_error_without_retry(
    clock: ManualClock, sleep: FakeSleep
) -> None:
    replay = Replay("bars_unauthorized.json")
    provider = rest_provider(replay, clock, sleep)

    with pytest.raises(AlpacaCredentialsRejected) as raised:
        await day_bars(provider)
    assert raised.value.message == "Alpaca refused the credentials (401): forbidden."
    assert raised.value.code == "alpaca_credentials_rejected"
    assert isinstance(raised.value, Unavailable)
    assert len(replay.requests) == 1
    assert sleep.delays == []


async def test_403_for_a_feed_outside_the_plan_is_a_credentials_error(
    clock: ManualClock, sleep: FakeSleep
) -> None:
    replay = Replay("bars_sip_forbidden.json")
    provider = rest_provider(replay, clock, sleep, feed="sip")

    with pytest.raises(AlpacaCredentialsRejected, match="does not permit querying recent SIP"):
        await provider.bars("AAPL", Timeframe.MINUTE, at(14, 0), at(14, 30))
    assert len(replay.requests) == 1


async def test_other_4xx_is_a_rejected_request(clock: ManualClock, sleep: FakeSleep) -> None:
    calls: list[httpx.Request] = []

    def invalid(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"message": "invalid symbol: AAPL!"})

    provider = rest_provider(invalid, clock, sleep)

    with pytest.raises(AlpacaRequestRejected, match=r"\(400\): invalid symbol: AAPL!"):
        await provider.bars("AAPL!", Timeframe.DAY, at(0, 0, day=2), at(0, 0, day=5))
    assert len(calls) == 1


async def test_crypto_bars_use_the_crypto_endpoint(clock: ManualClock, sleep: FakeSleep) -> None:
    replay = Replay("bars_btcusd_1hour.json")
    provider = rest_provider(replay, clock, sleep)

    bars = await provider.bars("BTC/USD", Timeframe.HOUR, at(12, 0), at(14, 0))

    assert bars == [
        Bar(
            "BTC/USD", Timeframe.HOUR, at(12, 0), D("94180.02"), D("94400.1"),
            D("94102.555"), D("94251.37"), D("1.843257314"), 212, D("94245.739184660"),
        ),
        Bar(
            "BTC/USD", Timeframe.HOUR, at(13, 0), D("94251.37"), D("94512.44"),
            D("94230.12"), D("94388.9"), D("0.902114"), 187, D("94377.00412"),
        ),
    ]  # fmt: skip


async def test_a_repeated_page_token_stops_the_loop(clock: ManualClock, sleep: FakeSleep) -> None:
    calls: list[httpx.Request] = []

    def looping(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"bars": {"AAPL": []}, "next_page_token": "same"})

    provider = rest_provider(looping, clock, sleep)

    with pytest.raises(AlpacaUnavailable, match="repeated the page token"):
        await provider.bars("AAPL", Timeframe.DAY, at(0, 0, day=2), at(0, 0, day=5))
    assert len(calls) == 2


async def test_window_checks_happen_before_any_request(
    clock: ManualClock, sleep: FakeSleep
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    provider = rest_provider(unreachable, clock, sleep)
    naive = datetime(2026, 1, 5, 14, 30)  # noqa: DTZ001 - the point of the test

    with pytest.raises(InvalidMarketData, match="timezone-aware"):
        await provider.bars("AAPL", Timeframe.DAY, naive, at(15, 0))
    assert await provider.bars("AAPL", Timeframe.DAY, at(15, 0), at(15, 0)) == []


def test_the_adapter_is_a_market_data_provider(clock: ManualClock) -> None:
    provider: MarketDataProvider = AlpacaProvider(KEY_ID, SECRET, clock=clock)
    assert provider.name == "alpaca"


async def test_an_owned_http_client_is_closed(clock: ManualClock) -> None:
    async with AlpacaProvider(KEY_ID, SECRET, clock=clock) as provider:
        http = provider._http
    assert http.is_closed


# -- stream -----------------------------------------------------------------------------


class TranscriptServer:
    """Plays a transcript to each connection and records what the client sent."""

    def __init__(self, transcript: dict[str, Any]) -> None:
        self.steps: list[dict[str, Any]] = transcript["steps"]
        self.paths: list[str] = []
        self.received: list[Any] = []
        self.mismatches: list[tuple[Any, Any]] = []
        self.client_close_codes: list[int | None] = []

    async def handler(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.paths.append(connection.request.path)
        try:
            await self._play(connection)
        except ConnectionClosed:
            self.client_close_codes.append(connection.close_code)

    async def _play(self, connection: ServerConnection) -> None:
        for step in self.steps:
            if "server" in step:
                await connection.send(dump(step["server"]))
            elif "client" in step:
                message = json.loads(await connection.recv(), parse_float=Decimal)
                self.received.append(message)
                if message != step["client"]:
                    self.mismatches.append((message, step["client"]))
                    await connection.close(1008)
                    return
            elif "close" in step:
                await connection.close(step["close"])
                return
            elif "drop" in step:
                connection.transport.abort()
                return
            elif "hold" in step:
                await connection.wait_closed()
                self.client_close_codes.append(connection.close_code)
                return


@asynccontextmanager
async def playing(transcript: dict[str, Any]) -> AsyncIterator[tuple[str, TranscriptServer]]:
    player = TranscriptServer(transcript)
    async with serve(player.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v2", player


def stream_provider(url: str, clock: ManualClock, **options: Any) -> AlpacaProvider:
    return AlpacaProvider(KEY_ID, SECRET, stream_url=url, clock=clock, **options)


async def collect(
    provider: AlpacaProvider, symbols: list[str]
) -> tuple[list[Tick], pytest.ExceptionInfo[FeedStopped]]:
    ticks: list[Tick] = []
    with pytest.raises(FeedStopped) as stopped:
        async for tick in provider.stream(symbols):
            ticks.append(tick)
    return ticks, stopped


STOCK_TICKS: list[Tick] = [
    Quote("AAPL", D("243.84"), D(2), D("243.87"), D(3), at(14, 30, 0, 412345), "alpaca"),
    Trade("AAPL", D("243.855"), D(100), at(14, 30, 0, 512974), 52983525029461, "alpaca"),
    Quote("MSFT", D("478.12"), D(1), D("478.2"), D(4), at(14, 30, 1, 2000), "alpaca"),
    Trade("MSFT", D("478.15"), D(12), at(14, 30, 1, 250000), 52983525033527, "alpaca"),
]


def stock_transcript(*, ending: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    transcript: dict[str, Any] = load("stream_stocks.json")
    if ending is not None:
        transcript["steps"] = transcript["steps"][:-1] + ending
    return transcript


async def test_stream_authenticates_subscribes_and_yields_exact_ticks(
    clock: ManualClock,
) -> None:
    transcript = stock_transcript()
    async with playing(transcript) as (url, server):
        ticks, stopped = await collect(stream_provider(url, clock), ["AAPL", "MSFT"])

    assert ticks == STOCK_TICKS
    assert all(type(tick.price) is Decimal for tick in ticks if isinstance(tick, Trade))
    assert server.paths == ["/v2/iex"]
    assert server.received == [step["client"] for step in transcript["steps"] if "client" in step]
    assert server.mismatches == []
    # the connection dropped without a close frame: a transient stop
    assert type(stopped.value) is AlpacaStreamError
    assert (stopped.value.code, stopped.value.permanent) == (None, False)


@pytest.mark.parametrize("ending", [{"close": 1000}, {"close": 1011}])
async def test_any_end_of_the_connection_stops_the_feed(
    ending: dict[str, Any], clock: ManualClock
) -> None:
    async with playing(stock_transcript(ending=[ending])) as (url, _):
        ticks, stopped = await collect(stream_provider(url, clock), ["AAPL", "MSFT"])

    assert ticks == STOCK_TICKS
    assert type(stopped.value) is AlpacaStreamError


async def test_auth_failure_is_a_permanent_feed_stop(clock: ManualClock) -> None:
    async with playing(load("stream_auth_failed.json")) as (url, server):
        ticks, stopped = await collect(stream_provider(url, clock), ["AAPL"])

    assert ticks == []
    assert isinstance(stopped.value, AlpacaStreamAuthFailed)
    assert (stopped.value.code, stopped.value.permanent) == (402, True)
    assert str(stopped.value) == "Alpaca stream error 402: auth failed"
    assert [message["action"] for message in server.received] == ["auth"]  # never subscribed


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        ({"T": "error", "code": 407, "msg": "slow client"}, False),
        ({"T": "error", "code": 405, "msg": "symbol limit exceeded"}, True),
    ],
)
async def test_an_error_message_mid_stream_stops_the_feed(
    error: dict[str, Any], permanent: bool, clock: ManualClock
) -> None:
    async with playing(stock_transcript(ending=[{"server": [error]}, {"hold": True}])) as (url, _):
        ticks, stopped = await collect(stream_provider(url, clock), ["AAPL", "MSFT"])

    assert ticks == STOCK_TICKS
    assert type(stopped.value) is AlpacaStreamError
    assert (stopped.value.code, stopped.value.permanent) == (error["code"], permanent)


async def test_a_malformed_message_is_skipped(clock: ManualClock) -> None:
    broken = {"T": "q", "S": "AAPL", "bp": "243.84", "bs": 2, "ap": 243.87, "as": 3, "t": "x"}
    later = {"T": "t", "S": "AAPL", "i": 7, "x": "V", "p": D("243.9"), "s": 5, "c": ["@"],
             "z": "C", "t": "2026-01-05T14:30:02.000000001Z"}  # fmt: skip
    ending: list[dict[str, Any]] = [{"server": [broken, later]}, {"close": 1000}]
    async with playing(stock_transcript(ending=ending)) as (url, _):
        ticks, _stopped = await collect(stream_provider(url, clock), ["AAPL", "MSFT"])

    assert ticks == [*STOCK_TICKS, Trade("AAPL", D("243.9"), D(5), at(14, 30, 2), 7, "alpaca")]


async def test_crypto_streams_on_the_crypto_path(clock: ManualClock) -> None:
    async with playing(load("stream_crypto.json")) as (url, server):
        ticks, stopped = await collect(stream_provider(url, clock), ["BTC/USD"])

    assert server.paths == ["/v1beta3/crypto/us"]
    assert server.mismatches == []
    assert ticks == [
        Quote(
            "BTC/USD", D("94250.1"), D("0.4502"), D("94262.8"), D("0.89812"),
            at(14, 30, 0, 123456), "alpaca",
        ),
        Trade("BTC/USD", D("94255.3"), D("0.000215"), at(14, 30, 0, 219800), 5843212907, "alpaca"),
    ]  # fmt: skip
    assert type(stopped.value) is AlpacaStreamError


async def test_the_configured_feed_names_the_stream_path(clock: ManualClock) -> None:
    transcript = stock_transcript()
    async with playing(transcript) as (url, server):
        await collect(stream_provider(url, clock, feed="sip"), ["AAPL", "MSFT"])

    assert server.paths == ["/v2/sip"]


async def test_closing_the_iterator_closes_the_connection(clock: ManualClock) -> None:
    transcript = stock_transcript(ending=[{"hold": True}])
    async with playing(transcript) as (url, server):
        ticks = stream_provider(url, clock).stream(["AAPL", "MSFT"])
        assert await anext(ticks) == STOCK_TICKS[0]
        assert isinstance(ticks, AsyncGenerator)
        await ticks.aclose()

    assert server.client_close_codes == [1000]


async def test_a_silent_server_fails_the_handshake(clock: ManualClock) -> None:
    transcript = {"steps": [{"server": [{"T": "success", "msg": "connected"}]}, {"hold": True}]}
    async with playing(transcript) as (url, _):
        ticks, stopped = await collect(
            stream_provider(url, clock, handshake_timeout=0.05), ["AAPL"]
        )

    assert ticks == []
    assert str(stopped.value) == "the Alpaca stream did not complete its handshake"


async def test_an_unreachable_stream_is_a_feed_stop(clock: ManualClock) -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    ticks, stopped = await collect(stream_provider(f"ws://127.0.0.1:{port}/v2", clock), ["AAPL"])

    assert ticks == []
    assert str(stopped.value).startswith("cannot connect to the Alpaca stream")


@pytest.mark.parametrize("symbols", [[], ["AAPL", "BTC/USD"]])
async def test_stream_refuses_nothing_or_mixed_asset_classes(
    symbols: list[str], clock: ManualClock
) -> None:
    provider = stream_provider("ws://127.0.0.1:9/v2", clock)

    with pytest.raises(InvalidMarketData):
        await anext(provider.stream(symbols))
