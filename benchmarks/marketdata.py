"""Market data fan-out over real WebSocket connections, next to a raw `websockets` server.

Each scenario starts a server in a subprocess (one core for it; the clients share the other
core in this process, on a 2-core machine they are part of what is measured) and connects
1, 100 or 1,000 clients to it over 127.0.0.1, every one subscribed to the trades of one
symbol. Servers:

- `finplat`: the whole app under uvicorn (its default WebSocket implementation), clients
  authenticated with an API key; trades go in through `LiveFeed.ingest` (memory cache, live
  bars, stream hub) and out through `/api/v1/stream`, waiting messages batched in a frame;
- `finplat unbatched`: the same, one frame per message (`StreamPolicy(batch=False)`);
- `baseline`: a bare `websockets` server sending the same JSON with `websockets.broadcast`
  (each message written at once to every connection's buffer, one frame per message, no
  backpressure and no per-connection task), without authentication, cache or hub.

Trades are not conflated, so every client must receive every trade. Two phases each:
throughput (the producer ingests as fast as it can, yielding to the loop every 100 ticks,
measured from the first ingest to the last client's last trade; `--ticks` trades, fewer when
ticks x clients would pass 200,000) and latency (the producer paced at half the baseline's
throughput for that client count, for about three seconds; each trade's timestamp is its
ingest time, so receipt minus timestamp is the end-to-end latency, both processes reading
the same wall clock). Memory is the server's peak RSS (VmHWM) and its growth over the RSS
before the clients connected; CPU is each process's CPU time over the throughput phase, in
shares of one core (well under 1.0 for both means the machine was busy with other work).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import uvloop

SYMBOL = "BENCH"
PASSWORD = "correct horse battery staple 42"
BURST = 100
CONNECT_CONCURRENCY = 50
MAX_DELIVERIES = 200_000  # per phase (ticks x clients), to keep a full run near two minutes
PHASE_TIMEOUT = 300.0  # seconds: a run that takes longer is reported as incomplete
VARIANTS = ("baseline", "finplat", "finplat unbatched")
_STAMP = re.compile(r'"timestamp":"([^"]+)"')


def _status_kb(field: str) -> int:
    # /proc rather than ru_maxrss, which Linux carries over exec from the parent's peak
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_kb() -> int:
    return _status_kb("VmRSS")


def _peak_kb() -> int:
    return _status_kb("VmHWM")


# -- the server processes ---------------------------------------------------------------------


def _price(n: int) -> Decimal:
    return Decimal("100.00") + Decimal(n % 100) / 100


async def _pace(n: int, started: float, rate: float | None) -> None:
    """Yield to the loop every BURST ticks, or wait for tick n's turn at `rate` per second."""
    if rate is None:
        if n % BURST == BURST - 1:
            await asyncio.sleep(0)
        return
    delay = started + n / rate - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def _commands(handle: Callable[[int, float | None], Any]) -> None:
    """Read `{"ticks": N, "rate": R}` lines from the driver; answer each with the result."""
    print(json.dumps({"rss_kb": _rss_kb()} | await handle(0, None)), flush=True)
    while line := await asyncio.to_thread(sys.stdin.readline):
        command = json.loads(line)
        started, cpu = time.time(), time.process_time()
        await handle(command["ticks"], command["rate"])
        answer = {"started": started, "cpu_started": cpu, "cpu": time.process_time()}
        print(json.dumps(answer | {"peak_kb": _peak_kb()}), flush=True)


class _Idle:
    """The feed's provider slot: the benchmark ingests ticks itself."""

    name = "bench"

    async def bars(self, *_: object) -> list[Any]:
        return []

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[Any]:
        raise NotImplementedError


