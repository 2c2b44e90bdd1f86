"""A live finplat server for alpaca-py's trading clients: the app from `create_app` on an
SQLite file, in its own thread and event loop, with the paper venue running and the market
seeded (instruments and quotes); each test gets its own funded paper customer.

Calls into the server's loop (`call`) let a test seed customers, move quotes through the
live feed, move the clock, and wait until the paper venue has worked everything handed to
it, so that no test waits on time.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from alpaca.trading.client import TradingClient
from alpaca.trading.models import (
    Asset,
    Calendar,
    Clock,
    ClosePositionResponse,
    Order,
    Position,
    TradeAccount,
)
from alpaca.trading.requests import (
    CancelOrderResponse,
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    OrderRequest,
    ReplaceOrderRequest,
)

from finplat.app import Platform, build_platform, create_app
from finplat.identity import ApiKeyScope
from finplat.kernel import ManualClock
from finplat.marketdata.domain import Quote
from finplat.platform.db.migrate import upgrade
from finplat.trading import service
from finplat.trading.updates import Listener, TradeUpdates
from finplat.trading.venues.simulated import PaperVenue
from tests.acceptance.conftest import STARTUP_BOUND, SilentProvider
from tests.support.alpaca_trading import (
    RecordingVenue,
    api_key,
    mount_alpaca,
    paper_trader,
    seed_market,
)
from tests.support.identity import identity_settings

T = TypeVar("T")
BOUND = 30.0  # seconds: a ceiling against hangs, never a timing assertion


class WatchedUpdates(TradeUpdates):
    """Trade updates that say when an account's stream starts listening."""

    def __init__(self) -> None:
        super().__init__()
        self.listening: dict[uuid.UUID, threading.Event] = {}

    def listen(self, account_id: uuid.UUID) -> Listener:
        listener = super().listen(account_id)
        self.listening.setdefault(account_id, threading.Event()).set()
        return listener

    def wait_for_listener(self, account_id: uuid.UUID) -> None:
        event = self.listening.setdefault(account_id, threading.Event())
        if not event.wait(BOUND):
            raise TimeoutError("the trade updates stream never listened")


@dataclass(frozen=True)
class Trader:
    user_id: uuid.UUID
    key_id: str
    secret: str


class TradingServer(threading.Thread):
    def __init__(self, data_dir: Path, start: datetime) -> None:
        super().__init__(name="finplat-trading-acceptance", daemon=True)
        self.settings = identity_settings(
            "", data_dir, marketdata_daily_history_days=0, marketdata_minute_history_days=0
        )
        self.clock = ManualClock(start)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.stream_url = f"ws://127.0.0.1:{port}/stream"
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.server: uvicorn.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.platform: Platform | None = None
        self.venue: PaperVenue | None = None
        self.updates = WatchedUpdates()
        self._halt: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to the test thread
            self.error = error
        finally:
            self.ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._halt = asyncio.Event()
        platform = self.platform = build_platform(self.settings, clock=self.clock)
        platform.marketdata.provider = SilentProvider()
        platform.trading.updates = self.updates
        await upgrade(platform.database)
        await seed_market(platform)
        app = create_app(self.settings, platform=platform)
        mount_alpaca(app)
        platform.trading.venues["internal"] = RecordingVenue("internal", cancels_at_once=False)
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        serving = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not (self.server.started and platform.marketdata.feed is not None):
            if serving.done():
                await serving
                raise RuntimeError("the server stopped before it was ready")
            await asyncio.sleep(0.01)
        working: asyncio.Task[None] | None = None
        running = platform.trading.venues.get(PaperVenue.name)
        if isinstance(running, PaperVenue):
            self.venue = running  # the platform runs it
        else:  # quotes from the live feed, which runs by now
            self.venue = PaperVenue(platform.trading, desk=service)
            platform.trading.venues[self.venue.name] = self.venue
            working = asyncio.create_task(self.venue.run(self._halt))
        self.ready.set()
        try:
            await serving
        finally:
            self._halt.set()
            if working is not None:
                await working

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the server's loop and return what it returns."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(BOUND)

    def trader(self, email: str, cash: Decimal = Decimal(100_000)) -> Trader:
        platform = self.platform
        assert platform is not None

        async def make() -> Trader:
            user_id = await paper_trader(platform, email, cash)
            scopes = (ApiKeyScope.READ, ApiKeyScope.TRADE, ApiKeyScope.DATA)
            key_id, secret = await api_key(platform, email, *scopes)
            return Trader(user_id, key_id, secret)

        return self.call(make())

    def settle(self) -> None:
        """Wait until the paper venue has worked every order and quote handed to it."""
        assert self.venue is not None
        self.call(self.venue.idle())

    def quote(self, quote: Quote) -> None:
        """A quote through the live feed, as the provider would send it."""
        platform = self.platform
        assert platform is not None
        assert platform.marketdata.feed is not None
        self.call(platform.marketdata.feed.ingest(quote))
        self.settle()


_M = TypeVar("_M")


def _one(value: object, kind: type[_M]) -> _M:
    assert isinstance(value, kind), value
    return value


def _many(value: object, kind: type[_M]) -> list[_M]:
    assert isinstance(value, list), value
    return [_one(item, kind) for item in value]


class Alpaca:
    """alpaca-py's TradingClient, unmodified, with each answer narrowed to its model
    (alpaca-py types them as the model or raw data)."""

    def __init__(self, server: TradingServer, trader: Trader) -> None:
        self.raw = TradingClient(trader.key_id, trader.secret, paper=True, url_override=server.url)

    def account(self) -> TradeAccount:
        return _one(self.raw.get_account(), TradeAccount)

    def submit(self, request: OrderRequest) -> Order:
        return _one(self.raw.submit_order(request), Order)

    def order(self, order_id: uuid.UUID | str) -> Order:
        return _one(self.raw.get_order_by_id(order_id), Order)

    def order_by_client_id(self, client_order_id: str) -> Order:
        return _one(self.raw.get_order_by_client_id(client_order_id), Order)

    def orders(self, query: GetOrdersRequest | None = None) -> list[Order]:
        return _many(self.raw.get_orders(query), Order)

    def replace(self, order_id: uuid.UUID, request: ReplaceOrderRequest) -> Order:
        return _one(self.raw.replace_order_by_id(order_id, request), Order)

    def cancel_all(self) -> list[CancelOrderResponse]:
        return _many(self.raw.cancel_orders(), CancelOrderResponse)

    def positions(self) -> list[Position]:
        return _many(self.raw.get_all_positions(), Position)

    def position(self, symbol_or_id: uuid.UUID | str) -> Position:
        return _one(self.raw.get_open_position(symbol_or_id), Position)

    def close(self, symbol: str, request: ClosePositionRequest | None = None) -> Order:
        return _one(self.raw.close_position(symbol, request), Order)

    def close_all(self, *, cancel_orders: bool) -> list[ClosePositionResponse]:
        return _many(self.raw.close_all_positions(cancel_orders), ClosePositionResponse)

    def assets(self, query: GetAssetsRequest | None = None) -> list[Asset]:
        return _many(self.raw.get_all_assets(query), Asset)

    def asset(self, symbol_or_id: uuid.UUID | str) -> Asset:
        return _one(self.raw.get_asset(symbol_or_id), Asset)

    def clock(self) -> Clock:
        return _one(self.raw.get_clock(), Clock)

    def calendar(self, query: GetCalendarRequest) -> list[Calendar]:
        return _many(self.raw.get_calendar(query), Calendar)


@contextmanager
def trading_server(data_dir: Path, start: datetime) -> Iterator[TradingServer]:
    server = TradingServer(data_dir, start)
    server.start()
    try:
        if not server.ready.wait(STARTUP_BOUND) or server.error is not None:
            raise RuntimeError("the trading acceptance server did not start") from server.error
        yield server
    finally:
        if server.server is not None:
            server.server.should_exit = True
        server.join(STARTUP_BOUND)
        server.sock.close()
