"""The simulated provider: deterministic, on the grids, consistent across timeframes and with
its own live stream."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from finplat.kernel import ManualClock
from finplat.marketdata.calendars import calendar_for
from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    InvalidMarketData,
    Quote,
    Tick,
    Timeframe,
    Trade,
    roll_up,
)
from finplat.marketdata.providers.simulated import CalendarFor, SimulatedProvider

NEW_YORK = ZoneInfo("America/New_York")
MONDAY_OPEN = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # 09:30 in New York


def equity(symbol: str, lot: str = "1", tick: str = "0.01") -> Instrument:
    return Instrument(
        symbol,
        f"{symbol} Inc.",
        AssetClass.US_EQUITY,
        "XNAS",
        "USD",
        Decimal(tick),
        Decimal(lot),
        fractionable=lot != "1",
        shortable=True,
    )


def crypto(symbol: str, lot: str = "0.0001") -> Instrument:
    return Instrument(
        symbol,
        symbol,
        AssetClass.CRYPTO,
        "CRYPTO",
        "USD",
        Decimal("0.01"),
        Decimal(lot),
        fractionable=True,
        shortable=False,
        min_order_size=Decimal(lot),
    )


INSTRUMENTS = [
    equity("AAPL"),
    equity("ZZZQ", lot="0.000000001"),
    crypto("BTC/USD"),
    crypto("ETH/USD", lot="0.000000001"),
]
BY_SYMBOL = {instrument.symbol: instrument for instrument in INSTRUMENTS}
SYMBOLS = list(BY_SYMBOL)


def advancing(clock: ManualClock) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    return sleep


def provider(
    clock: ManualClock, seed: int = 7, calendar_for: CalendarFor | None = None
) -> SimulatedProvider:
    return SimulatedProvider(
        INSTRUMENTS, seed=seed, clock=clock, sleep=advancing(clock), calendar_for=calendar_for
    )


async def take(ticks: AsyncIterator[Tick], count: int) -> list[Tick]:
    taken: list[Tick] = []
    async for tick in ticks:
        taken.append(tick)
        if len(taken) == count:
            break
    closer = getattr(ticks, "aclose", None)
    if closer is not None:
        await closer()
    return taken


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def new_york_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=NEW_YORK).astimezone(UTC)


# --- determinism ------------------------------------------------------------------------------


async def test_the_same_seed_gives_the_same_bars_and_another_seed_other_bars() -> None:
    first, second = ManualClock(MONDAY_OPEN), ManualClock(MONDAY_OPEN)
    start = utc(2025, 6, 1)
    for symbol in SYMBOLS:
        for timeframe, begin in ((Timeframe.DAY, start), (Timeframe.MINUTE, utc(2025, 12, 29))):
            one = await provider(first).bars(symbol, timeframe, begin, MONDAY_OPEN)
            two = await provider(second).bars(symbol, timeframe, begin, MONDAY_OPEN)
            assert one == two
            assert len(one) > 100
    other = await provider(first, seed=8).bars("AAPL", Timeframe.DAY, start, MONDAY_OPEN)
    same = await provider(first).bars("AAPL", Timeframe.DAY, start, MONDAY_OPEN)
    assert [bar.start for bar in other] == [bar.start for bar in same]
    assert sum(a.close != b.close for a, b in zip(other, same, strict=True)) > 100


async def test_the_same_seed_gives_the_same_first_ticks_and_another_seed_other_ticks() -> None:
    runs = []
    for seed in (7, 7, 8):
        clock = ManualClock(MONDAY_OPEN)
        runs.append(await take(provider(clock, seed=seed).stream(SYMBOLS), 60))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


async def test_bars_do_not_depend_on_how_the_range_is_split() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    cases = [
        (Timeframe.DAY, utc(2024, 1, 1), utc(2024, 11, 14, 17, 3), utc(2026, 1, 5)),
        (Timeframe.HOUR, utc(2025, 12, 1), utc(2025, 12, 10, 15, 30), utc(2025, 12, 20)),
        (Timeframe.MINUTE, utc(2025, 12, 30), utc(2025, 12, 31, 16, 7, 30), utc(2026, 1, 3)),
    ]
    for symbol in ("AAPL", "BTC/USD"):
        for timeframe, a, b, c in cases:
            whole = await simulated.bars(symbol, timeframe, a, c)
            left = await simulated.bars(symbol, timeframe, a, b)
            right = await simulated.bars(symbol, timeframe, b, c)
            assert whole == left + right
            assert left
            assert right
    # and the order of the requests does not matter either
    later = provider(ManualClock(MONDAY_OPEN))
    tail = await later.bars("AAPL", Timeframe.DAY, utc(2025, 6, 1), utc(2025, 7, 1))
    head = await later.bars("AAPL", Timeframe.DAY, utc(2020, 1, 1), utc(2025, 7, 1))
    assert head[-len(tail) :] == tail


# --- the shape of the history -----------------------------------------------------------------


async def test_equity_day_bars_are_weekdays_and_crypto_day_bars_every_day() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    start, end = utc(2025, 3, 1), utc(2025, 4, 1)
    days = [date(2025, 3, 1) + timedelta(days=n) for n in range(31)]
    equities = await simulated.bars("AAPL", Timeframe.DAY, start, end)
    assert [bar.start for bar in equities] == [
        new_york_midnight(day) for day in days if day.weekday() < 5
    ]
    coins = await simulated.bars("BTC/USD", Timeframe.DAY, start, end)
    assert [bar.start for bar in coins] == [
        datetime.combine(day, time(0), tzinfo=UTC) for day in days
    ]


async def test_equity_minutes_fill_the_new_york_session_in_winter_and_summer() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    winter = await simulated.bars("AAPL", Timeframe.MINUTE, utc(2025, 12, 3), utc(2025, 12, 4))
    summer = await simulated.bars("AAPL", Timeframe.MINUTE, utc(2025, 7, 9), utc(2025, 7, 10))
    assert [bar.start for bar in winter] == [
        utc(2025, 12, 3, 14, 30) + timedelta(minutes=n) for n in range(390)
    ]
    assert [bar.start for bar in summer] == [
        utc(2025, 7, 9, 13, 30) + timedelta(minutes=n) for n in range(390)
    ]
    weekend = await simulated.bars("AAPL", Timeframe.MINUTE, utc(2025, 12, 6), utc(2025, 12, 8))
    assert weekend == []
    coins = await simulated.bars("BTC/USD", Timeframe.MINUTE, utc(2025, 12, 6), utc(2025, 12, 7))
    assert len(coins) == 1440


async def test_every_bar_is_on_the_grids_with_volume_trades_and_a_vwap_inside() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    for instrument in INSTRUMENTS:
        step = Decimal(1) if instrument.symbol == "ZZZQ" else instrument.lot_size
        for timeframe, start in (
            (Timeframe.DAY, utc(2021, 1, 1)),
            (Timeframe.HOUR, utc(2025, 11, 1)),
            (Timeframe.MINUTE, utc(2025, 12, 22)),
        ):
            bars = await simulated.bars(instrument.symbol, timeframe, start, MONDAY_OPEN)
            assert bars
            for bar in bars:
                assert isinstance(bar, Bar)  # the constructor checked open/close in low..high
                prices = (bar.open, bar.high, bar.low, bar.close)
                assert all(instrument.on_tick(price) for price in prices)
                assert bar.low >= 2 * instrument.tick_size
                assert bar.volume > 0
                assert bar.volume % step == 0
                assert bar.trade_count > 0
                assert bar.low <= bar.vwap <= bar.high


async def test_day_volumes_are_plausible() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    bars = await simulated.bars("AAPL", Timeframe.DAY, utc(2025, 1, 1), utc(2026, 1, 1))
    volumes = sorted(bar.volume for bar in bars)
    median = volumes[len(volumes) // 2]
    assert 25_000_000 < median < 100_000_000  # AAPL trades about 50 million a day
    assert all(20 < bar.volume / bar.trade_count < 400 for bar in bars)


async def test_minute_bars_roll_up_to_the_hour_and_day_bars() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    for symbol, day_start, day_end in (
        ("AAPL", utc(2025, 12, 3), utc(2025, 12, 4)),
        ("BTC/USD", utc(2025, 12, 6), utc(2025, 12, 7)),
    ):
        zone = BY_SYMBOL[symbol].timezone
        minutes = await simulated.bars(symbol, Timeframe.MINUTE, day_start, day_end)
        hours = await simulated.bars(symbol, Timeframe.HOUR, day_start, day_end)
        [day] = await simulated.bars(symbol, Timeframe.DAY, day_start - timedelta(hours=1), day_end)
        rolled_hours = list(roll_up(minutes, Timeframe.HOUR, zone))
        [rolled_day] = roll_up(minutes, Timeframe.DAY, zone)
        assert [without_vwap(bar) for bar in hours] == [without_vwap(b) for b in rolled_hours]
        for hour, rolled in zip(hours, rolled_hours, strict=True):
            assert abs(hour.vwap - rolled.vwap) <= Decimal("1e-8")  # float sums, then rounded
        assert without_vwap(day) == without_vwap(rolled_day)
        # The day's vwap comes from the day's anchor points, not from its minutes.
        assert abs(day.vwap / rolled_day.vwap - 1) < Decimal("0.005")


async def test_each_day_high_and_low_is_reached_once_in_its_minutes() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    for symbol in ("AAPL", "BTC/USD"):
        zone = BY_SYMBOL[symbol].timezone
        days = await simulated.bars(symbol, Timeframe.DAY, utc(2025, 12, 1), utc(2025, 12, 15))
        minutes = await simulated.bars(
            symbol, Timeframe.MINUTE, utc(2025, 12, 1), utc(2025, 12, 15)
        )
        by_day: dict[datetime, list[Bar]] = {}
        for bar in minutes:
            by_day.setdefault(Timeframe.DAY.bucket(bar.start, zone), []).append(bar)
        for day in days:
            inside = by_day[day.start]
            # the minute that ends at the extreme, and the one that starts there
            assert sum(bar.high == day.high for bar in inside) == 2
            assert sum(bar.low == day.low for bar in inside) == 2


def without_vwap(bar: Bar) -> tuple[object, ...]:
    return (bar.start, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trade_count)


async def test_the_annualised_volatility_of_daily_returns_is_near_the_profile() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    for symbol, days_a_year in (("AAPL", 252), ("ZZZQ", 252), ("BTC/USD", 365)):
        bars = await simulated.bars(symbol, Timeframe.DAY, utc(2021, 1, 4), MONDAY_OPEN)
        closes = [float(bar.close) for bar in bars]
        returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
        realised = statistics.stdev(returns) * math.sqrt(days_a_year)
        configured = simulated.profile(symbol).volatility
        assert 0.8 < realised / configured < 1.3, (symbol, realised, configured)


async def test_profiles_start_from_plausible_prices() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    assert 200 < simulated.profile("AAPL").reference_price < 260
    assert 80_000 < simulated.profile("BTC/USD").reference_price < 100_000
    unknown = simulated.profile("ZZZQ")
    assert 8 < unknown.reference_price < 500
    assert 0.15 < unknown.volatility < 0.75
    again = provider(ManualClock(MONDAY_OPEN)).profile("ZZZQ")
    assert again == unknown


async def test_prices_never_go_below_two_ticks() -> None:
    # A $20 stock on a $100 tick: every price rounds to the floor of two ticks.
    coarse = equity("ZZZQ", tick="100")
    simulated = SimulatedProvider([coarse], seed=7, clock=ManualClock(MONDAY_OPEN))
    bars = await simulated.bars("ZZZQ", Timeframe.DAY, utc(2025, 12, 1), MONDAY_OPEN)
    assert {bar.low for bar in bars} == {Decimal(200)}
    [quote] = [tick for tick in await take(simulated.stream(["ZZZQ"]), 1)]
    assert isinstance(quote, Quote)
    assert quote.bid_price == Decimal(200)
    assert quote.ask_price > quote.bid_price


async def test_bars_end_at_now_with_the_forming_day_made_of_finished_minutes() -> None:
    clock = ManualClock(utc(2026, 1, 6, 15, 17, 30))  # a Tuesday, 10:17:30 in New York
    simulated = provider(clock)
    minutes = await simulated.bars("AAPL", Timeframe.MINUTE, utc(2026, 1, 6), utc(2026, 1, 7))
    assert minutes[0].start == utc(2026, 1, 6, 14, 30)
    assert minutes[-1].start == utc(2026, 1, 6, 15, 16)  # 15:17 is not finished
    [today] = await simulated.bars("AAPL", Timeframe.DAY, utc(2026, 1, 6), utc(2026, 1, 7))
    [rolled] = roll_up(minutes, Timeframe.DAY, NEW_YORK)
    assert without_vwap(today) == without_vwap(rolled)
    assert today.start == new_york_midnight(date(2026, 1, 6))
    assert await simulated.bars("AAPL", Timeframe.DAY, utc(2026, 1, 7), utc(2026, 2, 1)) == []


async def test_bad_requests_are_refused() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN))
    with pytest.raises(InvalidMarketData, match="MSFT"):
        await simulated.bars("MSFT", Timeframe.DAY, utc(2025, 1, 1), utc(2025, 2, 1))
    with pytest.raises(InvalidMarketData, match="MSFT"):
        simulated.stream(["AAPL", "MSFT"])
    with pytest.raises(InvalidMarketData, match="naive"):
        await simulated.bars("AAPL", Timeframe.DAY, datetime(2025, 1, 1), utc(2025, 2, 1))  # noqa: DTZ001
    assert await simulated.bars("AAPL", Timeframe.DAY, utc(2025, 2, 1), utc(2025, 1, 1)) == []


# --- the live stream --------------------------------------------------------------------------


async def test_ticks_are_on_the_grids_with_bid_below_ask_and_trades_inside() -> None:
    clock = ManualClock(MONDAY_OPEN)
    ticks = await take(provider(clock).stream(SYMBOLS), 2000)
    quotes: dict[str, Quote] = {}
    last_trade_id: dict[str, int] = {}
    trades = 0
    for tick in ticks:
        instrument = BY_SYMBOL[tick.symbol]
        assert tick.provider == "simulated"
        if isinstance(tick, Quote):
            assert instrument.on_tick(tick.bid_price)
            assert instrument.on_tick(tick.ask_price)
            assert 2 * instrument.tick_size <= tick.bid_price < tick.ask_price
            for size in (tick.bid_size, tick.ask_size):
                assert size > 0
                assert size % instrument.lot_size == 0
                if instrument.asset_class is AssetClass.US_EQUITY:
                    assert size % 100 == 0  # quoted in round lots
            quotes[tick.symbol] = tick
            continue
        assert isinstance(tick, Trade)
        trades += 1
        quote = quotes[tick.symbol]
        assert quote.timestamp == tick.timestamp
        assert quote.bid_price <= tick.price <= quote.ask_price
        assert tick.size > 0
        assert tick.size % instrument.lot_size == 0
        assert tick.trade_id > last_trade_id.get(tick.symbol, 0)
        last_trade_id[tick.symbol] = tick.trade_id
    assert 0.2 * len(ticks) < trades < 0.5 * len(ticks)
    assert ticks[-1].timestamp > ticks[0].timestamp  # the clock moved with each sleep


async def test_the_stream_ticks_every_interval_from_the_clock() -> None:
    clock = ManualClock(MONDAY_OPEN)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    simulated = SimulatedProvider(
        INSTRUMENTS[:1], seed=1, clock=clock, sleep=sleep, tick_interval=timedelta(seconds=2)
    )
    quotes = [
        tick for tick in await take(simulated.stream(["AAPL"]), 30) if isinstance(tick, Quote)
    ]
    assert [quote.timestamp for quote in quotes] == [
        MONDAY_OPEN + timedelta(seconds=2 * n) for n in range(len(quotes))
    ]
    assert slept == [2.0] * (len(quotes) - 1)


async def test_the_live_price_carries_on_from_the_history() -> None:
    # Saturday: the market is closed, so the price is the last close.
    saturday = ManualClock(utc(2026, 1, 3, 15))
    simulated = provider(saturday)
    friday = await simulated.bars("AAPL", Timeframe.DAY, utc(2026, 1, 2), utc(2026, 1, 3))
    [quote] = await take(simulated.stream(["AAPL"]), 1)
    assert isinstance(quote, Quote)
    assert quote.bid_price <= friday[-1].close <= quote.ask_price
    # In a session, on a minute's boundary, it is that minute's open, the last minute's close.
    during = ManualClock(utc(2026, 1, 5, 16, 0))
    simulated = provider(during)
    minutes = await simulated.bars(
        "BTC/USD", Timeframe.MINUTE, utc(2026, 1, 5, 15), utc(2026, 1, 6)
    )
    [quote] = await take(simulated.stream(["BTC/USD"]), 1)
    assert isinstance(quote, Quote)
    assert minutes[-1].start == utc(2026, 1, 5, 15, 59)
    assert quote.bid_price <= minutes[-1].close <= quote.ask_price


class Calendar:
    """Open on weekdays 09:30-16:00 New York but for a holiday and an early close."""

    holiday = date(2025, 12, 25)
    early = date(2025, 12, 24)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(NEW_YORK)
        if local.weekday() >= 5 or local.date() == self.holiday:
            return False
        close = time(13) if local.date() == self.early else time(16)
        return time(9, 30) <= local.time() < close


class Closed:
    def is_open(self, at: datetime) -> bool:
        return False


async def test_a_calendar_decides_the_sessions_of_equities() -> None:
    simulated = provider(ManualClock(MONDAY_OPEN), calendar_for=lambda _: Calendar())
    week = await simulated.bars("AAPL", Timeframe.DAY, utc(2025, 12, 22), utc(2025, 12, 27))
    assert [bar.start.astimezone(NEW_YORK).day for bar in week] == [22, 23, 24, 26]
    early = await simulated.bars("AAPL", Timeframe.MINUTE, utc(2025, 12, 24), utc(2025, 12, 25))
    assert len(early) == 210
    assert early[-1].start == utc(2025, 12, 24, 17, 59)


async def test_equities_do_not_tick_while_their_market_is_closed_but_crypto_does() -> None:
    saturday = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    simulated = provider(ManualClock(saturday), calendar_for=calendar_for)
    ticks = await take(simulated.stream(SYMBOLS), 60)
    crypto = {"BTC/USD", "ETH/USD"}
    # one last quote for each closed market, in the first pass only, so clients have a
    # price at night; after that only crypto moves
    closed = [(n, tick) for n, tick in enumerate(ticks) if tick.symbol not in crypto]
    assert sorted(tick.symbol for _, tick in closed) == sorted(set(SYMBOLS) - crypto)
    assert all(isinstance(tick, Quote) for _, tick in closed)
    assert max(n for n, _ in closed) < 2 * len(SYMBOLS)
    assert {tick.symbol for tick in ticks[2 * len(SYMBOLS) :]} == crypto
    (last_day,) = await simulated.bars(
        "AAPL", Timeframe.DAY, saturday - timedelta(days=1, hours=15), saturday
    )
    aapl_quote = next(tick for _, tick in closed if tick.symbol == "AAPL")
    assert isinstance(aapl_quote, Quote)
    assert aapl_quote.bid_price <= last_day.close <= aapl_quote.ask_price