async def _finplat_server(sock: socket.socket, batch: bool, data_dir: Path) -> None:
    import uvicorn  # noqa: PLC0415 - only the server processes need these

    from finplat.app import build_platform, create_app  # noqa: PLC0415
    from finplat.identity import ApiKeyScope, Role  # noqa: PLC0415
    from finplat.identity.accounts import create_user  # noqa: PLC0415
    from finplat.identity.apikeys import create_key_for_email  # noqa: PLC0415
    from finplat.kernel import SystemClock  # noqa: PLC0415
    from finplat.marketdata.api.stream import (  # noqa: PLC0415
        StreamPolicy,
        use_stream_policy,
    )
    from finplat.marketdata.cache import MemoryMarketCache  # noqa: PLC0415
    from finplat.marketdata.domain import (  # noqa: PLC0415
        AssetClass,
        Instrument,
        InstrumentStatus,
        Trade,
    )
    from finplat.marketdata.feed import LiveFeed  # noqa: PLC0415
    from finplat.marketdata.instruments import upsert_instrument  # noqa: PLC0415
    from finplat.marketdata.live import LiveBars  # noqa: PLC0415
    from finplat.platform.settings import Settings  # noqa: PLC0415

    settings = Settings(
        data_dir=data_dir,
        log_level="WARNING",
        rate_limit_per_ip_per_minute=1_000_000,
        rate_limit_per_principal_per_minute=1_000_000,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
        argon2_parallelism=1,
    )
    clock = SystemClock()
    platform = build_platform(settings, clock=clock)
    app = create_app(settings, platform=platform)
    use_stream_policy(app, StreamPolicy(batch=batch, max_backlog=10_000_000))
    kit = platform.marketdata
    feed = LiveFeed(
        provider=_Idle(),
        symbols=[SYMBOL],
        cache=MemoryMarketCache(),
        hub=kit.hub,
        live=LiveBars({SYMBOL: ZoneInfo("America/New_York")}),
        uows=platform.uows,
        clock=clock,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", backlog=4096)
    )
    async with app.router.lifespan_context(app):
        async with platform.uows() as uow:
            instrument = Instrument(
                symbol=SYMBOL,
                name="Benchmark Corp.",
                asset_class=AssetClass.US_EQUITY,
                exchange="XNAS",
                currency="USD",
                tick_size=Decimal("0.01"),
                lot_size=Decimal(1),
                fractionable=False,
                shortable=True,
                status=InstrumentStatus.INACTIVE,  # so the platform's own feed leaves it alone
            )
            await upsert_instrument(uow, instrument, now=clock.now())
            await create_user(
                platform.identity,
                uow,
                email="bench@example.com",
                password=PASSWORD,
                verified=True,
                roles=frozenset({Role.CUSTOMER}),
                actor_type="system",
            )
        key = await create_key_for_email(
            platform.identity,
            "bench@example.com",
            scopes=[ApiKeyScope.DATA],
            name="b",
            expires_in=None,
        )

        async def handle(ticks: int, rate: float | None) -> dict[str, object]:
            started = time.perf_counter()
            for n in range(ticks):
                trade = Trade(SYMBOL, _price(n), Decimal(1 + n % 10), clock.now(), n, "bench")
                await feed.ingest(trade)
                await _pace(n, started, rate)
            return {"key": key.key_id, "secret": key.secret}

        serving = asyncio.create_task(server.serve(sockets=[sock]))
        await _commands(handle)
        server.should_exit = True
        await serving


async def _baseline_server(sock: socket.socket) -> None:
    # imports nothing of finplat's app, so its memory is that of a bare websockets server
    from websockets.asyncio.server import ServerConnection, broadcast, serve  # noqa: PLC0415

    from finplat.kernel import SystemClock  # noqa: PLC0415

    clock = SystemClock()
    clients: set[ServerConnection] = set()

    async def connection(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            await ws.send('{"type":"success","msg":"ready"}')
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    prices = [str(_price(n).normalize()) for n in range(100)]

    async def handle(ticks: int, rate: float | None) -> dict[str, object]:
        started = time.perf_counter()
        for n in range(ticks):
            stamp = clock.now().isoformat().replace("+00:00", "Z")
            message = (
                f'{{"type":"trade","symbol":"{SYMBOL}","price":"{prices[n % 100]}",'
                f'"size":"{1 + n % 10}","timestamp":"{stamp}","trade_id":{n},'
                f'"provider":"bench"}}'
            )
            broadcast(clients, message)  # one frame per client, written at once, never dropped
            await _pace(n, started, rate)
        return {}

    async with serve(connection, sock=sock, ping_interval=20, max_queue=64):
        await _commands(handle)


def _server_main(variant: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if variant == "baseline":
            main = _baseline_server(sock)
        else:
            main = _finplat_server(sock, batch=variant == "finplat", data_dir=Path(tmp))
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main)


# -- the driver: clients and figures ----------------------------------------------------------


@dataclass
class _Client:
    expected: int = 0
    received: int = 0
    last_at: float = 0.0
    measure: bool = False
    latencies: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: str = ""

    def expect(self, count: int, measure: bool) -> None:
        self.expected, self.received, self.measure = count, 0, measure
        self.latencies = []
        self.done.clear()

    def take(self, frame: str) -> None:
        now = time.time()
        if self.measure:
            stamps = _STAMP.findall(frame)
            self.latencies.extend(now - datetime.fromisoformat(s).timestamp() for s in stamps)
            self.received += len(stamps)
        else:
            self.received += frame.count('"trade_id"')
        self.last_at = now
        if self.received >= self.expected:
            self.done.set()


async def _connect(url: str, auth: dict[str, str] | None, client: _Client) -> None:
    from websockets.asyncio.client import connect  # noqa: PLC0415
    from websockets.exceptions import ConnectionClosed  # noqa: PLC0415

    try:
        async with connect(url, open_timeout=60, max_queue=None, ping_interval=None) as ws:
            if auth is not None:
                await ws.send(json.dumps({"action": "auth", **auth}))
                answer = json.loads(await ws.recv())
                assert answer["type"] == "success", answer
                await ws.send(json.dumps({"action": "subscribe", "trades": [SYMBOL]}))
            answer = json.loads(await ws.recv())
            assert answer["type"] in {"subscription", "success"}, answer
            client.ready.set()
            async for frame in ws:
                client.take(str(frame))
    except ConnectionClosed as closed:
        client.closed = f"closed {closed.rcvd.code if closed.rcvd else '?'}"
    finally:
        client.ready.set()
        client.done.set()


@dataclass
class _Figures:
    variant: str
    subscribers: int
    ticks: int
    fastest: _Phase
    p50_ms: float
    p99_ms: float
    peak_mb: float
    growth_mb: float
    incomplete: int  # clients that did not receive every trade


class _Server:
    def __init__(self, variant: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "benchmarks.marketdata", variant],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.read()["port"])
        self.hello = self.read()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server exited")
        return dict(json.loads(line))

    async def go(self, ticks: int, rate: float | None) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"ticks": ticks, "rate": rate}) + "\n")
        self.process.stdin.flush()
        return await asyncio.to_thread(self.read)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the server exits at the end of its input
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class _Phase:
    throughput: float  # ticks per second, from the first ingest to the last receipt anywhere
    incomplete: int  # clients that did not get every tick
    server_cpu: float  # share of one core over the phase
    client_cpu: float


