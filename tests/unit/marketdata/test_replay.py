"""The replay provider: recorded files played back exactly, paced by the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from finplat.kernel import ManualClock
from finplat.marketdata.domain import Bar, InvalidMarketData, Quote, Tick, Timeframe, Trade
from finplat.marketdata.providers.replay import ReplayProvider

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

TRADES = """symbol,timestamp,price,size
AAPL,2026-01-05T14:30:00.250Z,230.01,100
MSFT,2026-01-05T14:30:01Z,420.5,3
AAPL,2026-01-05T14:30:02.5Z,230.02,50.123456789
AAPL,2026-01-05T14:31:10Z,229.99,7
"""

QUOTES = """symbol,timestamp,bid_price,bid_size,ask_price,ask_size
AAPL,2026-01-05T14:30:00Z,230.00,300,230.02,200
AAPL,2026-01-05T14:30:02.5Z,230.01,100,230.03,400
"""

BARS = """symbol,timestamp,open,high,low,close,volume,trade_count,vwap
BTC/USD,2026-01-05T14:30:00Z,91000.10,91010.55,90990,91005.123456789,1.5,12,91001.5
BTC/USD,2026-01-05T14:31:00Z,91005.12,91020,91000,91019.99,0.25,3,91010
BTC/USD,2026-01-05T15:02:00Z,91019.99,91030,91019.99,91025,0,0,91025
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def pacing(clock: ManualClock, slept: list[float]) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    return sleep


async def every(ticks: AsyncIterator[Tick]) -> list[Tick]:
    return [tick async for tick in ticks]


def replay(
    path: Path,
    clock: ManualClock,
    slept: list[float],
    *,
    speed: float = 1.0,
    restamp: bool = True,
) -> ReplayProvider:
    sleep = pacing(clock, slept)
    return ReplayProvider(path, clock=clock, sleep=sleep, speed=speed, restamp=restamp)


async def test_ticks_play_in_time_order_paced_by_the_recorded_gaps(tmp_path: Path) -> None:
    write(tmp_path, "trades.csv", TRADES)
    write(tmp_path, "quotes.csv", QUOTES)
    clock, slept = ManualClock(NOW), list[float]()
    ticks = await every(replay(tmp_path, clock, slept, speed=10).stream(["AAPL"]))
    assert [(type(tick).__name__, tick.timestamp) for tick in ticks] == [
        ("Quote", NOW),
        ("Trade", NOW + timedelta(seconds=0.025)),
        ("Quote", NOW + timedelta(seconds=0.25)),
        ("Trade", NOW + timedelta(seconds=0.25)),
        ("Trade", NOW + timedelta(seconds=7)),
    ]
    assert slept == pytest.approx([0.025, 0.225, 6.75])
    first_quote = ticks[0]
    assert first_quote == Quote(
        "AAPL",
        Decimal("230.00"),
        Decimal(300),
        Decimal("230.02"),
        Decimal(200),
        NOW,
        provider="replay",
    )
    trades = [tick for tick in ticks if isinstance(tick, Trade)]
    assert [(trade.price, trade.size, trade.trade_id) for trade in trades] == [
        (Decimal("230.01"), Decimal(100), 1),
        (Decimal("230.02"), Decimal("50.123456789"), 2),
        (Decimal("229.99"), Decimal(7), 3),
    ]


async def test_speed_zero_plays_at_once_and_restamp_off_keeps_the_recorded_times(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "trades.csv", TRADES)
    clock, slept = ManualClock(NOW), list[float]()
    provider = replay(path, clock, slept, speed=0, restamp=False)
    ticks = await every(provider.stream(["AAPL", "MSFT"]))
    assert slept == []
    assert [(tick.symbol, tick.timestamp) for tick in ticks] == [
        ("AAPL", datetime(2026, 1, 5, 14, 30, 0, 250000, tzinfo=UTC)),
        ("MSFT", datetime(2026, 1, 5, 14, 30, 1, tzinfo=UTC)),
        ("AAPL", datetime(2026, 1, 5, 14, 30, 2, 500000, tzinfo=UTC)),
        ("AAPL", datetime(2026, 1, 5, 14, 31, 10, tzinfo=UTC)),
    ]
    assert await every(provider.stream(["TSLA"])) == []


async def test_pacing_follows_the_clock_rather_than_adding_up_sleeps(tmp_path: Path) -> None:
    path = write(tmp_path, "trades.csv", TRADES)
    clock, slept = ManualClock(NOW), list[float]()
    ticks = replay(path, clock, slept, speed=1).stream(["AAPL"])
    await anext(ticks)
    clock.advance(timedelta(seconds=2))  # the consumer was slow
    await anext(ticks)  # due at +2.25 s: only 0.25 s left to wait
    assert slept == pytest.approx([0.25])


