"""Trading calendars against dates checked in the exchange_calendars data (2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from finplat.marketdata.calendars import (
    AlwaysOpenCalendar,
    ExchangeCalendar,
    calendar_for,
    exchange_calendar,
)
from finplat.marketdata.domain import (
    AssetClass,
    Instrument,
    InvalidMarketData,
    MarketClock,
    Session,
)

XNYS = exchange_calendar("XNYS")
CRYPTO = AlwaysOpenCalendar()


def utc(day: int, month: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def instrument(asset_class: AssetClass) -> Instrument:
    crypto = asset_class is AssetClass.CRYPTO
    return Instrument(
        symbol="BTC/USD" if crypto else "AAPL",
        name="x",
        asset_class=asset_class,
        exchange="CRYPTO" if crypto else "XNAS",
        currency="USD",
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.000000001"),
        fractionable=True,
        shortable=not crypto,
    )


# -- NYSE sessions --------------------------------------------------------------------------


def test_a_regular_winter_session() -> None:
    assert XNYS.session_on(date(2026, 1, 5)) == Session(
        date="2026-01-05",
        open=utc(5, 1, 14, 30),
        close=utc(5, 1, 21),
        early_close=False,
        pre_open=utc(5, 1, 9),
        post_close=utc(6, 1, 1),
    )


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 7, 3), "Independence Day observed on the Friday"),
        (date(2026, 1, 19), "Martin Luther King Jr. Day"),
        (date(2026, 11, 26), "Thanksgiving"),
        (date(2026, 12, 25), "Christmas"),
        (date(2026, 1, 10), "a Saturday"),
    ],
)
def test_holidays_and_weekends_have_no_session(day: date, why: str) -> None:
    assert XNYS.session_on(day) is None, why


@pytest.mark.parametrize("day", [date(2026, 11, 27), date(2026, 12, 24)])
def test_early_closes_at_one_in_new_york(day: date) -> None:
    session = XNYS.session_on(day)
    assert session is not None
    assert session.open == utc(day.day, day.month, 14, 30)
    assert session.close == utc(day.day, day.month, 18)  # 13:00 EST
    assert session.early_close is True
    assert session.post_close == utc(day.day, day.month, 22)  # post-market ends at 17:00


def test_only_two_early_closes_in_2026() -> None:
    early = [s.date for s in XNYS.sessions(date(2026, 1, 1), date(2026, 12, 31)) if s.early_close]
    assert early == ["2026-11-27", "2026-12-24"]


def test_the_daylight_saving_change_moves_the_open_an_hour_earlier_in_utc() -> None:
    # Clocks in New York went forward on Sunday 2026-03-08.
    friday = XNYS.session_on(date(2026, 3, 6))
    monday = XNYS.session_on(date(2026, 3, 9))
    assert friday is not None
    assert monday is not None
    assert (friday.open, friday.close) == (utc(6, 3, 14, 30), utc(6, 3, 21))
    assert (monday.open, monday.close) == (utc(9, 3, 13, 30), utc(9, 3, 20))
    assert (monday.pre_open, monday.post_close) == (utc(9, 3, 8), utc(10, 3, 0))


def test_sessions_are_inclusive_of_both_dates() -> None:
    sessions = XNYS.sessions(date(2026, 1, 15), date(2026, 1, 20))
    assert [s.date for s in sessions] == ["2026-01-15", "2026-01-16", "2026-01-20"]
    assert XNYS.sessions(date(2026, 1, 17), date(2026, 1, 19)) == []
    assert XNYS.sessions(date(2026, 1, 20), date(2026, 1, 15)) == []


def test_2026_has_251_sessions() -> None:
    assert len(XNYS.sessions(date(2026, 1, 1), date(2026, 12, 31))) == 251


# -- open or closed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "regular", "extended"),
    [
        (utc(5, 1, 8, 59), False, False),  # 03:59 New York
        (utc(5, 1, 9), False, True),  # 04:00: the pre-market opens
        (utc(5, 1, 14, 29), False, True),
        (utc(5, 1, 14, 30), True, True),  # 09:30: open is inclusive
        (utc(5, 1, 20, 59), True, True),
        (utc(5, 1, 21), False, True),  # 16:00: close is exclusive, post-market on
        (utc(6, 1, 0, 59), False, True),  # 19:59
        (utc(6, 1, 1), False, False),  # 20:00: the post-market is over
        (utc(10, 1, 15), False, False),  # Saturday
        (utc(19, 1, 15), False, False),  # MLK day, no extended hours either
        (utc(3, 7, 15), False, False),  # Independence Day observed
        (utc(27, 11, 17, 59), True, True),  # early close day
        (utc(27, 11, 18), False, True),
        (utc(27, 11, 21, 59), False, True),
        (utc(27, 11, 22), False, False),  # 17:00 on an early close day
    ],
)
def test_is_open(at: datetime, regular: bool, extended: bool) -> None:
    assert XNYS.is_open(at) is regular
    assert XNYS.is_open(at, extended=True) is extended


def test_is_open_accepts_any_aware_zone() -> None:
    new_york_winter = timezone(timedelta(hours=-5))
    assert XNYS.is_open(datetime(2026, 1, 5, 9, 30, tzinfo=new_york_winter)) is True
    assert XNYS.is_open(datetime(2026, 1, 5, 9, 29, tzinfo=new_york_winter)) is False


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        XNYS.is_open(datetime(2026, 1, 5, 15))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        CRYPTO.next_open(datetime(2026, 1, 5, 15))  # noqa: DTZ001


# -- next open, next close, previous session ---------------------------------------------------


def test_next_open_is_strictly_after() -> None:
    assert XNYS.next_open(utc(5, 1, 14, 29)) == utc(5, 1, 14, 30)
    assert XNYS.next_open(utc(5, 1, 14, 30)) == utc(6, 1, 14, 30)


def test_next_open_over_a_weekend() -> None:
    assert XNYS.next_open(utc(9, 1, 21)) == utc(12, 1, 14, 30)
    assert XNYS.next_open(utc(10, 1, 12)) == utc(12, 1, 14, 30)


def test_next_open_over_a_holiday_weekend() -> None:
    # Friday 16th closes, Monday 19th is MLK day.
    assert XNYS.next_open(utc(16, 1, 21)) == utc(20, 1, 14, 30)
    # Thursday 2nd July closes, Friday 3rd is the Independence Day holiday.
    assert XNYS.next_open(utc(2, 7, 20)) == utc(6, 7, 13, 30)


def test_next_close_is_the_session_in_progress_or_the_next() -> None:
    assert XNYS.next_close(utc(5, 1, 15)) == utc(5, 1, 21)
    assert XNYS.next_close(utc(5, 1, 10)) == utc(5, 1, 21)  # before the open
    assert XNYS.next_close(utc(5, 1, 21)) == utc(6, 1, 21)  # at the close: it is over
    assert XNYS.next_close(utc(26, 11, 15)) == utc(27, 11, 18)  # holiday, then early close


def test_clock_while_open_and_while_closed() -> None:
    assert XNYS.clock(utc(5, 1, 14, 30)) == MarketClock(
        timestamp=utc(5, 1, 14, 30),
        is_open=True,
        next_open=utc(6, 1, 14, 30),
        next_close=utc(5, 1, 21),
    )
    assert XNYS.clock(utc(17, 1, 12)) == MarketClock(
        timestamp=utc(17, 1, 12),
        is_open=False,
        next_open=utc(20, 1, 14, 30),
        next_close=utc(20, 1, 21),
    )


def test_previous_session_is_the_last_one_closed() -> None:
    def previous(at: datetime) -> str:
        return XNYS.previous_session(at).date

    assert previous(utc(20, 1, 15)) == "2026-01-16"  # MLK day skipped
    assert previous(utc(6, 1, 20, 59)) == "2026-01-05"  # today's session still open
    assert previous(utc(6, 1, 21)) == "2026-01-06"  # closed at this instant
    assert previous(utc(6, 7, 12)) == "2026-07-02"


# -- range and errors -------------------------------------------------------------------------


def test_later_years_extend_the_schedule() -> None:
    # 2035-07-04 is a Wednesday; Thanksgiving 2035 is on 22 November.
    assert XNYS.session_on(date(2035, 7, 4)) is None
    assert XNYS.next_open(utc(21, 11, 21, year=2035)) == utc(23, 11, 14, 30, year=2035)
    assert XNYS.next_close(utc(23, 11, 15, year=2035)) == utc(23, 11, 18, year=2035)


def test_dates_outside_2000_to_2099_are_refused() -> None:
    with pytest.raises(InvalidMarketData) as raised:
        XNYS.sessions(date(1999, 12, 1), date(2000, 1, 31))
    assert raised.value.code == "outside_calendar"
    with pytest.raises(InvalidMarketData):
        XNYS.is_open(datetime(1999, 6, 1, 15, tzinfo=UTC))
    with pytest.raises(InvalidMarketData):
        XNYS.next_open(datetime(9999, 12, 31, 23, tzinfo=UTC))
    with pytest.raises(InvalidMarketData):
        CRYPTO.sessions(date(2026, 1, 1), date(9999, 12, 31))
    with pytest.raises(InvalidMarketData):
        CRYPTO.next_close(datetime(9999, 12, 31, 23, tzinfo=UTC))
    with pytest.raises(InvalidMarketData) as raised:
        XNYS.previous_session(utc(3, 1, 15, year=2000))  # the first session, still open
    assert raised.value.code == "outside_calendar"


def test_the_last_day_still_has_a_next_open() -> None:
    # 2099-12-31 is a Thursday; New Year's Day 2100 a Friday.
    assert XNYS.next_open(utc(31, 12, 22, year=2099)) == utc(4, 1, 14, 30, year=2100)


def test_an_unknown_exchange_code_is_refused() -> None:
    with pytest.raises(InvalidMarketData) as raised:
        ExchangeCalendar("XXXX")
    assert raised.value.code == "unknown_calendar"


# -- crypto -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [utc(5, 1, 0), utc(10, 1, 3, 17), utc(19, 1, 15), utc(25, 12, 23, 59), utc(8, 3, 7)],
)
def test_crypto_is_always_open(at: datetime) -> None:
    assert CRYPTO.is_open(at) is True
    assert CRYPTO.is_open(at, extended=True) is True


def test_crypto_sessions_are_utc_days() -> None:
    assert CRYPTO.session_on(date(2026, 7, 4)) == Session(
        date="2026-07-04", open=utc(4, 7, 0), close=utc(5, 7, 0)
    )
    sessions = CRYPTO.sessions(date(2026, 1, 9), date(2026, 1, 11))
    assert [s.date for s in sessions] == ["2026-01-09", "2026-01-10", "2026-01-11"]


def test_crypto_next_open_and_close_are_the_coming_midnight() -> None:
    assert CRYPTO.next_open(utc(5, 1, 15, 45)) == utc(6, 1, 0)
    assert CRYPTO.next_open(utc(5, 1, 0)) == utc(6, 1, 0)
    assert CRYPTO.next_close(utc(31, 12, 23)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert CRYPTO.clock(utc(5, 1, 15)) == MarketClock(
        utc(5, 1, 15), True, utc(6, 1, 0), utc(6, 1, 0)
    )


def test_crypto_previous_session_is_yesterday() -> None:
    assert CRYPTO.previous_session(utc(5, 1, 0)).date == "2026-01-04"
    assert CRYPTO.previous_session(utc(5, 1, 23, 59)).date == "2026-01-04"


# -- which calendar ---------------------------------------------------------------------------


def test_calendar_for_an_instrument() -> None:
    assert calendar_for(instrument(AssetClass.US_EQUITY)) is XNYS
    assert isinstance(calendar_for(instrument(AssetClass.CRYPTO)), AlwaysOpenCalendar)