async def _phase(server: _Server, clients: list[_Client], ticks: int, rate: float | None) -> _Phase:
    for client in clients:
        client.expect(ticks, measure=rate is not None)
    client_cpu = time.process_time()
    begun = await server.go(ticks, rate)
    done = asyncio.gather(*(c.done.wait() for c in clients))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, PHASE_TIMEOUT)
    finished = max(c.last_at for c in clients)
    client_cpu = time.process_time() - client_cpu
    ended = await server.go(0, None)  # its CPU time now covers the whole delivery
    elapsed = max(finished - begun["started"], 1e-9)
    return _Phase(
        ticks / elapsed,
        sum(c.received < ticks for c in clients),
        (ended["cpu"] - begun["cpu_started"]) / elapsed,
        client_cpu / elapsed,
    )


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _scenario(
    variant: str, subscribers: int, ticks: int, rate: float | None
) -> tuple[_Figures, float]:
    server = await asyncio.to_thread(_Server, variant)
    try:
        url = f"ws://127.0.0.1:{server.port}" + ("/api/v1/stream" if variant != "baseline" else "")
        auth = None
        if variant != "baseline":
            auth = {"key": server.hello["key"], "secret": server.hello["secret"]}
        clients = [_Client() for _ in range(subscribers)]
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        tasks: list[asyncio.Task[None]] = []

        async def connect_one(client: _Client) -> None:
            async with gate:
                tasks.append(asyncio.create_task(_connect(url, auth, client)))
                await client.ready.wait()

        await asyncio.gather(*(connect_one(c) for c in clients))
        fastest = await _phase(server, clients, ticks, None)
        paced = rate if rate is not None else fastest.throughput / 2
        latency_ticks = max(50, min(ticks, int(paced * 3)))  # about three seconds at most
        steady = await _phase(server, clients, latency_ticks, paced)
        latencies = [x for c in clients for x in c.latencies]
        peak = (await server.go(0, None))["peak_kb"]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await asyncio.to_thread(server.stop)
    figures = _Figures(
        variant,
        subscribers,
        ticks,
        fastest,
        _percentile(latencies, 0.50) * 1000,
        _percentile(latencies, 0.99) * 1000,
        peak / 1024,
        (peak - server.hello["rss_kb"]) / 1024,
        fastest.incomplete + steady.incomplete,
    )
    return figures, paced


