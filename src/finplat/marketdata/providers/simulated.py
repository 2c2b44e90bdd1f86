"""The embedded default feed: a seeded market that looks real, for any instrument.

Each (seed, symbol) has one deterministic world. Day by day it is a geometric Brownian motion
with an overnight gap (equities) and Poisson jumps, anchored at a reference close on
`REFERENCE_DAY`. Within each session a minute path is drawn to start at the day's open, touch
its high and low and end at its close, so minute, hour and day bars agree with one another.
`bars` reads that world up to the clock's now; `stream` samples it tick by tick, so the live
price carries on from the history and a minute's close seen live is the close its bar shows.

Randomness is a pure function of (seed, symbol, what, when): a counter-based generator keyed
by a stable hash, so any range of bars comes out the same whatever the order or the size of
the requests. Floats are used for the walk only; every price leaves as an exact Decimal on
the instrument's tick grid, every size on its lot grid.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from bisect import bisect_right
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from statistics import NormalDist
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from finplat.kernel import Clock
from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    InvalidMarketData,
    Quote,
    Tick,
    Timeframe,
    Trade,
    from_nanos,
    to_nanos,
)

__all__ = [
    "REFERENCE_DAY",
    "SessionCalendar",
    "SimulatedProvider",
    "SymbolProfile",
    "derive_profile",
]

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Sleep = Callable[[float], Awaitable[None]]

#: The day whose close is each symbol's reference price; the walk runs both ways from it.
REFERENCE_DAY: Final = date(2026, 1, 2)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_NEW_YORK: Final = ZoneInfo("America/New_York")
_SESSION_OPEN: Final = time(9, 30)
_SESSION_MINUTES: Final = 390
_MINUTE_US: Final = 60_000_000
_HOUR_US: Final = 60 * _MINUTE_US
# About a fifth of a large cap's daily variance happens between the close and the next open.
_OVERNIGHT_SHARE: Final = 0.2
# The day's minute path is pinned to a point about every quarter of an hour; its high and low
# reach past the highest and lowest point by about half a quarter hour's standard deviation.
_ANCHOR_MINUTES: Final = 15
_EXTREME_REACH: Final = 0.5
_MINUTE_WICK: Final = 0.45
_DAYS_PER_CHUNK: Final = 64  # minute paths are built this many days at a time to bound memory


class SessionCalendar(Protocol):
    """What the simulator needs of a trading calendar."""

    def is_open(self, at: datetime) -> bool: ...


CalendarFor = Callable[[Instrument], SessionCalendar | None]


# --- profiles -------------------------------------------------------------------------------

# symbol: (close on REFERENCE_DAY, annualised volatility, shares or coins traded a day)
_KNOWN: Final[dict[str, tuple[str, float, float]]] = {
    "AAPL": ("230", 0.25, 50e6),
    "MSFT": ("420", 0.22, 20e6),
    "NVDA": ("140", 0.45, 250e6),
    "AMZN": ("200", 0.30, 40e6),
    "GOOGL": ("175", 0.28, 25e6),
    "GOOG": ("176", 0.28, 18e6),
    "META": ("580", 0.35, 12e6),
    "TSLA": ("350", 0.55, 90e6),
    "AMD": ("125", 0.50, 40e6),
    "INTC": ("20", 0.40, 60e6),
    "NFLX": ("900", 0.35, 3e6),
    "JPM": ("240", 0.22, 9e6),
    "BAC": ("45", 0.25, 35e6),
    "V": ("310", 0.18, 7e6),
    "MA": ("520", 0.18, 3e6),
    "WMT": ("90", 0.18, 15e6),
    "KO": ("62", 0.14, 13e6),
    "PEP": ("150", 0.15, 6e6),
    "XOM": ("110", 0.22, 15e6),
    "DIS": ("110", 0.25, 9e6),
    "BRK.B": ("460", 0.15, 4e6),
    "SPY": ("600", 0.16, 70e6),
    "QQQ": ("520", 0.20, 35e6),
    "IWM": ("220", 0.22, 30e6),
    "DIA": ("430", 0.15, 3e6),
    "BTC/USD": ("90000", 0.55, 15e3),
    "ETH/USD": ("3200", 0.70, 250e3),
    "SOL/USD": ("190", 0.85, 2.5e6),
    "LTC/USD": ("100", 0.75, 400e3),
    "DOGE/USD": ("0.32", 1.00, 1.5e9),
}


@dataclass(frozen=True)
class SymbolProfile:
    """How one symbol moves in the simulation; derived from the seed and the symbol."""

    reference_price: Decimal  # the close on REFERENCE_DAY, on the tick grid
    volatility: float  # annualised standard deviation of log returns, jumps aside
    drift: float  # annualised expected return
    jump_intensity: float  # jumps a year
    jump_volatility: float  # standard deviation of a jump's log size
    daily_volume: Decimal  # shares (or coins) on a typical day
    spread_bps: float  # typical quoted spread, in basis points of the price


def _hash64(*parts: object) -> int:
    """A 64-bit hash that is the same in every process (Python's hash() is salted)."""
    text = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _unit(*parts: object) -> float:
    return (_hash64(*parts) + 0.5) / 2.0**64


def derive_profile(instrument: Instrument, seed: int) -> SymbolProfile:
    """A plausible profile: the known table for well-known symbols, hash-derived otherwise,
    nudged by the seed so that two seeds give two different markets."""
    symbol = instrument.symbol
    crypto = instrument.asset_class is AssetClass.CRYPTO
    known = _KNOWN.get(symbol)
    if known is not None:
        price, volatility, volume = float(known[0]), known[1], known[2]
    elif crypto:
        price = math.exp(math.log(0.5) + math.log(1000) * _unit(symbol, "price"))
        volatility = 0.6 + 0.5 * _unit(symbol, "volatility")
        volume = 2e7 / price * math.exp(_unit(symbol, "volume") - 0.5)
    else:
        price = math.exp(math.log(10) + math.log(40) * _unit(symbol, "price"))
        volatility = 0.2 + 0.4 * _unit(symbol, "volatility")
        volume = math.exp(math.log(3e5) + math.log(60) * _unit(symbol, "volume"))
    normal = NormalDist()
    price *= math.exp(0.05 * normal.inv_cdf(_unit(seed, symbol, "price")))
    volatility *= math.exp(0.08 * normal.inv_cdf(_unit(seed, symbol, "volatility")))
    reference = max(instrument.round_to_tick(Decimal(f"{price:.9f}")), 2 * instrument.tick_size)
    if crypto:
        spread = 1.5 * (volatility / 0.6) * math.sqrt(2e8 / (volume * price))
        spread = min(max(spread, 0.5), 60.0)
    else:
        spread = min(max(0.6 * (volatility / 0.25) * math.sqrt(2e7 / volume), 0.2), 40.0)
    step = _volume_step(instrument)
    return SymbolProfile(
        reference_price=reference,
        volatility=volatility,
        drift=0.10 if crypto else 0.07,
        jump_intensity=10.0 if crypto else 4.0,
        jump_volatility=0.045 if crypto else 0.035,
        daily_volume=max(round(Decimal(volume) / step), 1) * step,
        spread_bps=spread,
    )


def _volume_step(instrument: Instrument) -> Decimal:
    """Bar volumes count whole shares for equities, lots for crypto."""
    lot = instrument.lot_size
    if instrument.asset_class is AssetClass.US_EQUITY and Decimal(1) % lot == 0:
        return Decimal(1)
    return lot


# --- counter-based randomness -----------------------------------------------------------------

_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)


