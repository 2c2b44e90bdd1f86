"""When stops and trailing stops trigger, and how a trailing stop follows the market.

A buy stop watches the ask rising to its stop; a sell stop watches the bid falling to it.
A trailing stop keeps the best price seen since it started working (the highest bid for a
sell, the lowest ask for a buy) and its stop trails that by a price or a percentage, rounded
to the tick away from the market.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from finplat.trading.domain.orders import Side


def watched_price(side: Side, bid: Decimal, ask: Decimal) -> Decimal:
    """The side of the quote a stop of this side watches (and would fill against)."""
    return ask if side is Side.BUY else bid


def stop_triggered(side: Side, stop_price: Decimal, price: Decimal) -> bool:
    return price >= stop_price if side is Side.BUY else price <= stop_price


def high_water_mark(side: Side, mark: Decimal | None, price: Decimal) -> Decimal:
    """The best price for the holder so far: highest for a sell, lowest for a buy."""
    if mark is None:
        return price
    return max(mark, price) if side is Side.SELL else min(mark, price)


def trailing_stop_price(
    side: Side,
    mark: Decimal,
    tick: Decimal,
    *,
    trail_price: Decimal | None = None,
    trail_percent: Decimal | None = None,
) -> Decimal:
    """The stop a trailing stop stands at, on the tick grid and never beyond the trail."""
    if trail_price is not None:
        offset = trail_price
    elif trail_percent is not None:
        offset = mark * trail_percent / 100
    else:
        raise ValueError("a trailing stop needs trail_price or trail_percent")
    if side is Side.SELL:
        raw = mark - offset
        return max((raw / tick).to_integral_value(ROUND_FLOOR) * tick, tick)
    raw = mark + offset
    return (raw / tick).to_integral_value(ROUND_CEILING) * tick
