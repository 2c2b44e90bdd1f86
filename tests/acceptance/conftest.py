"""A real finplat server on a socket, seeded with market data, for real third-party clients.

The server (the app from `create_app`, on an SQLite file) runs in its own thread and event
loop for the whole module, so the synchronous clients under test are called directly.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from finplat.app import Platform, build_platform, create_app
from finplat.identity import ApiKeyScope
from finplat.identity.accounts import create_user
from finplat.identity.apikeys import create_key_for_email
from finplat.kernel import ManualClock
from finplat.marketdata.bars import save_bars
from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    Quote,
    Tick,
    Timeframe,
    Trade,
)
from finplat.marketdata.instruments import upsert_instrument
from finplat.platform.db.migrate import upgrade
from finplat.platform.settings import Settings
from tests.support.identity import PASSWORD, identity_settings

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # a Monday, half an hour into the session
NEW_YORK = ZoneInfo("America/New_York")
STARTUP_BOUND = 60.0  # seconds: how long a broken start may hang before the fixture gives up


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "acceptance: drives finplat with an unmodified third-party client"
    )


class SilentProvider:
    """A feed that sends nothing, so the server holds exactly the seeded data."""

    name = "silent"

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        await asyncio.Event().wait()  # until the feed is cancelled at shutdown
        for _ in ():
            yield _

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        return []


# -- the seed -------------------------------------------------------------------------------------


def _instrument(symbol: str, exchange: str) -> Instrument:
    crypto = exchange == "CRYPTO"
    return Instrument(
        symbol=symbol,
        name=f"{symbol} (acceptance)",
        asset_class=AssetClass.CRYPTO if crypto else AssetClass.US_EQUITY,
        exchange=exchange,
        currency="USD",
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.000000001"),
        fractionable=True,
        shortable=not crypto,
    )


INSTRUMENTS = (_instrument("AAPL", "XNAS"), _instrument("MSFT", "XNAS"))
BITCOIN = _instrument("BTC/USD", "CRYPTO")


def weekdays(first: date, last: date) -> list[date]:
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def _bar(symbol: str, timeframe: Timeframe, start: datetime, base: Decimal, n: int) -> Bar:
    """A deterministic bar whose prices sit on the cent grid and whose volume has nine
    decimals (fractional shares)."""
    open_ = base + Decimal(n % 97) / 100
    close = open_ + Decimal(n % 7 - 3) / 100
    return Bar(
        symbol,
        timeframe,
        start,
        open_,
        max(open_, close) + Decimal("0.02"),
        min(open_, close) - Decimal("0.01"),
        close,
        Decimal(100 + n % 13) + Decimal("0.123456789"),
        1 + n % 11,
        (open_ + close) / 2,
    )


def _seed_bars() -> list[Bar]:
    """Per stock: daily bars for ten weekdays up to today (today's still forming) and a
    session of minute bars (14:30-21:00 UTC) on fourteen weekdays before today, plus today's
    first half hour: 2 x 5490 minute bars, more than alpaca-py asks for in one page."""
    bars: list[Bar] = []
    for index, instrument in enumerate(INSTRUMENTS):
        base = Decimal(190 + 250 * index)
        symbol = instrument.symbol
        for n, day in enumerate(weekdays(date(2025, 12, 23), NOW.date())):
            midnight = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).astimezone(UTC)
            bars.append(_bar(symbol, Timeframe.DAY, midnight, base, n))
        sessions = [
            datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)
            for day in weekdays(date(2025, 12, 16), date(2026, 1, 2))
        ]
        starts = [open_ + timedelta(minutes=m) for open_ in sessions for m in range(390)]
        starts += [NOW - timedelta(minutes=30 - m) for m in range(30)]
        bars += [_bar(symbol, Timeframe.MINUTE, at, base, n) for n, at in enumerate(starts)]
    for n, day in enumerate(weekdays(date(2026, 1, 1), NOW.date())):
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        bars.append(_bar("BTC/USD", Timeframe.DAY, midnight, Decimal(91000), n))
    return bars


def _at(second: int, micro: int = 0) -> datetime:
    return NOW - timedelta(minutes=1) + timedelta(seconds=second, microseconds=micro)


def _seed_ticks() -> list[Tick]:
    d = Decimal
    return [
        Quote("AAPL", d("190.41"), d(300), d("190.43"), d("12.5"), _at(1, 250_000)),
        Quote("AAPL", d("190.42"), d(200), d("190.44"), d(100), _at(30, 5)),
        Quote("MSFT", d("440.1"), d(1), d("440.12"), d("0.000000001"), _at(2)),
        Trade("AAPL", d("190.42"), d(5), _at(10), 101),
        Trade("AAPL", d("190.43"), d("0.5"), _at(10), 102),  # same time as the one before
        Trade("AAPL", d("190.44"), d(100), _at(20, 999_999), 103),
        Trade("MSFT", d("440.11"), d(3), _at(5), 201),
        Quote("BTC/USD", d("91999.99"), d("0.25"), d("92000.01"), d("1.5"), _at(40)),
        Trade("BTC/USD", d("92000"), d("0.000123456"), _at(41), 301),
    ]


# -- the server -----------------------------------------------------------------------------------


@dataclass
class Live:
    url: str
    key_id: str = ""
    secret: str = ""
    trade_key: tuple[str, str] = ("", "")
    bars: list[Bar] = field(default_factory=_seed_bars)
    ticks: list[Tick] = field(default_factory=_seed_ticks)

    def bars_of(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime = NOW
    ) -> list[Bar]:
        return [
            b
            for b in self.bars
            if b.symbol == symbol and b.timeframe is timeframe and start <= b.start <= end
        ]


async def _seed(platform: Platform, live: Live) -> None:
    async with platform.uows() as uow:
        for instrument in (*INSTRUMENTS, BITCOIN):
            await upsert_instrument(uow, instrument, now=NOW)
        await save_bars(uow.session, live.bars)
        await create_user(
            platform.identity,
            uow,
            email="algo@example.com",
            password=PASSWORD,
            verified=True,
            actor_type="system",
        )
    for tick in live.ticks:
        await platform.marketdata.cache.put(tick)
    for scopes in ((ApiKeyScope.DATA,), (ApiKeyScope.TRADE,)):
        key = await create_key_for_email(
            platform.identity, "algo@example.com", scopes=scopes, name="algo", expires_in=None
        )
        if scopes == (ApiKeyScope.DATA,):
            live.key_id, live.secret = key.key_id, key.secret
        else:
            live.trade_key = (key.key_id, key.secret)


class ServerThread(threading.Thread):
    def __init__(self, settings: Settings, sock: socket.socket, live: Live) -> None:
        super().__init__(name="finplat-acceptance", daemon=True)
        self.settings, self.sock, self.live = settings, sock, live
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.server: uvicorn.Server | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to the test thread
            self.error = error
        finally:
            self.ready.set()

    async def _serve(self) -> None:
        platform = build_platform(self.settings, clock=ManualClock(NOW))
        platform.marketdata.provider = SilentProvider()
        await upgrade(platform.database)
        await _seed(platform, self.live)
        app = create_app(self.settings, platform=platform)
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        serving = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        # ready once it listens and the (silent) feed has resumed the forming bars
        while not (self.server.started and platform.marketdata.feed is not None):
            if serving.done():
                await serving  # raises what stopped it
                raise RuntimeError("the server stopped before it was ready")
            await asyncio.sleep(0.01)
        self.ready.set()
        await serving


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir: Path = tmp_path_factory.mktemp("acceptance")
    settings = identity_settings(
        "", data_dir, marketdata_daily_history_days=0, marketdata_minute_history_days=0
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = ServerThread(settings, sock, Live(f"http://127.0.0.1:{sock.getsockname()[1]}"))
    server.start()
    try:
        if not server.ready.wait(STARTUP_BOUND) or server.error is not None:
            raise RuntimeError("the acceptance server did not start") from server.error
        yield server.live
    finally:
        if server.server is not None:
            server.server.should_exit = True
        server.join(STARTUP_BOUND)
        sock.close()