async def test_trades_are_aggregated_into_bars(tmp_path: Path) -> None:
    path = write(tmp_path, "trades.csv", TRADES)
    provider = replay(path, ManualClock(NOW), [])
    bars = await provider.bars("AAPL", Timeframe.MINUTE, T0, T0 + timedelta(hours=1))
    assert bars == [
        Bar(
            "AAPL",
            Timeframe.MINUTE,
            T0,
            Decimal("230.01"),
            Decimal("230.02"),
            Decimal("230.01"),
            Decimal("230.02"),
            Decimal("150.123456789"),
            2,
            Decimal("230.013338816"),
        ),
        Bar(
            "AAPL",
            Timeframe.MINUTE,
            T0 + timedelta(minutes=1),
            *(Decimal("229.99"),) * 4,
            Decimal(7),
            1,
            Decimal("229.99"),
        ),
    ]
    assert await provider.bars("AAPL", Timeframe.MINUTE, T0 + timedelta(minutes=1), NOW) == [
        bars[1]
    ]
    assert await provider.bars("NVDA", Timeframe.MINUTE, T0, NOW) == []


async def test_bar_files_are_served_exactly_rolled_up_and_played_as_trades(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "bars.csv", BARS)
    clock, slept = ManualClock(NOW), list[float]()
    provider = replay(path, clock, slept, restamp=False, speed=0)
    minutes = await provider.bars("BTC/USD", Timeframe.MINUTE, T0, NOW)
    assert [bar.start for bar in minutes] == [
        T0,
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=32),
    ]
    assert minutes[0] == Bar(
        "BTC/USD",
        Timeframe.MINUTE,
        T0,
        Decimal("91000.10"),
        Decimal("91010.55"),
        Decimal("90990"),
        Decimal("91005.123456789"),
        Decimal("1.5"),
        12,
        Decimal("91001.5"),
    )
    hours = await provider.bars("BTC/USD", Timeframe.HOUR, T0 - timedelta(hours=1), NOW)
    assert [(bar.start, bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in hours] == [
        (
            datetime(2026, 1, 5, 14, tzinfo=UTC),
            Decimal("91000.10"),
            Decimal("91020"),
            Decimal("90990"),
            Decimal("91019.99"),
            Decimal("1.75"),
        ),
        (
            datetime(2026, 1, 5, 15, tzinfo=UTC),
            Decimal("91019.99"),
            Decimal("91030"),
            Decimal("91019.99"),
            Decimal("91025"),
            Decimal(0),
        ),
    ]
    ticks = await every(provider.stream(["BTC/USD"]))
    assert ticks == [
        Trade(
            "BTC/USD",
            Decimal("91005.123456789"),
            Decimal("1.5"),
            T0 + timedelta(minutes=1, microseconds=-1),
            trade_id=1,
            provider="replay",
        ),
        Trade(
            "BTC/USD",
            Decimal("91019.99"),
            Decimal("0.25"),
            T0 + timedelta(minutes=2, microseconds=-1),
            trade_id=2,
            provider="replay",
        ),
    ]
    # Made-up trades cannot give finer bars than the file holds.
    assert await provider.bars("BTC/USD", Timeframe.MINUTE, T0, T0 + timedelta(minutes=1)) == [
        minutes[0]
    ]


def parquet(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def stamps(*moments: datetime) -> pa.Array:
    nanos = [int(moment.timestamp()) * 10**9 + 123 for moment in moments]
    return pa.array(nanos, type=pa.timestamp("ns", tz="UTC"))


async def test_parquet_decimals_and_zoned_timestamps_are_read_exactly(tmp_path: Path) -> None:
    days = [datetime(2025, 3, 7, 5, tzinfo=UTC), datetime(2025, 3, 10, 4, tzinfo=UTC)]
    price = pa.decimal128(18, 9)
    path = parquet(
        tmp_path / "days.parquet",
        {
            "symbol": ["AAPL", "AAPL"],
            "timestamp": stamps(*days),
            "open": pa.array([Decimal("230.1"), Decimal("231")], type=price),
            "high": pa.array([Decimal("232.123456789"), Decimal("233")], type=price),
            "low": pa.array([Decimal("229"), Decimal("230")], type=price),
            "close": pa.array([Decimal("231"), Decimal("232.5")], type=price),
            "volume": pa.array([41_000_000, 38_500_000], type=pa.int64()),
            "vwap": ["230.7", "231.9"],
        },
    )
    provider = replay(path, ManualClock(NOW), [])
    # Across the change to summer time, the days are 71 hours apart: still day bars.
    bars = await provider.bars("AAPL", Timeframe.DAY, days[0], NOW)
    assert [(bar.start, bar.high, bar.volume, bar.vwap, bar.trade_count) for bar in bars] == [
        (days[0], Decimal("232.123456789"), Decimal(41_000_000), Decimal("230.7"), 0),
        (days[1], Decimal(233), Decimal(38_500_000), Decimal("231.9"), 0),
    ]


def test_parquet_float_prices_and_naive_times_are_refused(tmp_path: Path) -> None:
    base: dict[str, pa.Array] = {
        "symbol": ["AAPL"],
        "timestamp": stamps(T0),
        "price": pa.array([Decimal("230.01")], type=pa.decimal128(10, 2)),
        "size": ["1"],
    }
    floats = parquet(tmp_path / "floats.parquet", base | {"price": pa.array([230.01])})
    with pytest.raises(InvalidMarketData, match=r"floats\.parquet: column price is double"):
        ReplayProvider(floats, clock=ManualClock(NOW))
    naive = parquet(
        tmp_path / "naive.parquet", base | {"timestamp": pa.array([T0.replace(tzinfo=None)])}
    )
    with pytest.raises(InvalidMarketData, match=r"naive\.parquet: timestamps without a time zone"):
        ReplayProvider(naive, clock=ManualClock(NOW))
    negative = parquet(tmp_path / "negative.parquet", base | {"size": ["-2"]})
    with pytest.raises(InvalidMarketData, match=r"negative\.parquet row 1: size must be positive"):
        ReplayProvider(negative, clock=ManualClock(NOW))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (TRADES.replace("230.02,50", "abc,50"), r"trades\.csv:4: price 'abc' is not a number"),
        (TRADES.replace("420.5", "NaN"), r"trades\.csv:3: price 'NaN' is not a finite number"),
        (TRADES.replace(",7\n", ",0.0000000001\n"), r"trades\.csv:5: size: .* decimal places"),
        (TRADES.replace("2026-01-05T14:30:01Z", "2026-01-05T14:30:01"), r":3: .* no time zone"),
        (TRADES.replace("2026-01-05T14:30:01Z", "yesterday"), r":3: timestamp 'yesterday'"),
        (TRADES.replace("MSFT", ""), r"trades\.csv:3: symbol is missing"),
        (QUOTES.replace("230.01,100,230.03", "230.04,100,230.03"), r"quotes\.csv:3: .*crossed"),
        (BARS.replace("91010.55,90990", "91010.55,91006"), r"bars\.csv:2: .*within low"),
        (BARS.replace("15:02:00Z", "14:31:00Z"), r"bars\.csv:4: a second 1Min bar of BTC/USD"),
        (BARS.replace(",12,", ",1.5,"), r"bars\.csv:2: trade_count must be a whole number"),
        ("symbol,when,price\nAAPL,x,1\n", r"trades\.csv: no known set of columns"),
        ("symbol,timestamp,price,size,bid_price,bid_size,ask_price,ask_size\n", r"more than one"),
    ],
)
def test_errors_name_the_file_and_the_row(tmp_path: Path, text: str, problem: str) -> None:
    name = "quotes.csv" if "bid_price,bid_size" in text.splitlines()[0] else "trades.csv"
    name = "bars.csv" if text.startswith("symbol,timestamp,open") else name
    path = write(tmp_path, name, text)
    with pytest.raises(InvalidMarketData, match=problem):
        ReplayProvider(path, clock=ManualClock(NOW))


def test_paths_and_speeds_are_checked(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    with pytest.raises(InvalidMarketData, match="no such file"):
        ReplayProvider(tmp_path / "missing.csv", clock=clock)
    with pytest.raises(InvalidMarketData, match=r"\.csv and \.parquet"):
        ReplayProvider(write(tmp_path, "ticks.json", "[]"), clock=clock)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidMarketData, match=r"no \.csv or \.parquet files"):
        ReplayProvider(tmp_path / "empty", clock=clock)
    with pytest.raises(ValueError, match="speed"):
        ReplayProvider(write(tmp_path, "t.csv", TRADES), clock=clock, speed=-1)
    single = write(tmp_path, "one.csv", BARS.splitlines()[0] + "\n" + BARS.splitlines()[1] + "\n")
    with pytest.raises(InvalidMarketData, match="add a timeframe column"):
        ReplayProvider(single, clock=clock)