def _uniform(key: int, counters: Ints) -> Floats:
    """Uniforms in (0, 1), each a function of (key, counter) alone: splitmix64's finaliser."""
    x = counters.astype(np.uint64) * _GOLDEN + np.uint64(key)
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normal(key: int, counters: Ints) -> Floats:
    radius = np.sqrt(-2.0 * np.log(_uniform(key, counters)))
    return radius * np.cos(2.0 * np.pi * _uniform(key ^ 0x5DEECE66D, counters))


def _exponential(key: int, counters: Ints) -> Floats:
    return -np.log(_uniform(key, counters))


# --- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SessionTable:
    opens: Ints  # the session's first minute, in minutes since the Unix epoch
    lengths: Ints  # minutes in the session; 0 on a day without one
    midnights: Ints  # the start of the day bar (midnight in the instrument's zone), epoch us


class _Sessions:
    """When each day trades: every UTC day for crypto; 09:30-16:00 New York on weekdays for
    equities, or on the calendar's sessions (early closes found by asking it) when given."""

    def __init__(self, crypto: bool, calendar: SessionCalendar | None) -> None:
        self._crypto = crypto
        self._calendar = calendar
        self._days: dict[int, tuple[int, int, int]] = {}

    def table(self, first: int, last: int) -> _SessionTable:
        ordinals = np.arange(first, last + 1, dtype=np.int64)
        if self._crypto:
            opens = (ordinals - _EPOCH_ORDINAL) * 1440
            return _SessionTable(opens, np.full_like(opens, 1440), opens * _MINUTE_US)
        rows = np.array([self._day(ordinal) for ordinal in range(first, last + 1)], np.int64)
        rows = rows.reshape(-1, 3)
        return _SessionTable(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy())

    def _day(self, ordinal: int) -> tuple[int, int, int]:
        found = self._days.get(ordinal)
        if found is None:
            day = date.fromordinal(ordinal)
            midnight = datetime.combine(day, time(0), tzinfo=_NEW_YORK)
            opening = datetime.combine(day, _SESSION_OPEN, tzinfo=_NEW_YORK)
            found = (_micros(opening) // _MINUTE_US, self._length(day, opening), _micros(midnight))
            self._days[ordinal] = found
        return found

    def _length(self, day: date, opening: datetime) -> int:
        if self._calendar is None:
            return _SESSION_MINUTES if day.weekday() < 5 else 0
        is_open = self._calendar.is_open
        if not is_open(opening + timedelta(hours=2)):
            return 0
        if is_open(opening + timedelta(minutes=_SESSION_MINUTES - 1)):
            return _SESSION_MINUTES
        # An early close: the last open minute, by bisection (the session is one interval).
        low, high = 0, _SESSION_MINUTES - 1
        while high - low > 1:
            middle = (low + high) // 2
            if is_open(opening + timedelta(minutes=middle)):
                low = middle
            else:
                high = middle
        # A day's path needs two anchor points inside its session; shorter ones do not occur.
        return low + 1 if low + 1 >= 2 * _ANCHOR_MINUTES else 0


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


# --- the world of one symbol ------------------------------------------------------------------


@dataclass(frozen=True)
class _Bars:
    """Bars as parallel arrays: prices in ticks, volume in volume steps, vwap in nanos."""

    starts: Ints  # epoch microseconds
    open: Ints
    high: Ints
    low: Ints
    close: Ints
    volume: Ints
    trades: Ints
    vwap: Ints

    def take(self, index: NDArray[np.bool_] | Ints | slice) -> _Bars:
        return _Bars(*(getattr(self, name)[index] for name in _BAR_FIELDS))

    def starting(self, starts: Ints) -> _Bars:
        return replace(self, starts=starts)


_BAR_FIELDS: Final = tuple(field.name for field in fields(_Bars))


@dataclass(frozen=True)
class _Days:
    """A run of sessions (days without one are left out): each day's bar, and the anchor
    points its minute path goes through (every quarter of an hour or so, the open, the close,
    and the high and low in place of the highest and lowest of them)."""

    opens: Ints  # the session's first minute, epoch minutes
    lengths: Ints  # minutes in the session
    bars: _Bars  # starting at the day buckets (midnight in the instrument's zone)
    anchor_times: Ints  # (day, anchor): minutes after the open, ascending, padded with the close
    anchor_logs: Floats  # log prices at the anchors
    at_high: Ints  # minutes after the open when the day's high and low are reached
    at_low: Ints

    def take(self, index: slice) -> _Days:
        return _Days(
            self.opens[index],
            self.lengths[index],
            self.bars.take(index),
            self.anchor_times[index],
            self.anchor_logs[index],
            self.at_high[index],
            self.at_low[index],
        )


@dataclass(frozen=True)
class _DayPath:
    """One session's minute path, for the live stream to sample."""

    open_us: int
    close_us: int
    points: Floats  # log price at each minute boundary, n + 1 of them
    variance: Floats  # the variance of each minute's log return
    low: float
    high: float


class _World:
    """One instrument's deterministic market."""

    def __init__(
        self, instrument: Instrument, profile: SymbolProfile, seed: int, sessions: _Sessions
    ) -> None:
        self.instrument = instrument
        self.profile = profile
        self.sessions = sessions
        self.crypto = instrument.asset_class is AssetClass.CRYPTO
        self.tick = float(instrument.tick_size)
        self.tick_nanos = to_nanos(instrument.tick_size)
        self.volume_step = _volume_step(instrument)
        year = 365.0 if self.crypto else 252.0
        vol = profile.volatility
        jump_mean = math.exp(profile.jump_volatility**2 / 2) - 1
        # Ito's and the jumps' compensators keep the expected growth at the drift.
        self.day_drift = (profile.drift - vol**2 / 2 - profile.jump_intensity * jump_mean) / year
        self.day_sd = vol / math.sqrt(year)
        self.gap_share = 0.0 if self.crypto else _OVERNIGHT_SHARE
        self.intraday_variance = (1 - self.gap_share) * self.day_sd**2
        self.jump_chance = profile.jump_intensity / year
        self.log_reference = math.log(float(profile.reference_price))
        self.daily_steps = float(profile.daily_volume / self.volume_step)
        average_trade = 1500 / float(profile.reference_price) if self.crypto else 120.0
        self.trade_steps = average_trade / float(self.volume_step)
        self.full_session = 1440 if self.crypto else _SESSION_MINUTES
        self.keys = {name: _hash64(seed, instrument.symbol, name) for name in _STREAMS}

    def days(self, first: int, last: int) -> _Days:
        """Every session from ordinal `first` to `last`, with its exact day bar."""
        anchor = REFERENCE_DAY.toordinal()
        low, high = min(first, anchor), max(last, anchor)
        table = self.sessions.table(low, high)
        ordinals = np.arange(low, high + 1, dtype=np.int64)
        keys = self.keys
        jumps = np.where(
            _uniform(keys["jump"], ordinals) < self.jump_chance,
            self.profile.jump_volatility * _normal(keys["jump size"], ordinals),
            0.0,
        )
        gap = math.sqrt(self.gap_share) * self.day_sd * _normal(keys["gap"], ordinals)
        day_sd = math.sqrt(self.intraday_variance)
        intraday = self.day_drift + day_sd * _normal(keys["day"], ordinals)
        if self.crypto:
            intraday = intraday + jumps
        else:
            gap = gap + jumps  # news lands overnight: earnings are out of hours
        returns = np.where(table.lengths > 0, gap + intraday, 0.0)
        # Summed outwards from the reference close, so that a day's close is the same sum of
        # the same floats whatever range it was asked in.
        at = anchor - low
        before = -np.cumsum(returns[at:0:-1])[::-1]
        after = np.cumsum(returns[at + 1 :])
        closes = self.log_reference + np.concatenate([before, [0.0], after])
        window = table.lengths[first - low : last - low + 1]
        pick = np.flatnonzero(window > 0) + (first - low)
        days, opens, lengths = ordinals[pick], table.opens[pick], table.lengths[pick]
        close = closes[pick]
        open_ = close - intraday[pick]
        times, logs = self._anchors(days, opens, lengths, open_, close)
        inside = (times > 0) & (times < lengths[:, None])
        high_at = np.argmax(np.where(inside, logs, -np.inf), axis=1)
        low_at = np.argmin(np.where(inside, logs, np.inf), axis=1)
        reach = np.sqrt(self.intraday_variance * _ANCHOR_MINUTES / lengths) * _EXTREME_REACH
        high_x = logs.max(axis=1) + reach * _exponential(keys["high"], days)
        low_x = logs.min(axis=1) - reach * _exponential(keys["low"], days)
        o, h, lo, c = (self._ticks(x) for x in (open_, high_x, low_x, close))
        logs = self._exact_anchors(times, logs, lengths, (o, h, lo, c), (high_at, low_at))
        volume, trades = self._activity(days, lengths, np.abs(returns[pick]))
        vwap = self._day_vwap(times, logs, lengths, lo, h)
        bars = _Bars(table.midnights[pick], o, h, lo, c, volume, trades, vwap)
        rows = np.arange(len(days))
        return _Days(opens, lengths, bars, times, logs, times[rows, high_at], times[rows, low_at])

    def _anchors(
        self, days: Ints, opens: Ints, lengths: Ints, open_: Floats, close: Floats
    ) -> tuple[Ints, Floats]:
        """A coarse Brownian bridge from the open to the close: a point every quarter hour,
        from a per-day phase so that days do not all peak on the quarter."""
        width = 2 + math.ceil(self.full_session / _ANCHOR_MINUTES)
        n = lengths[:, None]
        phase = 1 + np.floor(_uniform(self.keys["phase"], days) * (_ANCHOR_MINUTES - 1))
        grid = phase.astype(np.int64)[:, None] + np.arange(width - 1) * _ANCHOR_MINUTES
        times = np.concatenate([np.zeros_like(n), np.minimum(grid, n)], axis=1)
        spans = np.diff(times, axis=1)
        middle = (times[:, :-1] + spans / 2) / n
        variance = self.intraday_variance * spans / n * self._shape(middle)
        steps = np.sqrt(variance) * _normal(self.keys["anchor"], opens[:, None] + times[:, 1:])
        walk = np.concatenate([np.zeros_like(open_)[:, None], np.cumsum(steps, axis=1)], axis=1)
        share = times / n
        bridge = walk - share * walk[:, -1:]
        logs: Floats = open_[:, None] + share * (close - open_)[:, None] + bridge
        return times, logs

    def _exact_anchors(
        self,
        times: Ints,
        logs: Floats,
        lengths: Ints,
        ticks: tuple[Ints, Ints, Ints, Ints],
        extremes: tuple[Ints, Ints],
    ) -> Floats:
        """The anchors with the open, high, low and close at exactly their tick prices."""
        o, h, lo, c = (np.log(prices * self.tick) for prices in ticks)
        exact = np.clip(logs, lo[:, None], h[:, None])
        rows = np.arange(len(lengths))
        exact[:, 0] = o
        exact[rows, extremes[0]] = h
        exact[rows, extremes[1]] = lo
        result: Floats = np.where(times == lengths[:, None], c[:, None], exact)
        return result

    def _activity(self, days: Ints, lengths: Ints, moves: Floats) -> tuple[Ints, Ints]:
        """Volume and trade count of each day: busier on days that move, as markets are."""
        share = lengths / self.full_session
        busy = 0.75 + 0.3 * moves / self.day_sd
        noise = np.exp(0.3 * _normal(self.keys["volume"], days) - 0.045)
        volume = np.maximum(np.rint(self.daily_steps * noise * busy * share), lengths)
        count_noise = np.exp(0.15 * _normal(self.keys["trades"], days))
        trades = np.maximum(np.rint(volume / self.trade_steps * count_noise), lengths)
        return volume.astype(np.int64), trades.astype(np.int64)

    def _day_vwap(self, times: Ints, logs: Floats, lengths: Ints, low: Ints, high: Ints) -> Ints:
        """The anchors' prices weighted by how busy their stretch of the day is; close to, not
        exactly, what the minute bars' vwaps roll up to."""
        prices = np.exp(logs)
        spans = np.diff(times, axis=1)
        middle = (times[:, :-1] + spans / 2) / lengths[:, None]
        weights = spans * self._shape(middle)
        mean = (weights * (prices[:, :-1] + prices[:, 1:]) / 2).sum(axis=1) / weights.sum(axis=1)
        nanos = np.rint(mean * 1e9).astype(np.int64)
        clipped: Ints = np.clip(nanos, low * self.tick_nanos, high * self.tick_nanos)
        return clipped

    def _shape(self, position: Floats) -> Floats:
        """Relative activity through the session (mean 1): U-shaped for equities, busy at the
        open and the close; a gentle daily cycle for crypto, peaking in US hours."""
        if self.crypto:
            cycle: Floats = 1 + 0.3 * np.cos(2 * np.pi * (position - 0.6))
            return cycle
        shape: Floats = (0.6 + 2.2 * (2 * position - 1) ** 2) / (0.6 + 2.2 / 3)
        return shape

    def _ticks(self, log_price: Floats) -> Ints:
        # Never at or below one tick: a price of zero or one tick is not a market.
        return np.maximum(np.rint(np.exp(log_price) / self.tick), 2).astype(np.int64)

    def minute_variance(self, lengths: Ints, width: int) -> Floats:
        n = lengths[:, None]
        position = (np.arange(width)[None, :] + 0.5) / n
        variance: Floats = self.intraday_variance / n * self._shape(position)
        return variance

    def minutes(self, days: _Days) -> Iterator[_Bars]:
        """The minute bars of `days`, some days at a time, in time order."""
        for first in range(0, len(days.opens), _DAYS_PER_CHUNK):
            yield self._minutes(days.take(slice(first, first + _DAYS_PER_CHUNK)))

    def _minutes(self, days: _Days) -> _Bars:
        width = int(days.lengths.max())
        minute = np.arange(width, dtype=np.int64)[None, :]
        valid = minute < days.lengths[:, None]
        counters = days.opens[:, None] + minute
        variance = self.minute_variance(days.lengths, width)
        steps = np.where(valid, np.sqrt(variance) * _normal(self.keys["path"], counters), 0.0)
        points = self._path(days, steps)
        day = days.bars
        open_, close = points[:, :-1], points[:, 1:]
        top, bottom = np.maximum(open_, close), np.minimum(open_, close)
        wick = _MINUTE_WICK * top * np.sqrt(variance)
        up = np.rint(wick * _exponential(self.keys["wick up"], counters)).astype(np.int64)
        down = np.rint(wick * _exponential(self.keys["wick down"], counters)).astype(np.int64)
        floor, ceiling = _inside(day)
        high = np.maximum(top, np.minimum(top + up, ceiling))
        low = np.minimum(bottom, np.maximum(bottom - down, floor))
        busy = np.exp(0.5 * _normal(self.keys["busy"], counters))
        weights = np.where(valid, self._shape(minute / days.lengths[:, None]) * busy, 0.0)
        volume = _apportion(day.volume, days.lengths, weights)
        trades = _apportion(day.trades, days.lengths, weights)
        vwap = (open_ + high + low + close) * self.tick_nanos // 4
        starts = counters * _MINUTE_US
        columns = (starts, open_, high, low, close, volume, trades, vwap)
        return _Bars(*(column[valid] for column in columns))

    def _path(self, days: _Days, steps: Floats) -> Ints:
        """Prices in ticks at each minute boundary: a Brownian bridge between the day's anchor
        points, squeezed (tanh) to stay within its low and high, so that the minutes touch
        the day's extremes exactly once each and roll up to exactly the day bar."""
        count, width = steps.shape
        walk = np.concatenate([np.zeros((count, 1)), np.cumsum(steps, axis=1)], axis=1)
        times, logs = days.anchor_times, days.anchor_logs
        anchors = times.shape[1]
        point = np.arange(width + 1)[None, :]
        row = np.arange(count)[:, None]
        stride = width + 2  # larger than any time, so each row's times stay apart when flattened
        flat = (times + row * stride).ravel()
        found = np.searchsorted(flat, (point + row * stride).ravel()).reshape(count, width + 1)
        after = np.clip(found - row * anchors, 1, anchors - 1)
        before = after - 1
        start, end = np.take_along_axis(times, before, 1), np.take_along_axis(times, after, 1)
        fraction = np.clip((point - start) / np.maximum(end - start, 1), 0.0, 1.0)

        def between(values: Floats) -> Floats:
            left = np.take_along_axis(values, before, 1)
            result: Floats = left + fraction * (np.take_along_axis(values, after, 1) - left)
            return result

        base = between(logs)
        noise = walk - between(np.take_along_axis(walk, times, 1))
        day = days.bars
        top = np.log(day.high * self.tick)[:, None]
        bottom = np.log(day.low * self.tick)[:, None]
        room = np.where(noise > 0, top - base, base - bottom).clip(min=1e-12)
        x = base + room * np.tanh(noise / room)
        ticks = np.clip(self._ticks(x), *_inside(day))
        rows = np.arange(count)
        ticks[rows, 0] = day.open
        ticks[rows, days.at_high] = day.high
        ticks[rows, days.at_low] = day.low
        ticks[rows, days.lengths] = day.close
        return ticks

    def day_path(self, ordinal: int) -> _DayPath | None:
        days = self.days(ordinal, ordinal)
        if len(days.opens) == 0:
            return None
        bars = next(self.minutes(days))
        ticks = np.concatenate([bars.open[:1], bars.close])
        open_us = int(days.opens[0]) * _MINUTE_US
        return _DayPath(
            open_us=open_us,
            close_us=open_us + int(days.lengths[0]) * _MINUTE_US,
            points=np.log(ticks * self.tick),
            variance=self.minute_variance(days.lengths, int(days.lengths[0]))[0],
            low=math.log(int(days.bars.low[0]) * self.tick),
            high=math.log(int(days.bars.high[0]) * self.tick),
        )


_STREAMS: Final = (
    "jump",
    "jump size",
    "gap",
    "day",
    "phase",
    "anchor",
    "high",
    "low",
    "volume",
    "trades",
    "path",
    "wick up",
    "wick down",
    "busy",
)


def _inside(day: _Bars) -> tuple[Ints, Ints]:
    """A tick inside each day's low and high (when there is room): the extremes are left to
    their anchor points, so that only the minutes there reach them, as in a real day."""
    room = (day.high - day.low >= 2)[:, None]
    floor = np.where(room, day.low[:, None] + 1, day.low[:, None])
    ceiling = np.where(room, day.high[:, None] - 1, day.high[:, None])
    return floor, ceiling


def _apportion(totals: Ints, lengths: Ints, weights: Floats) -> Ints:
    """Split each day's total over its minutes in proportion to `weights`, at least one to a
    minute, summing exactly to the total (rounding the running sum, not each share)."""
    running = np.cumsum(weights, axis=1)
    spare = (totals - lengths).astype(np.float64)[:, None]
    rounded = np.rint(spare * running / running[:, -1:]).astype(np.int64)
    result: Ints = np.diff(rounded, axis=1, prepend=0) + 1
    return result


def _roll(bars: _Bars, keys: Ints, tick_nanos: int) -> _Bars:
    """One bar per run of equal `keys`, starting where its first bar starts."""
    if len(keys) == 0:
        return bars
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    last = np.concatenate([first[1:] - 1, [len(keys) - 1]])
    volume = np.add.reduceat(bars.volume, first)
    high = np.maximum.reduceat(bars.high, first)
    low = np.minimum.reduceat(bars.low, first)
    notional = np.add.reduceat(bars.vwap.astype(np.float64) * bars.volume, first)
    vwap = np.clip(np.rint(notional / volume), low * tick_nanos, high * tick_nanos)
    return _Bars(
        bars.starts[first],
        bars.open[first],
        high,
        low,
        bars.close[last],
        volume,
        np.add.reduceat(bars.trades, first),
        vwap.astype(np.int64),
    )


def _concat(parts: list[_Bars]) -> _Bars:
    if not parts:
        return _Bars(*(np.zeros(0, np.int64) for _ in _BAR_FIELDS))
    return _Bars(*(np.concatenate([getattr(part, name) for part in parts]) for name in _BAR_FIELDS))


# --- the live stream --------------------------------------------------------------------------


class _Live:
    """One symbol's stream: samples the world's minute path, with a Brownian bridge between
    minute boundaries, and quotes and trades around it."""

    def __init__(self, world: _World, rng: random.Random, provider: str) -> None:
        self.world = world
        self.rng = rng
        self.provider = provider
        self.instrument = world.instrument
        self.crypto = world.crypto
        profile = world.profile
        notional = float(profile.daily_volume) * float(profile.reference_price)
        # One trade in most ticks for the most traded names, one in five for thin ones.
        self.trade_chance = min(0.9, max(0.15, 0.3 + 0.12 * math.log(notional / 1e8)))
        self.depth = 2 + 6 * math.sqrt(notional / 1e10)
        lot = self.instrument.lot_size
        self.round_lot = int((Decimal(100) / lot).to_integral_value(ROUND_CEILING))
        self.lot = float(lot)
        self.trade_id = 0
        self.path: tuple[int, _DayPath | None] | None = None
        self.closes: tuple[int, list[int], list[float]] | None = None
        self.last: tuple[int, float] | None = None  # (epoch us, log price) in this minute

    def tick(self, now: datetime) -> Iterator[Tick]:
        micros = _micros(now)
        mid = math.exp(self._log_price(now, micros)) / self.world.tick
        bid, ask = self._quote_prices(mid)
        from_ticks = self.instrument.from_ticks
        yield Quote(
            self.instrument.symbol,
            from_ticks(bid),
            self._quote_size(mid),
            from_ticks(ask),
            self._quote_size(mid),
            now,
            provider=self.provider,
        )
        if self.rng.random() < self.trade_chance:
            self.trade_id = max(self.trade_id + 1, micros)
            yield Trade(
                self.instrument.symbol,
                from_ticks(self._trade_price(bid, ask)),
                self._trade_size(mid),
                now,
                trade_id=self.trade_id,
                provider=self.provider,
            )

    def _log_price(self, now: datetime, micros: int) -> float:
        ordinal = now.astimezone(self.instrument.timezone).date().toordinal()
        if self.path is None or self.path[0] != ordinal:
            self.path = (ordinal, self.world.day_path(ordinal))
        path = self.path[1]
        if path is None or not path.open_us <= micros < path.close_us:
            self.last = None
            return self._last_close(ordinal, micros)
        index = (micros - path.open_us) // _MINUTE_US
        begin = path.open_us + index * _MINUTE_US
        end = begin + _MINUTE_US
        since, start = begin, float(path.points[index])
        if self.last is not None and begin <= self.last[0] <= micros:
            since, start = self.last
        target = float(path.points[index + 1])
        span = end - since
        mean = start + (micros - since) / span * (target - start)
        variance = float(path.variance[index]) * (micros - since) * (end - micros) / span
        value = mean + math.sqrt(variance / _MINUTE_US) * self.rng.gauss(0.0, 1.0)
        value = min(max(value, path.low), path.high)
        self.last = (micros, value)
        return value

    def _last_close(self, ordinal: int, micros: int) -> float:
        """The close of the latest session that ended by `micros`."""
        if self.closes is None or self.closes[0] != ordinal:
            days = self.world.days(ordinal - 14, ordinal)
            ends = ((days.opens + days.lengths) * _MINUTE_US).tolist()
            closes = [math.log(close * self.world.tick) for close in days.bars.close.tolist()]
            self.closes = (ordinal, ends, closes)
        _, ends, closes = self.closes
        index = bisect_right(ends, micros) - 1
        if index < 0:
            raise InvalidMarketData(f"no session of {self.instrument.symbol} in two weeks")
        return closes[index]

    def _quote_prices(self, mid: float) -> tuple[int, int]:
        base = max(1.0, mid * self.world.profile.spread_bps / 1e4)
        spread = max(1, round(base * (0.7 + 0.6 * self.rng.random())))
        if self.rng.random() < 0.1:
            spread += self.rng.randint(1, 3)  # a side briefly pulled
        bid = max(2, round(mid - spread / 2))
        return bid, bid + spread

    def _trade_price(self, bid: int, ask: int) -> int:
        side = self.rng.random()
        if side < 0.45:
            return ask
        if side < 0.9 or ask - bid < 2:
            return bid
        return self.rng.randint(bid + 1, ask - 1)

    def _quote_size(self, mid: float) -> Decimal:
        if self.crypto:
            notional = 25_000 * math.exp(0.8 * self.rng.gauss(0.0, 1.0))
            return self._crypto_size(notional / (mid * self.world.tick))
        lots = 1 + int(self.rng.expovariate(1 / self.depth))
        return self.round_lot * lots * self.instrument.lot_size

    def _trade_size(self, mid: float) -> Decimal:
        if self.crypto:
            notional = 1_500 * math.exp(1.1 * self.rng.gauss(0.0, 1.0))
            return self._crypto_size(notional / (mid * self.world.tick))
        kind = self.rng.random()
        if kind < 0.45:
            shares = self.rng.randint(1, 99)  # odd lots: most trades on US exchanges
        elif kind < 0.8:
            shares = 100
        else:
            shares = 100 * self.rng.randint(2, 10)
        lots = max(1, int(Decimal(shares) / self.instrument.lot_size))
        return Decimal(lots) * self.instrument.lot_size

    def _crypto_size(self, units: float) -> Decimal:
        """About three significant digits, as people size crypto orders, on the lot grid."""
        lots = units / self.lot
        step: int = 10 ** max(0, math.floor(math.log10(max(lots, 1.0))) - 2)
        return Decimal(max(1, round(lots / step)) * step) * self.instrument.lot_size


# --- the provider -----------------------------------------------------------------------------


class SimulatedProvider:
    """A seeded simulated market for `instruments`: live quotes and trades, and history."""

    name = "simulated"

    def __init__(
        self,
        instruments: Sequence[Instrument],
        *,
        seed: int,
        clock: Clock,
        tick_interval: timedelta = timedelta(milliseconds=500),
        sleep: Sleep = asyncio.sleep,
        calendar_for: CalendarFor | None = None,
    ) -> None:
        if tick_interval <= timedelta(0):
            raise ValueError("the tick interval must be positive")
        self._seed = seed
        self._clock = clock
        self._interval = tick_interval.total_seconds()
        self._sleep = sleep
        self._calendars: dict[str, SessionCalendar | None] = {}
        self._worlds: dict[str, _World] = {}
        sessions: dict[tuple[bool, int], _Sessions] = {}
        for instrument in instruments:
            crypto = instrument.asset_class is AssetClass.CRYPTO
            calendar = None if crypto or calendar_for is None else calendar_for(instrument)
            # Instruments on one calendar share its session cache.
            shared = sessions.setdefault((crypto, id(calendar)), _Sessions(crypto, calendar))
            profile = derive_profile(instrument, seed)
            self._worlds[instrument.symbol] = _World(instrument, profile, seed, shared)
            self._calendars[instrument.symbol] = calendar

    def profile(self, symbol: str) -> SymbolProfile:
        return self._world(symbol).profile

    def _world(self, symbol: str) -> _World:
        world = self._worlds.get(symbol)
        if world is None:
            raise InvalidMarketData(f"no simulated instrument {symbol!r}", code="unknown_symbol")
        return world

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        """Every tick interval, a quote for each symbol whose market is open and, for some, a
        trade; first, one quote for each symbol whose market is closed. It never ends by
        itself."""
        worlds = [self._world(symbol) for symbol in symbols]
        return self._ticks(worlds)

    async def _ticks(self, worlds: list[_World]) -> AsyncIterator[Tick]:
        started = _micros(self._clock.now())
        lives = []
        for world in worlds:
            seed = _hash64(self._seed, world.instrument.symbol, "stream", started)
            rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
            lives.append(_Live(world, rng, self.name))
        first = True
        while True:
            now = self._clock.now()
            for live in lives:
                calendar = self._calendars[live.instrument.symbol]
                if calendar is None or calendar.is_open(now):
                    for tick in live.tick(now):
                        yield tick
                elif first:
                    # a closed market still has a last quote (around its closing price), so
                    # a client that connects at night sees prices, though they do not move
                    try:
                        closing = next(live.tick(now))
                    except InvalidMarketData:  # no session in the lookback window
                        continue
                    yield closing
            first = False
            await self._sleep(self._interval)

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        """Bars with `start <= bar.start < end` as the world stands at the clock's now: bars
        after now are not there yet, and the bar in progress holds only its finished minutes."""
        world = self._world(symbol)
        low, high = _micros(_aware(start)), _micros(_aware(end))
        now = _micros(self._clock.now())
        if low >= high or low >= now:
            return []
        zone = world.instrument.timezone
        first = _aware(start).astimezone(zone).date().toordinal() - 1
        last = _from_micros(min(high, now)).astimezone(zone).date().toordinal()
        days = world.days(first, last)
        if timeframe is Timeframe.DAY:
            found = _day_bars(world, days, now)
        else:
            found = _intraday_bars(world, days, now, timeframe)
        inside = (found.starts >= low) & (found.starts < high)
        return _to_bars(world, timeframe, found.take(inside))


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidMarketData("naive datetimes are not accepted; give a timezone")
    return at


def _day_bars(world: _World, days: _Days, now: int) -> _Bars:
    ends = (days.opens + days.lengths) * _MINUTE_US
    complete = days.bars.take(ends <= now)
    forming = np.flatnonzero((days.opens * _MINUTE_US + _MINUTE_US <= now) & (ends > now))
    if len(forming) == 0:
        return complete
    today = days.take(slice(int(forming[0]), int(forming[0]) + 1))
    minutes = _concat(list(world.minutes(today)))
    minutes = minutes.take(minutes.starts + _MINUTE_US <= now)
    keys = np.zeros(len(minutes.starts), np.int64)
    partial = _roll(minutes, keys, world.tick_nanos).starting(today.bars.starts)
    return _concat([complete, partial])


def _intraday_bars(world: _World, days: _Days, now: int, timeframe: Timeframe) -> _Bars:
    parts = []
    for chunk in world.minutes(days):
        minutes = chunk.take(chunk.starts + _MINUTE_US <= now)
        if timeframe is Timeframe.HOUR:
            hours = _roll(minutes, minutes.starts // _HOUR_US, world.tick_nanos)
            minutes = hours.starting(hours.starts // _HOUR_US * _HOUR_US)
        parts.append(minutes)
    return _concat(parts)


def _to_bars(world: _World, timeframe: Timeframe, bars: _Bars) -> list[Bar]:
    symbol = world.instrument.symbol
    tick = world.instrument.tick_size
    step = world.volume_step
    rows = zip(
        bars.starts.tolist(),
        bars.open.tolist(),
        bars.high.tolist(),
        bars.low.tolist(),
        bars.close.tolist(),
        bars.volume.tolist(),
        bars.trades.tolist(),
        bars.vwap.tolist(),
        strict=True,
    )
    return [
        Bar(
            symbol,
            timeframe,
            _from_micros(start),
            Decimal(open_) * tick,
            Decimal(high) * tick,
            Decimal(low) * tick,
            Decimal(close) * tick,
            Decimal(volume) * step,
            trades,
            from_nanos(vwap),
        )
        for start, open_, high, low, close, volume, trades, vwap in rows
    ]
