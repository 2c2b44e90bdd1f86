"""Market data model: instruments, quotes, trades, bars and how trades fold into bars.

Prices and sizes are `Decimal` here and integer nanos (scale 9) in storage; nothing on a price
or quantity path is a float. Pure Python: no framework, no I/O.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from finplat.kernel import InvalidInput

#: Prices and quantities are stored as integers in units of 10**-SCALE.
SCALE = 9
_NANO = Decimal(1).scaleb(-SCALE)
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.]{0,9}(/[A-Z]{2,6})?$")


class InvalidMarketData(InvalidInput):
    """A price, size, symbol or instrument attribute that cannot be."""

    def __init__(self, message: str, *, code: str = "invalid_market_data") -> None:
        super().__init__(message, code=code)


def to_nanos(value: Decimal) -> int:
    """The exact integer number of 10**-9 units in `value`; more precision is an error."""
    scaled = value.scaleb(SCALE)
    if scaled != scaled.to_integral_value():
        raise InvalidMarketData(f"{value} has more than {SCALE} decimal places")
    return int(scaled)


def from_nanos(value: int) -> Decimal:
    return (Decimal(value) * _NANO).normalize() if value else Decimal(0)


def plain(value: Decimal) -> str:
    """A decimal string without exponent: 1E+2 -> '100', 0.50 -> '0.5'."""
    return format(value.normalize(), "f")


class AssetClass(StrEnum):
    US_EQUITY = "us_equity"
    CRYPTO = "crypto"


class InstrumentStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Venue(StrEnum):
    """Where orders for an instrument go: the paper venue filling against quotes, or the
    internal order book."""

    SIMULATED = "simulated"
    INTERNAL = "internal"


@dataclass(frozen=True)
class Instrument:
    symbol: str
    name: str
    asset_class: AssetClass
    exchange: str  # ISO 10383 MIC (XNAS, XNYS, ARCX, BATS) or CRYPTO
    currency: str
    tick_size: Decimal
    lot_size: Decimal  # the smallest quantity step
    fractionable: bool
    shortable: bool
    easy_to_borrow: bool = False
    marginable: bool = False
    min_order_size: Decimal = Decimal(1)
    status: InstrumentStatus = InstrumentStatus.ACTIVE
    venue: Venue = Venue.SIMULATED
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        if not _SYMBOL.match(self.symbol):
            raise InvalidMarketData(f"{self.symbol!r} is not a valid symbol", code="invalid_symbol")
        if not self.name.strip():
            raise InvalidMarketData("an instrument needs a name")
        for label, value in (
            ("tick_size", self.tick_size),
            ("lot_size", self.lot_size),
            ("min_order_size", self.min_order_size),
        ):
            if not value.is_finite() or value <= 0:
                raise InvalidMarketData(f"{label} must be positive, not {value}")
            to_nanos(value)
        if self.asset_class is AssetClass.CRYPTO and self.shortable:
            raise InvalidMarketData("crypto instruments cannot be shorted")

    @property
    def tradable(self) -> bool:
        return self.status is InstrumentStatus.ACTIVE

    @property
    def timezone(self) -> ZoneInfo:
        """The zone its trading days are dated in (New York for US equities, UTC for crypto)."""
        return ZoneInfo("UTC" if self.asset_class is AssetClass.CRYPTO else "America/New_York")

    def on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def to_ticks(self, price: Decimal) -> int:
        """`price` as an integer number of ticks; a price off the tick grid is an error."""
        if not self.on_tick(price):
            raise InvalidMarketData(
                f"{price} is not a multiple of the tick size {self.tick_size} of {self.symbol}",
                code="price_off_tick",
            )
        return int(price / self.tick_size)

    def from_ticks(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def round_to_tick(self, price: Decimal) -> Decimal:
        return (price / self.tick_size).quantize(Decimal(1), ROUND_HALF_EVEN) * self.tick_size


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    bid_price: Decimal
    bid_size: Decimal
    ask_price: Decimal
    ask_size: Decimal
    timestamp: datetime
    provider: str = ""
    stale: bool = False  # from a feed that stopped: never shown as live

    @property
    def mid(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2

    def marked_stale(self) -> Quote:
        return self if self.stale else replace(self, stale=True)


@dataclass(frozen=True, slots=True)
class Trade:
    symbol: str
    price: Decimal
    size: Decimal
    timestamp: datetime
    trade_id: int = 0
    provider: str = ""


Tick = Quote | Trade


class Timeframe(StrEnum):
    """Bar lengths, spelled as Alpaca spells them."""

    MINUTE = "1Min"
    HOUR = "1Hour"
    DAY = "1Day"

    @property
    def length(self) -> timedelta:
        return {
            Timeframe.MINUTE: timedelta(minutes=1),
            Timeframe.HOUR: timedelta(hours=1),
            Timeframe.DAY: timedelta(days=1),
        }[self]

    def bucket(self, at: datetime, zone: ZoneInfo) -> datetime:
        """The start (UTC) of the bar that `at` falls in. Day bars start at midnight in the
        instrument's zone, as the trading day is dated there."""
        at = at.astimezone(UTC)
        if self is Timeframe.MINUTE:
            return at.replace(second=0, microsecond=0)
        if self is Timeframe.HOUR:
            return at.replace(minute=0, second=0, microsecond=0)
        local = at.astimezone(zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        aliases = {"1min": cls.MINUTE, "1t": cls.MINUTE, "1hour": cls.HOUR, "1h": cls.HOUR}
        aliases |= {"1day": cls.DAY, "1d": cls.DAY}
        try:
            return aliases[text.strip().lower()]
        except KeyError:
            raise InvalidMarketData(
                f"unsupported timeframe {text!r}; use 1Min, 1Hour or 1Day",
                code="invalid_timeframe",
            ) from None


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    timeframe: Timeframe
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trade_count: int
    vwap: Decimal

    def __post_init__(self) -> None:
        if not (self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high):
            raise InvalidMarketData(
                f"bar {self.symbol} {self.start:%Y-%m-%dT%H:%M}: open and close must lie "
                f"within low {self.low} and high {self.high}"
            )
        if self.volume < 0 or self.trade_count < 0:
            raise InvalidMarketData("a bar's volume and trade count cannot be negative")


def _vwap(notional: Decimal, volume: Decimal, fallback: Decimal) -> Decimal:
    if volume == 0:
        return fallback
    return (notional / volume).quantize(_NANO, ROUND_HALF_EVEN)


@dataclass
class BarBuilder:
    """Folds trades (or finer bars) into one bar; `bar()` reads the bar so far."""

    symbol: str
    timeframe: Timeframe
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)
    trade_count: int = 0
    notional: Decimal = Decimal(0)  # sum of price * size, exact

    @classmethod
    def from_trade(cls, trade: Trade, timeframe: Timeframe, start: datetime) -> BarBuilder:
        builder = cls(trade.symbol, timeframe, start, *(trade.price,) * 4)
        builder.add_trade(trade)
        return builder

    @classmethod
    def from_bar(cls, bar: Bar, timeframe: Timeframe, start: datetime) -> BarBuilder:
        builder = cls(bar.symbol, timeframe, start, bar.open, bar.high, bar.low, bar.close)
        builder.volume = bar.volume
        builder.trade_count = bar.trade_count
        builder.notional = bar.vwap * bar.volume
        return builder

    def add_trade(self, trade: Trade) -> None:
        self.high = max(self.high, trade.price)
        self.low = min(self.low, trade.price)
        self.close = trade.price
        self.volume += trade.size
        self.trade_count += 1
        self.notional += trade.price * trade.size

    def add_bar(self, bar: Bar) -> None:
        self.high = max(self.high, bar.high)
        self.low = min(self.low, bar.low)
        self.close = bar.close
        self.volume += bar.volume
        self.trade_count += bar.trade_count
        self.notional += bar.vwap * bar.volume

    def bar(self) -> Bar:
        return Bar(
            self.symbol,
            self.timeframe,
            self.start,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.trade_count,
            _vwap(self.notional, self.volume, self.close),
        )


