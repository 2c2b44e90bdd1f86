"""Market data use cases: history backfill, snapshots, and the feed's start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from finplat.marketdata.bars import last_bar_starts, latest_bars, read_bars, save_bars
from finplat.marketdata.context import MarketDataKit
from finplat.marketdata.domain import (
    Bar,
    Instrument,
    InstrumentStatus,
    Quote,
    Timeframe,
    Trade,
    roll_up,
)
from finplat.marketdata.feed import LiveFeed
from finplat.marketdata.instruments import ImportSummary, import_instruments, list_instruments
from finplat.marketdata.live import LiveBars


@dataclass(frozen=True)
class BackfillSummary:
    instruments: int
    bars: dict[Timeframe, int]

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {tf.value}" for tf, n in self.bars.items())
        return f"{self.instruments} instruments, {counts} bars"


async def backfill(
    kit: MarketDataKit, instruments: Sequence[Instrument], *, now: datetime | None = None
) -> BackfillSummary:
    """Fill the bar history up to the current minute from the provider, resuming after the
    newest stored bar. Daily bars come from the provider up to the minute history's first
    day; within the minute history, hour and day bars are rolled up from the stored minute
    bars, so a chart's intraday and daily views agree."""
    now = now or kit.clock.now()
    provider = kit.provider_for(instruments)
    counts = dict.fromkeys((Timeframe.MINUTE, Timeframe.HOUR, Timeframe.DAY), 0)
    async with kit.uows(read_only=True) as uow:
        newest = {tf: await last_bar_starts(uow.session, tf) for tf in counts}
    for instrument in instruments:
        symbol, zone = instrument.symbol, instrument.timezone
        minute_from = Timeframe.DAY.bucket(now - timedelta(days=kit.history.minute_days), zone)
        daily_from = Timeframe.DAY.bucket(now - timedelta(days=kit.history.daily_days), zone)
        if symbol in newest[Timeframe.DAY]:
            daily_from = max(daily_from, newest[Timeframe.DAY][symbol] + timedelta(days=1))
        if daily_from < minute_from:
            days = await provider.bars(symbol, Timeframe.DAY, daily_from, minute_from)
            async with kit.uows() as uow:
                counts[Timeframe.DAY] += await save_bars(uow.session, days)
        since = minute_from
        if symbol in newest[Timeframe.MINUTE]:
            since = max(since, newest[Timeframe.MINUTE][symbol] + timedelta(minutes=1))
        until = Timeframe.MINUTE.bucket(now, zone)
        if since >= until or kit.history.minute_days == 0:
            continue
        minutes = await provider.bars(symbol, Timeframe.MINUTE, since, until)
        if not minutes:
            continue
        async with kit.uows() as uow:
            counts[Timeframe.MINUTE] += await save_bars(uow.session, minutes)
            # roll up whole days: the stored minutes of every day the new ones touch
            first_day = Timeframe.DAY.bucket(minutes[0].start, zone)
            day_minutes = await _all_bars(uow.session, symbol, Timeframe.MINUTE, first_day, until)
            for timeframe in (Timeframe.HOUR, Timeframe.DAY):
                rolled = list(roll_up(day_minutes, timeframe, zone))
                counts[timeframe] += await save_bars(uow.session, rolled)
    return BackfillSummary(len(instruments), counts)


async def _all_bars(
    session: AsyncSession, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
) -> list[Bar]:
    out: list[Bar] = []
    after: tuple[str, datetime] | None = None
    while True:
        page = await read_bars(session, [symbol], timeframe, start, end, limit=10_000, after=after)
        out.extend(page)
        if len(page) < 10_000:
            return out
        after = (symbol, page[-1].start)


@dataclass(frozen=True)
class Snapshot:
    symbol: str
    latest_trade: Trade | None
    latest_quote: Quote | None
    minute_bar: Bar | None
    daily_bar: Bar | None
    previous_daily_bar: Bar | None


async def snapshot(kit: MarketDataKit, instrument: Instrument) -> Snapshot:
    """The latest trade and quote, the current (or last) minute and daily bars and the
    previous daily bar: forming bars come from the live feed when this process runs it."""
    now = kit.clock.now()
    symbol = instrument.symbol
    async with kit.uows(read_only=True) as uow:
        stored_minute = await latest_bars(
            uow.session, symbol, Timeframe.MINUTE, 1, before=now + timedelta(minutes=1)
        )
        stored_days = await latest_bars(
            uow.session, symbol, Timeframe.DAY, 2, before=now + timedelta(days=1)
        )
    minute = kit.live.current(symbol, Timeframe.MINUTE) or _first(stored_minute)
    today = Timeframe.DAY.bucket(now, instrument.timezone)
    live_day = kit.live.current(symbol, Timeframe.DAY)
    days = [d for d in stored_days if live_day is None or d.start != live_day.start]
    daily = live_day or _first(days)
    previous = next((d for d in days if d.start < (daily.start if daily else today)), None)
    return Snapshot(
        symbol,
        await kit.cache.latest_trade(symbol),
        await kit.cache.latest_quote(symbol),
        minute,
        daily,
        previous,
    )


def _first(items: list[Bar]) -> Bar | None:
    return items[0] if items else None


async def start_feed(kit: MarketDataKit) -> LiveFeed:
    """Build the live feed for every active instrument, with the forming bars resumed."""
    async with kit.uows(read_only=True) as uow:
        instruments = await list_instruments(uow, status=InstrumentStatus.ACTIVE)
    kit.live = LiveBars({i.symbol: i.timezone for i in instruments})
    feed = LiveFeed(
        provider=kit.provider_for(instruments),
        symbols=[i.symbol for i in instruments],
        cache=kit.cache,
        hub=kit.hub,
        live=kit.live,
        uows=kit.uows,
        clock=kit.clock,
    )
    await feed.resume()
    kit.feed = feed
    return feed


async def seed_instruments(kit: MarketDataKit, csv_text: str) -> ImportSummary:
    async with kit.uows() as uow:
        return await import_instruments(uow, csv_text, now=kit.clock.now())


async def backfill_active(kit: MarketDataKit) -> BackfillSummary:
    """Backfill every active instrument (what `finplat demo` and a feed's start run)."""
    async with kit.uows(read_only=True) as uow:
        instruments = await list_instruments(uow, status=InstrumentStatus.ACTIVE)
    return await backfill(kit, instruments)
