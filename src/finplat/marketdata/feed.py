"""The live feed: ticks from the provider into the cache, the live bars and the stream hub.

Ticks never go through the outbox (DESIGN §3): they are offered to the in-process hub as
they arrive; finished and forming bars are saved by a flusher about once a second, so the
database is off the tick path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

from finplat.kernel import Clock
from finplat.marketdata.bars import latest_bars, save_bars
from finplat.marketdata.cache import MarketCache
from finplat.marketdata.codec import bar_to_dict, quote_to_dict, trade_to_dict
from finplat.marketdata.domain import Bar, Quote, Tick, Timeframe
from finplat.marketdata.hub import StreamHub
from finplat.marketdata.live import LiveBars
from finplat.marketdata.providers import FeedStopped, MarketDataProvider
from finplat.platform.db import UnitOfWorkFactory

log = logging.getLogger(__name__)


def encode(kind: str, data: dict[str, object]) -> str:
    return json.dumps({"type": kind, **data}, separators=(",", ":"))


def encode_tick(tick: Tick) -> tuple[str, str]:
    """(channel, message) for a tick on the native stream."""
    if isinstance(tick, Quote):
        return "quotes", encode("quote", quote_to_dict(tick))
    return "trades", encode("trade", trade_to_dict(tick))


def encode_bar(bar: Bar) -> str:
    return encode("bar", bar_to_dict(bar))


@dataclass
class FeedStats:
    ticks: int = 0
    bars_saved: int = 0
    reconnects: int = 0
    last_error: str = ""


@dataclass
class LiveFeed:
    provider: MarketDataProvider
    symbols: list[str]
    cache: MarketCache
    hub: StreamHub
    live: LiveBars
    uows: UnitOfWorkFactory
    clock: Clock
    flush_interval: timedelta = timedelta(seconds=1)
    retry_delay: timedelta = timedelta(seconds=2)
    on_tick: list[Callable[[Tick], None]] = field(default_factory=list)
    stats: FeedStats = field(default_factory=FeedStats)

    async def ingest(self, tick: Tick) -> None:
        self.stats.ticks += 1
        await self.cache.put(tick)
        channel = "quotes" if isinstance(tick, Quote) else "trades"
        if self.hub.wants(channel, tick.symbol):
            self.hub.publish(channel, tick.symbol, encode_tick(tick)[1])
        if not isinstance(tick, Quote):
            self.live.add(tick)
        for listener in self.on_tick:
            listener(tick)
        self._publish_closed()

    def _publish_closed(self) -> None:
        for bar in self.live.take_closed():
            if self.hub.wants("bars", bar.symbol):
                self.hub.publish("bars", bar.symbol, encode_bar(bar))

    async def resume(self) -> None:
        """Pick up the hour and day bars that were forming before a restart."""
        now = self.clock.now()
        async with self.uows(read_only=True) as uow:
            for symbol in self.symbols:
                for timeframe in (Timeframe.HOUR, Timeframe.DAY):
                    stored = await latest_bars(
                        uow.session, symbol, timeframe, 1, before=now + timeframe.length
                    )
                    self.live.resume(stored, now)

    async def flush(self) -> int:
        self.live.close_due(self.clock.now())
        self._publish_closed()
        dirty = self.live.take_dirty()
        if not dirty:
            return 0
        try:
            async with self.uows() as uow:
                await save_bars(uow.session, dirty)
        except BaseException:
            self.live.restore_dirty(dirty)  # saved by the next flush, or the final one
            raise
        self.stats.bars_saved += len(dirty)
        return len(dirty)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume the provider until `stop`; reconnect when the feed stops."""
        flusher = asyncio.create_task(self._flush_loop(stop), name="marketdata-flush")
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                consumer = asyncio.create_task(self._consume(), name="marketdata-consume")
                await asyncio.wait({consumer, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    consumer.cancel()
                    with suppress(asyncio.CancelledError):
                        await consumer
                    break
                self.stats.reconnects += 1
                await self.cache.mark_dead(self.provider.name)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry_delay.total_seconds())
        finally:
            stopping.cancel()
            await flusher  # it returns once `stop` is set, after any save in progress
            try:
                await self.flush()
            except Exception:
                log.exception("saving live bars at shutdown failed")

    async def _consume(self) -> None:
        try:
            async for tick in self.provider.stream(self.symbols):
                await self.ingest(tick)
            log.warning("market data feed %s ended", self.provider.name)
        except FeedStopped as error:
            self.stats.last_error = str(error)
            log.warning("market data feed %s stopped: %s", self.provider.name, error)
        except Exception as error:
            self.stats.last_error = repr(error)
            log.exception("market data feed %s failed", self.provider.name)

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.flush_interval.total_seconds())
            if stop.is_set():
                return  # `run` makes the final flush
            try:
                await self.flush()
            except Exception:
                log.exception("saving live bars failed; retrying")