def aggregate_trades(
    trades: Iterable[Trade], timeframe: Timeframe, zone: ZoneInfo
) -> Iterator[Bar]:
    """Bars from trades of one symbol in time order (buckets without trades have no bar)."""
    builder: BarBuilder | None = None
    for trade in trades:
        start = timeframe.bucket(trade.timestamp, zone)
        if builder is not None and builder.start == start:
            builder.add_trade(trade)
            continue
        if builder is not None:
            yield builder.bar()
        builder = BarBuilder.from_trade(trade, timeframe, start)
    if builder is not None:
        yield builder.bar()


def roll_up(bars: Iterable[Bar], timeframe: Timeframe, zone: ZoneInfo) -> Iterator[Bar]:
    """Coarser bars from finer bars of one symbol in time order (1Min -> 1Hour -> 1Day)."""
    builder: BarBuilder | None = None
    for bar in bars:
        if bar.timeframe.length >= timeframe.length:
            raise InvalidMarketData(f"cannot roll {bar.timeframe} bars up into {timeframe}")
        start = timeframe.bucket(bar.start, zone)
        if builder is not None and builder.start == start:
            builder.add_bar(bar)
            continue
        if builder is not None:
            yield builder.bar()
        builder = BarBuilder.from_bar(bar, timeframe, start)
    if builder is not None:
        yield builder.bar()


@dataclass(frozen=True)
class Session:
    """One trading day of a calendar; times are UTC."""

    date: str  # ISO date the session is dated (the exchange's local date)
    open: datetime
    close: datetime
    early_close: bool = False
    pre_open: datetime | None = None  # extended hours, where the market has them
    post_close: datetime | None = None


@dataclass(frozen=True)
class MarketClock:
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime
