"""Trading calendars: whether a market is open, its sessions, and its next open and close.

US equities follow the NYSE calendar of the `exchange_calendars` package (holidays and early
closes included) plus the extended hours around it; crypto trades around the clock, in
sessions dated by the UTC day. Every datetime in and out is timezone-aware UTC, and the
calendars answer for 2000-01-01 to 2099-12-31.
"""

from __future__ import annotations

import threading
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo

import exchange_calendars  # type: ignore[import-untyped]

from finplat.marketdata.domain import (
    AssetClass,
    Instrument,
    InvalidMarketData,
    MarketClock,
    Session,
)

#: The days calendars answer for; questions outside them are refused, so that no request can
#: make a schedule to the year 9999 be built (and holiday rules that far out are guesses).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)

#: How many years past the latest date asked about a schedule is built. Building is the slow
#: part (about 0.13 s for 2000-2028 on XNYS), so it happens once per code and again only when
#: a question comes within a year of the end.
_YEARS_AHEAD = 2

_DAY = timedelta(days=1)


class TradingCalendar(Protocol):
    """When a market trades. Sessions are dated in the market's own zone."""

    def is_open(self, at: datetime, *, extended: bool = False) -> bool:
        """Within a session (open inclusive, close exclusive); with `extended`, within its
        pre-market or post-market hours too."""
        ...

    def next_open(self, at: datetime) -> datetime:
        """The next regular open strictly after `at`."""
        ...

    def next_close(self, at: datetime) -> datetime:
        """The close of the session in progress at `at`, or else of the next session."""
        ...

    def clock(self, at: datetime) -> MarketClock: ...

    def sessions(self, start: date, end: date) -> list[Session]:
        """The sessions dated from `start` to `end`, both inclusive."""
        ...

    def session_on(self, day: date) -> Session | None: ...

    def previous_session(self, at: datetime) -> Session:
        """The last session that had closed by `at`."""
        ...


@dataclass(frozen=True)
class ExtendedHours:
    """Trading outside the regular session, in the exchange's local time."""

    pre_open: time  # when the pre-market opens on a session day
    post_market: timedelta  # how long the post-market runs after the close


#: US equities trade 04:00-09:30 and 16:00-20:00 New York time. Tying the post-market to the
#: close rather than to 20:00 makes it end at 17:00 on early-close days, as it does.
US_EQUITY_EXTENDED_HOURS = ExtendedHours(time(4, 0), timedelta(hours=4))
_EXTENDED_HOURS = {"XNYS": US_EQUITY_EXTENDED_HOURS}


@dataclass(frozen=True)
class _Schedule:
    """One exchange's sessions as parallel lists sorted by date, for bisection."""

    days: list[date]
    opens: list[datetime]
    closes: list[datetime]
    early_closes: frozenset[date]
    zone: ZoneInfo
    last_day: date


_schedules: dict[str, _Schedule] = {}
_building = threading.Lock()


def _build(code: str, last_day: date) -> _Schedule:
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads `Series.values` of zoned times, which pandas 3.1
        # deprecates; the values it gets are still right, and the warning is not ours to fix.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = exchange_calendars.get_calendar(code, start=FIRST_DAY, end=last_day)
    if calendar.break_starts.notna().any():
        raise InvalidMarketData(f"calendar {code} has lunch breaks, which are not supported")
    table = calendar.schedule
    return _Schedule(
        days=[stamp.date() for stamp in table.index],
        opens=[moment.astimezone(UTC) for moment in table["open"].dt.to_pydatetime()],
        closes=[moment.astimezone(UTC) for moment in table["close"].dt.to_pydatetime()],
        early_closes=frozenset(stamp.date() for stamp in calendar.early_closes),
        zone=ZoneInfo(str(calendar.tz)),
        last_day=last_day,
    )


def _within_range(*days: date) -> None:
    for day in days:
        if not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidMarketData(
                f"{day} is outside the calendars, which run from {FIRST_DAY} to {LAST_DAY}",
                code="outside_calendar",
            )


def _schedule(code: str, *days: date) -> _Schedule:
    """A schedule of `code` that covers `days` and runs at least a year past them."""
    _within_range(*days)
    latest = max(days)
    needed = date(latest.year + 1, 12, 31)
    found = _schedules.get(code)
    if found is not None and found.last_day >= needed:
        return found
    with _building:
        found = _schedules.get(code)
        if found is None or found.last_day < needed:
            found = _build(code, date(latest.year + _YEARS_AHEAD, 12, 31))
            _schedules[code] = found
        return found


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetimes are not accepted; give a timezone")
    return at.astimezone(UTC)


