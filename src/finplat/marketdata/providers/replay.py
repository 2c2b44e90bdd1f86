"""Replay recorded market data from CSV or Parquet files.

A file holds one kind of record, told by its columns:

- bars: symbol, timestamp, open, high, low, close, volume [, trade_count, vwap, timeframe]
- trades: symbol, timestamp, price, size [, trade_id]
- quotes: symbol, timestamp, bid_price, bid_size, ask_price, ask_size

`path` is one file or a directory of them (e.g. trades.csv next to quotes.parquet). Prices and
sizes are read as text or Parquet decimals (or integers) straight into `Decimal`; a Parquet
float column is refused, as a float cannot hold most prices exactly. Timestamps carry a zone.

`stream` replays the quotes and trades in time order, pacing them by the recorded gaps divided
by `speed` (0: as fast as possible) against the injected clock, and stamps each with the time
it is played unless `restamp=False`. A recording of bars only plays as one trade per bar of its
finest timeframe: at the bar's close, for the bar's volume, a microsecond before the bar ends
(the close is the last trade inside it). `bars` serves recorded bars, rolls finer bars up, or
aggregates recorded trades, in that order of preference.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import math
from bisect import bisect_left
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from finplat.kernel import Clock
from finplat.marketdata.domain import (
    Bar,
    InvalidMarketData,
    Quote,
    Tick,
    Timeframe,
    Trade,
    aggregate_trades,
    roll_up,
    to_nanos,
)

__all__ = ["ReplayProvider"]

Sleep = Callable[[float], Awaitable[None]]
Row = dict[str, object]

_BAR_COLUMNS: Final = frozenset({"symbol", "timestamp", "open", "high", "low", "close", "volume"})
_TRADE_COLUMNS: Final = frozenset({"symbol", "timestamp", "price", "size"})
_QUOTE_COLUMNS: Final = frozenset(
    {"symbol", "timestamp", "bid_price", "bid_size", "ask_price", "ask_size"}
)
_NUMBER_COLUMNS: Final = frozenset(
    {"open", "high", "low", "close", "volume", "vwap", "price", "size"}
    | {"bid_price", "bid_size", "ask_price", "ask_size", "trade_count", "trade_id"}
)
_SUFFIXES: Final = (".csv", ".parquet")
_MICROSECOND: Final = timedelta(microseconds=1)
_YIELD_EVERY: Final = 1000  # at speed 0, hand the event loop back this often


def _refuse(where: str, problem: str) -> InvalidMarketData:
    return InvalidMarketData(f"{where}: {problem}", code="invalid_replay_file")


# --- reading rows -----------------------------------------------------------------------------


def _csv_rows(path: Path) -> tuple[frozenset[str], Iterator[tuple[str, Row]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])

    def rows() -> Iterator[tuple[str, Row]]:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            for raw in reader:
                row: Row = {key.strip().lower(): value for key, value in raw.items() if key}
                yield f"{path}:{reader.line_num}", row

    return frozenset(name.strip().lower() for name in header), rows()


def _parquet_rows(path: Path) -> tuple[frozenset[str], Iterator[tuple[str, Row]]]:
    table = pq.read_table(path)
    names = [str(name).strip().lower() for name in table.column_names]
    columns: dict[str, list[object]] = {}
    for name, read in zip(names, table.columns, strict=True):
        column, kind = read, read.type
        if name in _NUMBER_COLUMNS and pa.types.is_floating(kind):
            raise _refuse(
                str(path),
                f"column {name} is {kind}: a float cannot hold most prices and sizes "
                "exactly; write it as decimal128 or as text",
            )
        if name == "timestamp" and pa.types.is_timestamp(kind):
            if kind.tz is None:
                raise _refuse(str(path), "timestamps without a time zone are ambiguous")
            # Microseconds are what datetime holds; finer digits are dropped.
            column = column.cast(pa.timestamp("us", tz="UTC"), safe=False)
        columns[name] = column.to_pylist()

    def rows() -> Iterator[tuple[str, Row]]:
        for index in range(table.num_rows):
            yield (
                f"{path} row {index + 1}",
                {name: values[index] for name, values in columns.items()},
            )

    return frozenset(names), rows()


# --- parsing values ---------------------------------------------------------------------------


def _text(row: Row, column: str, where: str) -> str:
    value = row.get(column)
    if not isinstance(value, str) or not value.strip():
        raise _refuse(where, f"{column} is missing")
    return value.strip()


def _number(row: Row, column: str, where: str) -> Decimal | None:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _refuse(where, f"{column} {value!r} is not a number") from None
    else:
        raise _refuse(where, f"{column} {value!r} is not a decimal number")
    if not number.is_finite():
        raise _refuse(where, f"{column} {value!r} is not a finite number")
    try:
        to_nanos(number)
    except InvalidMarketData as error:
        raise _refuse(where, f"{column}: {error}") from None
    return number


def _required(row: Row, column: str, where: str, *, positive: bool = False) -> Decimal:
    number = _number(row, column, where)
    if number is None:
        raise _refuse(where, f"{column} is missing")
    if number < 0 or (positive and number == 0):
        raise _refuse(where, f"{column} must be {'positive' if positive else 'zero or more'}")
    return number


def _timestamp(row: Row, where: str) -> datetime:
    value = row.get("timestamp")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _refuse(where, f"timestamp {value!r} is not ISO 8601") from None
    if not isinstance(value, datetime):
        raise _refuse(where, "timestamp is missing")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _refuse(where, f"timestamp {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def _integer(row: Row, column: str, where: str) -> int | None:
    number = _number(row, column, where)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise _refuse(where, f"{column} must be a whole number, not {number}")
    return int(number)


# --- records ----------------------------------------------------------------------------------


@dataclass
class _Recording:
    bars: dict[tuple[str, Timeframe], list[Bar]] = field(default_factory=dict)
    ticks: list[Tick] = field(default_factory=list)
    recorded_ticks: bool = False  # false when the ticks are trades made up from bars
    seen: dict[tuple[str, Timeframe, datetime], str] = field(default_factory=dict)


def _quote(row: Row, where: str) -> Quote:
    bid, ask = _required(row, "bid_price", where), _required(row, "ask_price", where)
    if bid > ask:
        raise _refuse(where, f"the quote is crossed: bid {bid} above ask {ask}")
    return Quote(
        _text(row, "symbol", where),
        bid,
        _required(row, "bid_size", where),
        ask,
        _required(row, "ask_size", where),
        _timestamp(row, where),
        provider=ReplayProvider.name,
    )


def _trade(row: Row, where: str) -> Trade:
    return Trade(
        _text(row, "symbol", where),
        _required(row, "price", where, positive=True),
        _required(row, "size", where, positive=True),
        _timestamp(row, where),
        trade_id=_integer(row, "trade_id", where) or 0,
        provider=ReplayProvider.name,
    )


@dataclass(frozen=True)
class _BarRow:
    where: str
    symbol: str
    start: datetime
    values: tuple[Decimal, Decimal, Decimal, Decimal, Decimal]
    trade_count: int
    vwap: Decimal | None
    timeframe: Timeframe | None


def _bar_row(row: Row, where: str) -> _BarRow:
    text = row.get("timeframe")
    try:
        timeframe = Timeframe.parse(text) if isinstance(text, str) and text.strip() else None
    except InvalidMarketData as error:
        raise _refuse(where, str(error)) from None
    return _BarRow(
        where,
        _text(row, "symbol", where),
        _timestamp(row, where),
        (
            _required(row, "open", where, positive=True),
            _required(row, "high", where, positive=True),
            _required(row, "low", where, positive=True),
            _required(row, "close", where, positive=True),
            _required(row, "volume", where),
        ),
        _integer(row, "trade_count", where) or 0,
        _number(row, "vwap", where),
        timeframe,
    )


def _infer_timeframe(path: Path, rows: list[_BarRow]) -> Timeframe:
    """The timeframe of a file of bars without a timeframe column: its shortest gap between
    two bars of one symbol (a day bar's gap is 23 to 25 hours across a clock change)."""
    starts: dict[str, list[datetime]] = {}
    for row in rows:
        starts.setdefault(row.symbol, []).append(row.start)
    gaps = [
        later - earlier
        for times in starts.values()
        for earlier, later in itertools.pairwise(sorted(times))
        if later > earlier
    ]
    if gaps:
        shortest = min(gaps)
        if shortest == timedelta(minutes=1):
            return Timeframe.MINUTE
        if shortest == timedelta(hours=1):
            return Timeframe.HOUR
        if shortest >= timedelta(hours=23):
            return Timeframe.DAY
    raise _refuse(str(path), "cannot tell the bars' timeframe; add a timeframe column")


def _add_bars(recording: _Recording, path: Path, rows: list[_BarRow]) -> None:
    inferred = None
    if any(row.timeframe is None for row in rows):
        inferred = _infer_timeframe(path, rows)
    for row in rows:
        timeframe = row.timeframe or inferred
        assert timeframe is not None  # noqa: S101 - inferred whenever a row lacks one
        open_, high, low, close, volume = row.values
        try:
            bar = Bar(
                row.symbol,
                timeframe,
                row.start,
                open_,
                high,
                low,
                close,
                volume,
                row.trade_count,
                close if row.vwap is None else row.vwap,
            )
        except InvalidMarketData as error:
            raise _refuse(row.where, str(error)) from None
        first = recording.seen.setdefault((row.symbol, timeframe, row.start), row.where)
        if first != row.where:
            raise _refuse(row.where, f"a second {timeframe} bar of {row.symbol} (after {first})")
        recording.bars.setdefault((row.symbol, timeframe), []).append(bar)
    for series in recording.bars.values():
        series.sort(key=lambda bar: bar.start)


def _read(path: Path, recording: _Recording) -> None:
    columns, rows = (_csv_rows if path.suffix.lower() == ".csv" else _parquet_rows)(path)
    known = (("bars", _BAR_COLUMNS), ("trades", _TRADE_COLUMNS), ("quotes", _QUOTE_COLUMNS))
    kinds = [kind for kind, needed in known if needed <= columns]
    if len(kinds) != 1:
        found = ", ".join(sorted(columns)) or "none"
        problem = "columns of more than one kind" if kinds else "no known set of columns"
        raise _refuse(str(path), f"{problem} (found: {found}); see the replay provider's docs")
    if kinds[0] == "bars":
        _add_bars(recording, path, [_bar_row(row, where) for where, row in rows])
    elif kinds[0] == "trades":
        recording.ticks.extend(_trade(row, where) for where, row in rows)
    else:
        recording.ticks.extend(_quote(row, where) for where, row in rows)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(item for item in path.iterdir() if item.suffix.lower() in _SUFFIXES)
        if not found:
            raise _refuse(str(path), "no .csv or .parquet files in the directory")
        return found
    if not path.is_file():
        raise _refuse(str(path), "no such file or directory")
    if path.suffix.lower() not in _SUFFIXES:
        raise _refuse(str(path), "replay reads .csv and .parquet files")
    return [path]


def _load(path: Path) -> _Recording:
    recording = _Recording()
    for file in _files(path):
        _read(file, recording)
    recording.recorded_ticks = bool(recording.ticks)
    if recording.ticks:
        recording.ticks.sort(key=lambda tick: tick.timestamp)  # stable: file order on ties
        recording.ticks = _numbered(recording.ticks)
    else:
        recording.ticks = _trades_from_bars(recording.bars)
    return recording


def _numbered(ticks: list[Tick]) -> list[Tick]:
    """Trades without a recorded id get 1, 2, 3, ... per symbol, in time order."""
    counters: dict[str, int] = {}
    numbered: list[Tick] = []
    for tick in ticks:
        if isinstance(tick, Trade) and tick.trade_id == 0:
            counters[tick.symbol] = counters.get(tick.symbol, 0) + 1
            tick = replace(tick, trade_id=counters[tick.symbol])  # noqa: PLW2901
        numbered.append(tick)
    return numbered


def _trades_from_bars(bars: dict[tuple[str, Timeframe], list[Bar]]) -> list[Tick]:
    finest: dict[str, list[Bar]] = {}
    for (symbol, _), series in sorted(bars.items(), key=lambda item: item[0][1].length):
        finest.setdefault(symbol, series)
    trades: list[Tick] = []
    for symbol, series in finest.items():
        for number, bar in enumerate((bar for bar in series if bar.volume > 0), start=1):
            at = bar.start + bar.timeframe.length - _MICROSECOND
            trades.append(
                Trade(symbol, bar.close, bar.volume, at, trade_id=number, provider="replay")
            )
    trades.sort(key=lambda tick: tick.timestamp)
    return trades


def _zone(symbol: str) -> ZoneInfo:
    """Day bars are dated in New York for equities, in UTC for crypto pairs ("BTC/USD")."""
    return ZoneInfo("UTC" if "/" in symbol else "America/New_York")


# --- the provider -----------------------------------------------------------------------------


class ReplayProvider:
    """Recorded quotes, trades and bars played back; see the module's docstring."""

    name = "replay"

    def __init__(
        self,
        path: Path,
        *,
        speed: float = 1.0,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        restamp: bool = True,
    ) -> None:
        if not math.isfinite(speed) or speed < 0:
            raise ValueError(f"speed must be zero (as fast as possible) or positive, not {speed}")
        self._speed = speed
        self._clock = clock
        self._sleep = sleep
        self._restamp = restamp
        # Read at once, so that a bad file fails at start-up rather than mid-stream.
        self._recording = _load(Path(path))
        self._series: dict[tuple[str, Timeframe], tuple[list[datetime], list[Bar]]] = {}

    @property
    def symbols(self) -> list[str]:
        found = {tick.symbol for tick in self._recording.ticks}
        return sorted(found | {symbol for symbol, _ in self._recording.bars})

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        wanted = set(symbols)
        return self._play([tick for tick in self._recording.ticks if tick.symbol in wanted])

    async def _play(self, ticks: list[Tick]) -> AsyncIterator[Tick]:
        if not ticks:
            return
        first, started = ticks[0].timestamp, self._clock.now()
        for index, tick in enumerate(ticks):
            if self._speed > 0:
                # Paced against the clock, not by adding up sleeps, so that delays do not drift.
                due = started + (tick.timestamp - first) / self._speed
                delay = (due - self._clock.now()).total_seconds()
                if delay > 0:
                    await self._sleep(delay)
            elif index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await self._sleep(0)
            yield replace(tick, timestamp=self._clock.now()) if self._restamp else tick

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        for moment in (start, end):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidMarketData("naive datetimes are not accepted; give a timezone")
        starts, series = self._bars_of(symbol, timeframe)
        return series[bisect_left(starts, start) : bisect_left(starts, end)]

    def _bars_of(self, symbol: str, timeframe: Timeframe) -> tuple[list[datetime], list[Bar]]:
        key = (symbol, timeframe)
        found = self._series.get(key)
        if found is None:
            series = self._derive(symbol, timeframe)
            found = ([bar.start for bar in series], series)
            self._series[key] = found
        return found

    def _derive(self, symbol: str, timeframe: Timeframe) -> list[Bar]:
        bars = self._recording.bars
        if (symbol, timeframe) in bars:
            return bars[symbol, timeframe]
        for finer in (Timeframe.MINUTE, Timeframe.HOUR):
            if finer.length < timeframe.length and (symbol, finer) in bars:
                return list(roll_up(bars[symbol, finer], timeframe, _zone(symbol)))
        trades = [
            tick
            for tick in self._recording.ticks
            if isinstance(tick, Trade) and tick.symbol == symbol
        ]
        if not self._recording.recorded_ticks:
            return []  # the trades are made up from bars; finer bars cannot come from them
        return list(aggregate_trades(trades, timeframe, _zone(symbol)))
