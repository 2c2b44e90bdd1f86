"""Stops trigger on the side of the quote they would fill against; trailing stops follow the
best price seen, on the tick grid, rounded away from the market."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finplat.trading.domain.orders import Side
from finplat.trading.domain.triggers import (
    high_water_mark,
    stop_triggered,
    trailing_stop_price,
    watched_price,
)

D = Decimal
CENT = D("0.01")


def test_a_buy_stop_watches_the_ask_and_a_sell_stop_the_bid() -> None:
    assert watched_price(Side.BUY, bid=D("99.98"), ask=D("100.02")) == D("100.02")
    assert watched_price(Side.SELL, bid=D("99.98"), ask=D("100.02")) == D("99.98")


@pytest.mark.parametrize(
    ("side", "price", "triggered"),
    [
        (Side.BUY, "99.99", False),
        (Side.BUY, "100.00", True),
        (Side.BUY, "100.01", True),
        (Side.SELL, "100.01", False),
        (Side.SELL, "100.00", True),
        (Side.SELL, "99.99", True),
    ],
)
def test_a_stop_triggers_at_or_through_its_price(side: Side, price: str, triggered: bool) -> None:
    assert stop_triggered(side, D("100.00"), D(price)) is triggered


def test_a_quote_straddling_the_stop_triggers_only_the_side_that_reaches_it() -> None:
    bid, ask, stop = D("99.99"), D("100.01"), D("100.00")
    assert stop_triggered(Side.BUY, stop, watched_price(Side.BUY, bid, ask)) is True
    assert stop_triggered(Side.SELL, stop, watched_price(Side.SELL, bid, ask)) is True
    # a quote wholly above the stop moves only the buy stop; wholly below, only the sell stop
    above = (D("100.01"), D("100.03"))
    assert stop_triggered(Side.BUY, stop, watched_price(Side.BUY, *above)) is True
    assert stop_triggered(Side.SELL, stop, watched_price(Side.SELL, *above)) is False
    below = (D("99.97"), D("99.99"))
    assert stop_triggered(Side.BUY, stop, watched_price(Side.BUY, *below)) is False
    assert stop_triggered(Side.SELL, stop, watched_price(Side.SELL, *below)) is True


def test_the_high_water_mark_starts_at_the_first_price() -> None:
    assert high_water_mark(Side.SELL, None, D("50.25")) == D("50.25")
    assert high_water_mark(Side.BUY, None, D("50.25")) == D("50.25")


def test_the_high_water_mark_keeps_the_best_price_for_the_holder() -> None:
    prices = [D(p) for p in ("100.00", "101.50", "100.75", "102.00", "99.00")]
    sell_marks: list[Decimal] = []
    buy_marks: list[Decimal] = []
    sell_mark: Decimal | None = None
    buy_mark: Decimal | None = None
    for price in prices:
        sell_mark = high_water_mark(Side.SELL, sell_mark, price)
        buy_mark = high_water_mark(Side.BUY, buy_mark, price)
        sell_marks.append(sell_mark)
        buy_marks.append(buy_mark)
    assert sell_marks == [D(p) for p in ("100.00", "101.50", "101.50", "102.00", "102.00")]
    assert buy_marks == [D(p) for p in ("100.00", "100.00", "100.00", "100.00", "99.00")]


@pytest.mark.parametrize(
    ("side", "mark", "tick", "trail", "expected"),
    [
        # on the grid already: no rounding
        (Side.SELL, "100.00", CENT, {"trail_price": D("2.00")}, "98.00"),
        (Side.BUY, "100.00", CENT, {"trail_price": D("2.00")}, "102.00"),
        (Side.SELL, "100.00", CENT, {"trail_percent": D(1)}, "99.00"),
        (Side.BUY, "100.00", CENT, {"trail_percent": D(1)}, "101.00"),
        # 1.5% of 123.45 is 1.85175: the sell stop rounds down, the buy stop up
        (Side.SELL, "123.45", CENT, {"trail_percent": D("1.5")}, "121.59"),
        (Side.BUY, "123.45", CENT, {"trail_percent": D("1.5")}, "125.31"),
        # a coarser tick: 10.02 -/+ 0.10 rounds away from the market to a nickel
        (Side.SELL, "10.02", D("0.05"), {"trail_price": D("0.10")}, "9.90"),
        (Side.BUY, "10.02", D("0.05"), {"trail_price": D("0.10")}, "10.15"),
        # a whole-unit tick on a crypto pair
        (Side.SELL, "43210.5", D(1), {"trail_percent": D("0.25")}, "43102"),
        (Side.BUY, "43210.5", D(1), {"trail_percent": D("0.25")}, "43319"),
        # a sell stop never falls below one tick
        (Side.SELL, "1.00", CENT, {"trail_price": D("5.00")}, "0.01"),
        (Side.SELL, "0.05", CENT, {"trail_percent": D("99.9")}, "0.01"),
    ],
)
def test_the_trailing_stop_price(
    side: Side, mark: str, tick: Decimal, trail: dict[str, Decimal], expected: str
) -> None:
    stop = trailing_stop_price(side, D(mark), tick, **trail)
    assert stop == D(expected)
    assert stop % tick == 0


def test_a_trailing_stop_needs_a_trail() -> None:
    with pytest.raises(ValueError, match="trail_price or trail_percent"):
        trailing_stop_price(Side.SELL, D(100), CENT)


def run_trailing(
    side: Side, prices: list[str], **trail: Decimal
) -> tuple[list[Decimal], list[Decimal], int | None]:
    """Feed watched prices to a trailing stop as a venue would: check the standing stop, then
    move the mark. Returns the marks, the stops, and the index of the triggering price."""
    mark: Decimal | None = None
    marks: list[Decimal] = []
    stops: list[Decimal] = []
    for index, text in enumerate(prices):
        price = D(text)
        if stops and stop_triggered(side, stops[-1], price):
            return marks, stops, index
        mark = high_water_mark(side, mark, price)
        marks.append(mark)
        stops.append(trailing_stop_price(side, mark, CENT, **trail))
    return marks, stops, None


def test_a_sell_trailing_stop_by_percent_follows_the_bid_up_and_triggers_on_the_way_down() -> None:
    bids = ["100.00", "101.00", "100.50", "103.00", "101.00", "100.94", "100.93"]
    marks, stops, hit = run_trailing(Side.SELL, bids, trail_percent=D(2))
    assert marks == [D(p) for p in ("100.00", "101.00", "101.00", "103.00", "103.00")]
    # 2% under: 98.00, 98.98, 98.98, 100.94 (103 * 0.98), held there while the bid falls
    assert stops == [D(p) for p in ("98.00", "98.98", "98.98", "100.94", "100.94")]
    assert hit == 5


def test_a_buy_trailing_stop_by_price_follows_the_ask_down_and_triggers_on_the_way_up() -> None:
    asks = ["50.00", "49.50", "49.80", "49.20", "49.69", "49.70"]
    marks, stops, hit = run_trailing(Side.BUY, asks, trail_price=D("0.50"))
    assert marks == [D(p) for p in ("50.00", "49.50", "49.50", "49.20", "49.20")]
    assert stops == [D(p) for p in ("50.50", "50.00", "50.00", "49.70", "49.70")]
    assert hit == 5


def test_a_trailing_stop_never_moves_against_the_holder() -> None:
    prices = ["20.00", "19.00", "21.00", "18.00", "22.00"]
    _, sell_stops, _ = run_trailing(Side.SELL, prices, trail_price=D(5))
    assert sell_stops == sorted(sell_stops)
    _, buy_stops, _ = run_trailing(Side.BUY, prices, trail_price=D(5))
    assert buy_stops == sorted(buy_stops, reverse=True)
