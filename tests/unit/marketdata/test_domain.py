"""The market data model: exact prices, instruments' grids, time buckets, bar folding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    InvalidMarketData,
    Quote,
    Timeframe,
    Trade,
    aggregate_trades,
    from_nanos,
    plain,
    roll_up,
    to_nanos,
)
from finplat.marketdata.live import LiveBars

NY = ZoneInfo("America/New_York")
D = Decimal


def stock(**overrides: object) -> Instrument:
    values: dict[str, object] = {
        "symbol": "AAPL",
        "name": "Apple Inc.",
        "asset_class": AssetClass.US_EQUITY,
        "exchange": "XNAS",
        "currency": "USD",
        "tick_size": D("0.01"),
        "lot_size": D("0.000000001"),
        "fractionable": True,
        "shortable": True,
    }
    return Instrument(**{**values, **overrides})  # type: ignore[arg-type]


def trade(at: datetime, price: str, size: str = "100") -> Trade:
    return Trade("AAPL", D(price), D(size), at)


def test_nanos_are_exact_both_ways() -> None:
    assert to_nanos(D("123.456789012")) == 123_456_789_012
    assert from_nanos(123_456_789_012) == D("123.456789012")
    assert from_nanos(0) == 0
    assert plain(from_nanos(10_000_000_000)) == "10"
    with pytest.raises(InvalidMarketData, match="more than 9 decimal places"):
        to_nanos(D("0.0000000001"))


def test_instrument_grid_and_validation() -> None:
    aapl = stock()
    assert aapl.to_ticks(D("230.15")) == 23015
    assert aapl.from_ticks(23015) == D("230.15")
    assert aapl.round_to_tick(D("230.155")) == D("230.16")
    with pytest.raises(InvalidMarketData, match="tick size") as raised:
        aapl.to_ticks(D("230.155"))
    assert raised.value.code == "price_off_tick"
    with pytest.raises(InvalidMarketData, match="symbol"):
        stock(symbol="aapl")
    with pytest.raises(InvalidMarketData, match="tick_size"):
        stock(tick_size=D(0))
    with pytest.raises(InvalidMarketData, match="shorted"):
        stock(symbol="BTC/USD", asset_class=AssetClass.CRYPTO, shortable=True)
    assert stock(symbol="BTC/USD", asset_class=AssetClass.CRYPTO, shortable=False).timezone == (
        ZoneInfo("UTC")
    )


def test_day_buckets_follow_the_instruments_zone_across_dst() -> None:
    winter = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 10:00 New York (EST)
    summer = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 11:00 New York (EDT)
    assert Timeframe.DAY.bucket(winter, NY) == datetime(2026, 3, 6, 5, 0, tzinfo=UTC)
    assert Timeframe.DAY.bucket(summer, NY) == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    assert Timeframe.HOUR.bucket(summer, NY) == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    at = datetime(2026, 3, 9, 15, 7, 59, 999_999, tzinfo=UTC)
    assert Timeframe.MINUTE.bucket(at, NY) == datetime(2026, 3, 9, 15, 7, tzinfo=UTC)
    assert Timeframe.parse("1d") is Timeframe.DAY
    with pytest.raises(InvalidMarketData, match="timeframe"):
        Timeframe.parse("5Min")


def test_trades_fold_into_bars_with_exact_vwap() -> None:
    t0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    trades = [
        trade(t0, "100.00", "100"),
        trade(t0 + timedelta(seconds=20), "101.00", "300"),
        trade(t0 + timedelta(seconds=40), "99.50", "100"),
        trade(t0 + timedelta(minutes=1, seconds=5), "100.25", "50"),
    ]
    first, second = aggregate_trades(trades, Timeframe.MINUTE, NY)
    assert (first.open, first.high, first.low, first.close) == (
        D("100.00"),
        D("101.00"),
        D("99.50"),
        D("99.50"),
    )
    assert first.volume == 500
    assert first.trade_count == 3
    # (100*100 + 101*300 + 99.5*100) / 500 = 100.5
    assert first.vwap == D("100.5")
    assert second.start == t0 + timedelta(minutes=1)
    assert second.vwap == D("100.25")
    (hour,) = roll_up([first, second], Timeframe.HOUR, NY)
    assert hour.start == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    assert (hour.open, hour.high, hour.low, hour.close) == (
        D("100.00"),
        D("101.00"),
        D("99.50"),
        D("100.25"),
    )
    assert hour.volume == 550
    assert hour.trade_count == 4
    # (100.5 * 500 + 100.25 * 50) / 550, rounded half-even to 9 places
    assert hour.vwap == D("100.477272727")


def test_a_bar_outside_its_range_is_refused() -> None:
    with pytest.raises(InvalidMarketData, match="within low"):
        Bar(
            "AAPL",
            Timeframe.DAY,
            datetime(2026, 1, 5, 5, tzinfo=UTC),
            D(10),
            D(9),
            D(8),
            D(9),
            D(1),
            1,
            D(9),
        )


def test_live_bars_finish_minutes_and_grow_hours_and_days() -> None:
    live = LiveBars({"AAPL": NY})
    t0 = datetime(2026, 1, 5, 14, 30, 10, tzinfo=UTC)
    live.add(trade(t0, "100.00"))
    live.add(trade(t0 + timedelta(seconds=30), "100.10"))
    assert live.take_closed() == []
    live.add(trade(t0 + timedelta(minutes=1), "100.20", "200"))
    (closed,) = live.take_closed()
    assert closed.start == datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    assert (closed.open, closed.close, closed.volume) == (D("100.00"), D("100.10"), D(200))
    hour = live.current("AAPL", Timeframe.HOUR)
    assert hour is not None
    assert (hour.open, hour.close, hour.volume, hour.trade_count) == (
        D("100.00"),
        D("100.20"),
        D(400),
        3,
    )
    dirty = {(b.timeframe, b.start) for b in live.take_dirty()}
    assert (Timeframe.MINUTE, closed.start) in dirty
    assert (Timeframe.DAY, datetime(2026, 1, 5, 5, tzinfo=UTC)) in dirty
    # a late trade for a finished minute does not reopen it
    live.add(trade(t0, "150.00"))
    assert live.current("AAPL", Timeframe.MINUTE) is not None
    assert live.current("AAPL", Timeframe.MINUTE).high == D("100.20")  # type: ignore[union-attr]
    live.close_due(t0 + timedelta(minutes=2))
    assert [b.close for b in live.take_closed()] == [D("100.20")]


def test_live_bars_resume_the_forming_day_after_a_restart() -> None:
    now = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
    stored_day = Bar(
        "AAPL", Timeframe.DAY, datetime(2026, 1, 5, 5, tzinfo=UTC), *(D(100),) * 4, D(10), 1, D(100)
    )
    old_day = Bar(
        "AAPL", Timeframe.DAY, datetime(2026, 1, 2, 5, tzinfo=UTC), *(D(90),) * 4, D(10), 1, D(90)
    )
    live = LiveBars({"AAPL": NY})
    live.resume([stored_day, old_day], now)
    live.add(trade(now, "101.00", "5"))
    day = live.current("AAPL", Timeframe.DAY)
    assert day is not None
    assert (day.open, day.high, day.close, day.volume, day.trade_count) == (
        D(100),
        D(101),
        D(101),
        D(15),
        2,
    )


def test_a_stale_quote_is_marked_not_changed() -> None:
    quote = Quote("AAPL", D(1), D(100), D("1.01"), D(100), datetime(2026, 1, 5, tzinfo=UTC))
    assert quote.mid == D("1.005")
    assert quote.marked_stale().stale
    assert not quote.stale