class ExchangeCalendar:
    """An exchange's calendar from the `exchange_calendars` package, e.g. "XNYS". Sessions
    have extended hours where `_EXTENDED_HOURS` knows them (XNYS); elsewhere only regular."""

    def __init__(self, code: str) -> None:
        if code not in exchange_calendars.get_calendar_names():
            raise InvalidMarketData(f"no exchange calendar {code!r}", code="unknown_calendar")
        self.code = code
        self._extended = _EXTENDED_HOURS.get(code)

    def is_open(self, at: datetime, *, extended: bool = False) -> bool:
        at = _utc(at)
        schedule = _schedule(self.code, at.date())
        after = bisect_right(schedule.closes, at)  # the first session closing after `at`
        if not extended:
            return schedule.opens[after] <= at
        # The session before may still be in its post-market.
        for index in (after - 1, after):
            if index >= 0:
                start, end = self._window(schedule, index)
                if start <= at < end:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime:
        at = _utc(at)
        schedule = _schedule(self.code, at.date())
        return schedule.opens[bisect_right(schedule.opens, at)]

    def next_close(self, at: datetime) -> datetime:
        at = _utc(at)
        schedule = _schedule(self.code, at.date())
        return schedule.closes[bisect_right(schedule.closes, at)]

    def clock(self, at: datetime) -> MarketClock:
        at = _utc(at)
        return MarketClock(at, self.is_open(at), self.next_open(at), self.next_close(at))

    def sessions(self, start: date, end: date) -> list[Session]:
        schedule = _schedule(self.code, start, end)
        first = bisect_left(schedule.days, start)
        last = bisect_right(schedule.days, end)
        return [self._session(schedule, index) for index in range(first, last)]

    def session_on(self, day: date) -> Session | None:
        schedule = _schedule(self.code, day)
        index = bisect_left(schedule.days, day)
        if index < len(schedule.days) and schedule.days[index] == day:
            return self._session(schedule, index)
        return None

    def previous_session(self, at: datetime) -> Session:
        at = _utc(at)
        schedule = _schedule(self.code, at.date())
        index = bisect_right(schedule.closes, at) - 1
        if index < 0:
            raise InvalidMarketData(
                f"no {self.code} session closed before {at:%Y-%m-%d %H:%M}",
                code="outside_calendar",
            )
        return self._session(schedule, index)

    def _window(self, schedule: _Schedule, index: int) -> tuple[datetime, datetime]:
        """When session `index` trades, extended hours included."""
        session = self._session(schedule, index)
        return session.pre_open or session.open, session.post_close or session.close

    def _session(self, schedule: _Schedule, index: int) -> Session:
        day, close = schedule.days[index], schedule.closes[index]
        pre_open = post_close = None
        if self._extended is not None:
            local = datetime.combine(day, self._extended.pre_open, tzinfo=schedule.zone)
            pre_open = local.astimezone(UTC)
            post_close = close + self._extended.post_market
        return Session(
            date=day.isoformat(),
            open=schedule.opens[index],
            close=close,
            early_close=day in schedule.early_closes,
            pre_open=pre_open,
            post_close=post_close,
        )


class AlwaysOpenCalendar:
    """Crypto: open around the clock, every day; a session is one UTC day, 00:00 to 24:00,
    so the next open and the next close are both the coming UTC midnight."""

    def is_open(self, at: datetime, *, extended: bool = False) -> bool:
        _day_of(at)
        return True

    def next_open(self, at: datetime) -> datetime:
        return _midnight(_day_of(at) + _DAY)

    def next_close(self, at: datetime) -> datetime:
        return _midnight(_day_of(at) + _DAY)

    def clock(self, at: datetime) -> MarketClock:
        at = _utc(at)
        return MarketClock(at, True, self.next_open(at), self.next_close(at))

    def sessions(self, start: date, end: date) -> list[Session]:
        _within_range(start, end)
        return [self._session(start + n * _DAY) for n in range((end - start).days + 1)]

    def session_on(self, day: date) -> Session | None:
        _within_range(day)
        return self._session(day)

    def previous_session(self, at: datetime) -> Session:
        # Yesterday's session closed at today's midnight, at or before `at`.
        return self._session(_day_of(at) - _DAY)

    @staticmethod
    def _session(day: date) -> Session:
        return Session(date=day.isoformat(), open=_midnight(day), close=_midnight(day + _DAY))


def _day_of(at: datetime) -> date:
    day = _utc(at).date()
    _within_range(day)
    return day


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@cache
def exchange_calendar(code: str) -> ExchangeCalendar:
    """The shared calendar of an exchange."""
    return ExchangeCalendar(code)


_ALWAYS_OPEN = AlwaysOpenCalendar()


def calendar_for(instrument: Instrument) -> TradingCalendar:
    """NYSE hours for US equities whatever their listing venue (Nasdaq, Arca and Cboe keep
    the same sessions and holidays); around the clock for crypto."""
    if instrument.asset_class is AssetClass.CRYPTO:
        return _ALWAYS_OPEN
    return exchange_calendar("XNYS")
