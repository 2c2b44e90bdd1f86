"""Bars in the database, the history backfill, the live feed and the tick cache, on both
databases and on both cache backends (Redis for real)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from finplat.kernel import ManualClock
from finplat.marketdata.bars import last_bar_starts, read_bars, save_bars
from finplat.marketdata.cache import MarketCache, MemoryMarketCache, RedisMarketCache
from finplat.marketdata.context import HistoryPolicy, MarketDataKit
from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    Quote,
    Tick,
    Timeframe,
    Trade,
)
from finplat.marketdata.feed import LiveFeed
from finplat.marketdata.hub import StreamHub
from finplat.marketdata.instruments import upsert_instrument
from finplat.marketdata.live import LiveBars
from finplat.marketdata.providers import FeedStopped, MarketDataProvider
from finplat.marketdata.service import backfill, snapshot
from finplat.platform.db import UnitOfWorkFactory

D = Decimal
NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # a Monday, 09:30 New York


def aapl() -> Instrument:
    return Instrument(
        symbol="AAPL",
        name="Apple Inc.",
        asset_class=AssetClass.US_EQUITY,
        exchange="XNAS",
        currency="USD",
        tick_size=D("0.01"),
        lot_size=D("0.000000001"),
        fractionable=True,
        shortable=True,
    )


def flat_bar(symbol: str, timeframe: Timeframe, start: datetime, price: str) -> Bar:
    p = D(price)
    return Bar(symbol, timeframe, start, p, p + 1, p - 1, p, D(1000), 10, p)


class ScriptedProvider:
    """Bars: one per bucket (weekdays only for days) at a price that encodes its start;
    stream: the given ticks, then FeedStopped."""

    name = "scripted"

    def __init__(self, ticks: Sequence[Tick] = ()) -> None:
        self.ticks = list(ticks)
        self.requests: list[tuple[str, Timeframe, datetime, datetime]] = []

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        self.requests.append((symbol, timeframe, start, end))
        out, at = [], start
        while at < end:
            if timeframe is not Timeframe.DAY or at.astimezone(aapl().timezone).weekday() < 5:
                out.append(flat_bar(symbol, timeframe, at, f"{100 + at.day}.{at.minute:02d}"))
            at += timeframe.length
        return out

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        for tick in self.ticks:
            yield tick
        raise FeedStopped("script over")


def kit_for(
    uows: UnitOfWorkFactory, clock: ManualClock, provider: MarketDataProvider
) -> MarketDataKit:
    return MarketDataKit(
        uows=uows,
        clock=clock,
        cache=MemoryMarketCache(),
        hub=StreamHub(),
        provider_factory=lambda _instruments: provider,
        history=HistoryPolicy(daily_days=30, minute_days=1),
    )


async def test_bars_round_trip_exactly_and_upsert(uows: UnitOfWorkFactory) -> None:
    start = datetime(2026, 1, 2, 5, tzinfo=UTC)
    bar = Bar(
        "AAPL",
        Timeframe.DAY,
        start,
        D("243.850000001"),
        D("244.1"),
        D("240.5"),
        D("241.99"),
        D("55123456.5"),
        812_345,
        D("242.123456789"),
    )
    async with uows() as uow:
        assert await save_bars(uow.session, [bar]) == 1
    async with uows(read_only=True) as uow:
        assert await read_bars(
            uow.session, ["AAPL"], Timeframe.DAY, start, start + timedelta(days=1), limit=10
        ) == [bar]
    changed = Bar("AAPL", Timeframe.DAY, start, *(D(1),) * 4, D(2), 1, D(1))
    async with uows() as uow:
        await save_bars(uow.session, [changed])
    async with uows(read_only=True) as uow:
        found = await read_bars(
            uow.session, ["AAPL"], Timeframe.DAY, start, start + timedelta(days=1), limit=10
        )
        newest = await last_bar_starts(uow.session, Timeframe.DAY)
    assert found == [changed]
    assert newest == {"AAPL": start}
    assert newest["AAPL"].tzinfo is not None


async def test_reading_bars_pages_by_symbol_then_time(uows: UnitOfWorkFactory) -> None:
    first = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    minutes = [
        flat_bar(symbol, Timeframe.MINUTE, first + timedelta(minutes=n), "10")
        for symbol in ("MSFT", "AAPL")
        for n in range(3)
    ]
    async with uows() as uow:
        await save_bars(uow.session, minutes)
    end = first + timedelta(hours=1)
    seen: list[tuple[str, datetime]] = []
    after = None
    async with uows(read_only=True) as uow:
        while True:
            page = await read_bars(
                uow.session, ["MSFT", "AAPL"], Timeframe.MINUTE, first, end, limit=4, after=after
            )
            seen += [(b.symbol, b.start) for b in page]
            if len(page) < 4:
                break
            after = (page[-1].symbol, page[-1].start)
        newest_first = await read_bars(
            uow.session, ["AAPL"], Timeframe.MINUTE, first, end, limit=2, descending=True
        )
    assert seen == [(s, first + timedelta(minutes=n)) for s in ("AAPL", "MSFT") for n in range(3)]
    assert [b.start for b in newest_first] == [
        first + timedelta(minutes=2),
        first + timedelta(minutes=1),
    ]


async def test_backfill_fills_history_once_and_rolls_intraday_up(
    uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    provider = ScriptedProvider()
    kit = kit_for(uows, clock, provider)
    async with uows() as uow:
        instrument = await upsert_instrument(uow, aapl(), now=clock.now())
    summary = await backfill(kit, [instrument])
    # daily bars for the 30 days before the minute history (which starts at Sunday's
    # midnight in New York): weekdays only
    minute_from = datetime(2026, 1, 4, 5, tzinfo=UTC)
    assert provider.requests[0] == (
        "AAPL",
        Timeframe.DAY,
        datetime(2025, 12, 6, 5, tzinfo=UTC),
        minute_from,
    )
    assert provider.requests[1] == ("AAPL", Timeframe.MINUTE, minute_from, NOW)
    minutes = int((NOW - minute_from) / timedelta(minutes=1))
    assert summary.bars[Timeframe.MINUTE] == minutes
    assert summary.bars[Timeframe.HOUR] == 34  # Sunday 00:00 to Monday 09:30 New York
    assert summary.bars[Timeframe.DAY] == 20 + 2  # 20 weekdays, then Sunday and Monday rolled
    async with uows(read_only=True) as uow:
        monday = await read_bars(
            uow.session, ["AAPL"], Timeframe.DAY, datetime(2026, 1, 5, 5, tzinfo=UTC), NOW, limit=5
        )
    (day,) = monday
    assert day.trade_count == 10 * int((NOW - day.start) / timedelta(minutes=1))
    assert day.close == D("105.29")  # the 09:29 minute bar's close
    # a second run finds everything in place and asks the provider for nothing new
    provider.requests.clear()
    again = await backfill(kit, [instrument])
    assert sum(again.bars.values()) == 0
    assert provider.requests == []


def quote(at: datetime, bid: str, provider: str = "scripted") -> Quote:
    return Quote("AAPL", D(bid), D(100), D(bid) + D("0.02"), D(200), at, provider)


async def test_the_live_feed_caches_streams_and_saves_bars(
    uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    ticks: list[Tick] = [
        quote(NOW, "230.00"),
        Trade("AAPL", D("230.01"), D(10), NOW + timedelta(seconds=1), 1, "scripted"),
        quote(NOW + timedelta(seconds=2), "230.05"),
        Trade("AAPL", D("230.07"), D("0.5"), NOW + timedelta(minutes=1), 2, "scripted"),
    ]
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("quotes", ["AAPL"])
    listener.subscribe("bars", ["*"])
    cache = MemoryMarketCache()
    live = LiveBars({"AAPL": aapl().timezone})
    feed = LiveFeed(
        provider=ScriptedProvider(ticks),
        symbols=["AAPL"],
        cache=cache,
        hub=hub,
        live=live,
        uows=uows,
        clock=clock,
        retry_delay=timedelta(seconds=60),
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(feed.run(stop))
    while feed.stats.reconnects == 0:  # noqa: ASYNC110 - polls the feed's own counter
        await asyncio.sleep(0.01)
    stop.set()
    await runner
    assert feed.stats.ticks == 4, feed.stats
    assert feed.stats.bars_saved == 3, feed.stats
    latest = await cache.latest_quote("AAPL")
    assert latest is not None
    assert latest.bid_price == D("230.05")
    assert latest.stale  # the feed stopped: its last quote is not live
    messages = listener.drain()
    assert any('"type":"bar"' in m and '"close":"230.01"' in m for m in messages)
    quotes = [m for m in messages if '"type":"quote"' in m]
    assert len(quotes) == 1  # conflated: only the newest quote waited
    assert '"bid_price":"230.05"' in quotes[0]
    async with uows(read_only=True) as uow:
        saved = await read_bars(
            uow.session, ["AAPL"], Timeframe.MINUTE, NOW, NOW + timedelta(hours=1), limit=10
        )
        days = await read_bars(
            uow.session, ["AAPL"], Timeframe.DAY, NOW - timedelta(days=1), NOW, limit=10
        )
    assert [(b.start, b.close, b.volume) for b in saved] == [(NOW, D("230.01"), D(10))]
    assert [(b.close, b.volume, b.trade_count) for b in days] == [(D("230.07"), D("10.5"), 2)]


async def test_a_snapshot_joins_live_and_stored_bars(
    uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    kit = kit_for(uows, clock, ScriptedProvider())
    kit.live = LiveBars({"AAPL": aapl().timezone})
    friday = datetime(2026, 1, 2, 5, tzinfo=UTC)
    thursday = datetime(2026, 1, 1, 5, tzinfo=UTC)
    async with uows() as uow:
        await save_bars(
            uow.session,
            [flat_bar("AAPL", Timeframe.DAY, d, p) for d, p in ((thursday, "99"), (friday, "100"))],
        )
    kit.live.add(Trade("AAPL", D("101.50"), D(3), NOW, 7, "scripted"))
    await kit.cache.put(Trade("AAPL", D("101.50"), D(3), NOW, 7, "scripted"))
    snap = await snapshot(kit, aapl())
    assert snap.latest_trade is not None
    assert snap.latest_trade.price == D("101.50")
    assert snap.daily_bar is not None
    assert (snap.daily_bar.start, snap.daily_bar.open) == (
        datetime(2026, 1, 5, 5, tzinfo=UTC),
        D("101.50"),
    )
    assert snap.previous_daily_bar is not None
    assert snap.previous_daily_bar.start == friday
    assert snap.minute_bar is not None
    assert snap.minute_bar.start == NOW


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[MarketCache]:
    if request.param == "memory":
        yield MemoryMarketCache(window=3)
        return
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"test:{uuid.uuid4().hex}:"
    try:
        yield RedisMarketCache(client, prefix=prefix, window=3)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_the_cache_keeps_the_latest_and_a_bounded_window(cache: MarketCache) -> None:
    assert await cache.latest_quote("AAPL") is None
    for n in range(5):
        await cache.put(quote(NOW + timedelta(seconds=n), f"230.0{n}"))
    await cache.put(Trade("AAPL", D("230.123456789"), D("0.000000001"), NOW, 9, "scripted"))
    latest = await cache.latest_quote("AAPL")
    assert latest == quote(NOW + timedelta(seconds=4), "230.04")
    trade = await cache.latest_trade("AAPL")
    assert trade is not None
    assert (trade.price, trade.size, trade.trade_id) == (D("230.123456789"), D("0.000000001"), 9)
    window = await cache.recent_quotes("AAPL", NOW, NOW + timedelta(minutes=1), limit=10)
    assert [q.bid_price for q in window] == [D("230.02"), D("230.03"), D("230.04")]
    assert [
        q.bid_price
        for q in await cache.recent_quotes("AAPL", NOW, NOW + timedelta(seconds=4), limit=1)
    ] == [D("230.02")]


async def test_quotes_of_a_dead_provider_read_back_stale_until_it_sends_again(
    cache: MarketCache,
) -> None:
    await cache.put(quote(NOW, "230.00"))
    await cache.mark_dead("scripted")
    stale = await cache.latest_quote("AAPL")
    assert stale is not None
    assert stale.stale
    (windowed,) = await cache.recent_quotes("AAPL", NOW, NOW + timedelta(seconds=1), limit=5)
    assert windowed.stale
    await cache.put(quote(NOW + timedelta(seconds=1), "230.01"))
    fresh = await cache.latest_quote("AAPL")
    assert fresh is not None
    assert not fresh.stale