async def _bridge_figures(messages: int) -> list[str]:
    """PUBLISH per tick against the bridge's pipelined batches, on the local Redis."""
    from redis.asyncio import Redis  # noqa: PLC0415
    from redis.exceptions import RedisError  # noqa: PLC0415

    from finplat.marketdata.bridge import RedisTickBridge  # noqa: PLC0415
    from finplat.marketdata.hub import StreamHub  # noqa: PLC0415

    client = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"finplat-bench:{os.getpid()}:"
    payload = '{"type":"trade","symbol":"BENCH","price":"100.01","size":"1"}'
    try:
        started = time.perf_counter()
        for _ in range(messages):
            await client.publish(f"{prefix}trades", f"{SYMBOL}\n{payload}")
        one_by_one = messages / (time.perf_counter() - started)
        batched = RedisTickBridge(client, prefix)
        started = time.perf_counter()
        for _ in range(messages):
            batched.publish("trades", SYMBOL, payload)
        await batched.flush()
        pipelined = messages / (time.perf_counter() - started)
        sender, receiver = RedisTickBridge(client, prefix), RedisTickBridge(client, prefix)
        worker, api, stop = StreamHub(), StreamHub(), asyncio.Event()
        listener = api.subscriber(max_backlog=messages + 1)
        listener.subscribe("trades", [SYMBOL])
        tasks = [
            asyncio.create_task(receiver.run(api, stop)),
            asyncio.create_task(sender.forward(worker, stop)),
        ]
        await receiver.listening.wait()
        await asyncio.sleep(0)
        started = time.perf_counter()
        for n in range(messages):
            worker.publish("trades", SYMBOL, payload)
            if n % BURST == BURST - 1:
                await asyncio.sleep(0)
        got = 0
        while got < messages:
            got += len(await asyncio.wait_for(listener.next_batch(), 60))
        end_to_end = messages / (time.perf_counter() - started)
        stop.set()
        await asyncio.gather(*tasks)
    except (RedisError, OSError) as error:
        return [f"redis bridge: skipped, Redis on 127.0.0.1:6379 not reachable ({error})"]
    finally:
        await client.aclose()
    return [
        f"redis bridge: {messages} trades, Redis on 127.0.0.1, both sides in this process",
        f"  PUBLISH per tick, each awaited             {one_by_one:>8.0f} msg/s",
        f"  bridge.publish + flush, 1000 per pipeline  {pipelined:>8.0f} msg/s "
        f"({pipelined / one_by_one:.1f}x)",
        f"  hub -> forward -> Redis -> run -> hub      {end_to_end:>8.0f} msg/s end to end "
        f"({sender.stats.round_trips} round trips)",
    ]


def _phase_ticks(ticks: int, subscribers: int) -> int:
    """`ticks`, cut so that one phase delivers at most MAX_DELIVERIES messages."""
    return max(100, min(ticks, MAX_DELIVERIES // subscribers))


async def _run(ticks: int, counts: Sequence[int]) -> None:
    rows: list[_Figures] = []
    for subscribers in counts:
        phase_ticks = _phase_ticks(ticks, subscribers)
        baseline, rate = await _scenario("baseline", subscribers, phase_ticks, None)
        rows.append(baseline)
        for variant in VARIANTS[1:]:
            figures, _ = await _scenario(variant, subscribers, phase_ticks, rate)
            rows.append(figures)
    print(
        f"market data fan-out: trades of one symbol to every client; server in a subprocess, "
        f"clients in this process; {os.cpu_count()} cores; CPU in shares of one core"
    )
    print(
        f"{'server':<18} {'clients':>7} {'ticks':>6} {'ticks/s':>8} {'ratio':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'peak MB':>7} {'+MB':>6} "
        f"{'srv CPU':>7} {'cli CPU':>7} {'short':>5}"
    )
    base: dict[int, _Figures] = {r.subscribers: r for r in rows if r.variant == "baseline"}
    for row in rows:
        ref, phase = base[row.subscribers], row.fastest
        print(
            f"{row.variant:<18} {row.subscribers:>7} {row.ticks:>6} {phase.throughput:>8.0f} "
            f"{phase.throughput / ref.fastest.throughput:>6.2f} {row.p50_ms:>7.1f} "
            f"{row.p99_ms:>7.1f} {row.p99_ms / ref.p99_ms:>6.2f} {row.peak_mb:>7.0f} "
            f"{row.growth_mb:>6.1f} {phase.server_cpu:>7.2f} {phase.client_cpu:>7.2f} "
            f"{row.incomplete:>5}"
        )
    for line in await _bridge_figures(max(ticks * 10, 10_000)):
        print(line)


def run(ticks: int, counts: Sequence[int] = (1, 100, 1000)) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_run(ticks, counts))


if __name__ == "__main__":
    _server_main(sys.argv[1])
