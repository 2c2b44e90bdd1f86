"""What a quote does to an order at the paper venue: pure decisions, no I/O.

The venue (`simulated.py`) shows each working order the quote as it stands (less what
orders before it already took from it), whether the market is open, and why it looks:
the order's arrival, a new quote, a restart, or its deadline. `decide` answers with a
`Step`: a trailing stop's new mark, a trigger, a fill, and whether the order ends.

The rules:

- Buys fill at the ask and sells at the bid, at most the quoted size (rounded down to the
  lot); the rest waits for later quotes.
- Slippage moves the price against the customer, rounded to the tick away from them; a
  limit caps it, so no fill is worse than its limit. A limit order fills when the market
  reaches it, at the quote (buy limit >= ask: at the ask, which may be better).
- Stops trigger on the quote (`domain/triggers.py`) and then work as market or limit
  orders on the same quote; trailing stops carry their high-water mark.
- ioc fills what the quote allows and expires the rest; fok fills completely from the
  quote or expires without a fill. Both are judged once, when they arrive.
- Auctions are approximated by quotes: opg fills at the first quote after the open, cls at
  the last quote before the close, each for its whole quantity (an auction crosses the
  whole imbalance, so the quoted size does not limit it) at that quote's ask or bid; what
  the auction cannot fill (a limit out of reach) expires.
- A notional order's quantity is its remaining notional at the fill price, rounded down to
  the lot; the fill that covers it is `final`.
- A market order that reaches a closed market is rejected (risk should have refused it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from finplat.trading.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from finplat.trading.domain.triggers import (
    high_water_mark,
    stop_triggered,
    trailing_stop_price,
    watched_price,
)

_BPS = Decimal(10_000)
#: Statuses in which an order works at the venue (a held leg waits for its entry).
WORKING = frozenset(
    {
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
    }
)
_ONCE = frozenset({TimeInForce.IOC, TimeInForce.FOK})


class Moment(StrEnum):
    """Why the venue looks at an order."""

    ARRIVAL = "arrival"  # it just reached the venue: ioc and fok are judged here, and only here
    QUOTE = "quote"  # a new quote for its symbol
    RESUME = "resume"  # the venue restarted while it was open
    DEADLINE = "deadline"  # its time in force ran out; for cls, the closing auction


@dataclass(frozen=True)
class Touch:
    """The best bid and ask, with the sizes still available to this order."""

    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal


@dataclass(frozen=True)
class Terms:
    """The grid an order fills on, and the venue's slippage."""

    tick: Decimal
    lot: Decimal
    slippage_bps: Decimal = Decimal(0)


@dataclass(frozen=True)
class Hours:
    """Whether the market is open now: the regular session, and the extended hours."""

    regular: bool
    extended: bool = False


@dataclass(frozen=True)
class Fill:
    qty: Decimal
    price: Decimal
    final: bool = False  # completes a notional order


class Ending(StrEnum):
    EXPIRE = "expire"
    REJECT = "reject"


@dataclass(frozen=True)
class End:
    how: Ending
    reason: str


@dataclass(frozen=True)
class Step:
    """What to do, in this order: keep the new mark, record the trigger, book the fill,
    end the order."""

    mark: Decimal | None = None
    trigger: bool = False
    fill: Fill | None = None
    end: End | None = None


WAIT = Step()


def _expiry(reason: str) -> End:
    return End(Ending.EXPIRE, reason)


def decide(
    order: Order,
    touch: Touch | None,
    *,
    terms: Terms,
    hours: Hours,
    moment: Moment,
    mark: Decimal | None = None,
) -> Step:
    """What `touch` (None: no live quote) does to `order` at `moment`. `mark` is a
    trailing stop's high-water mark as the venue holds it (it may be ahead of the order's
    saved one)."""
    if order.status not in WORKING:
        return WAIT
    tif = order.request.time_in_force
    if moment is Moment.DEADLINE:
        if tif is TimeInForce.CLS:
            return _auction(order, touch, terms, "the closing auction")
        return Step(end=_expiry(f"{tif.value} order: its time in force ended"))
    if moment is Moment.RESUME:
        if tif not in _ONCE:
            return WAIT  # resting orders wait for the next quote after a restart
        if order.filled_qty:
            return Step(end=_expiry(f"the rest of an {tif.value} order does not rest"))
        moment = Moment.ARRIVAL  # it never had its look at the market: it has it now
    if tif is TimeInForce.CLS:
        return WAIT  # works only in the closing auction
    once = moment is Moment.ARRIVAL and tif in _ONCE
    if not (hours.regular or (order.request.extended_hours and hours.extended)):
        return _closed(order, moment, once)
    if tif is TimeInForce.OPG:
        return WAIT if touch is None else _auction(order, touch, terms, "the opening auction")
    if touch is None:
        return Step(end=_expiry(f"no quote for {order.symbol}")) if once else WAIT
    active, moved = _stop_state(order, touch, terms, mark)
    if not active:
        return Step(mark=moved)
    trigger = order.request.type.has_stop and not order.triggered
    return _continuous(order, touch, terms, once=once, trigger=trigger)


def _closed(order: Order, moment: Moment, once: bool) -> Step:
    fresh = moment is Moment.ARRIVAL and not order.filled_qty
    at_open = order.request.time_in_force is TimeInForce.OPG  # it waits for the open
    if fresh and order.request.type is OrderType.MARKET and not at_open:
        return Step(end=End(Ending.REJECT, f"the market for {order.symbol} is closed"))
    if once:
        return Step(end=_expiry(f"the market for {order.symbol} is closed"))
    return WAIT


def _stop_state(
    order: Order, touch: Touch, terms: Terms, mark: Decimal | None
) -> tuple[bool, Decimal | None]:
    """(whether the order works as a market or limit order now, a trailing stop's mark if
    it moved)."""
    request = order.request
    if not request.type.has_stop or order.triggered:
        return True, None
    watched = watched_price(order.side, touch.bid, touch.ask)
    if watched <= 0:
        return False, None  # a one-sided quote says nothing about this side
    if request.type is OrderType.TRAILING_STOP:
        new_mark = high_water_mark(order.side, mark, watched)
        stop = trailing_stop_price(
            order.side,
            new_mark,
            terms.tick,
            trail_price=request.trail_price,
            trail_percent=request.trail_percent,
        )
        moved = new_mark if new_mark != mark else None
        return stop_triggered(order.side, stop, watched), moved
    assert request.stop_price is not None  # noqa: S101 - a stop order has one
    return stop_triggered(order.side, request.stop_price, watched), None


@dataclass(frozen=True)
class _Offer:
    """What the quote offers an order within its reach."""

    fill: Fill | None  # None: nothing to take now
    complete: bool  # after the fill (or without one) nothing is left to fill


def _continuous(order: Order, touch: Touch, terms: Terms, *, once: bool, trigger: bool) -> Step:
    offer = _offer(order, touch, terms, auction=False)
    if offer is None or offer.fill is None:
        # out of reach, no size, or a notional remainder worth less than one lot
        if once or (offer is not None and offer.complete):
            return Step(trigger=trigger, end=_expiry("nothing could fill"))
        return Step(trigger=trigger)
    if once and not offer.complete:
        if order.request.time_in_force is TimeInForce.FOK:
            return Step(trigger=trigger, end=_expiry("fok: the quote cannot fill it all"))
        return Step(trigger=trigger, fill=offer.fill, end=_expiry("ioc: the rest expires"))
    return Step(trigger=trigger, fill=offer.fill)


def _auction(order: Order, touch: Touch | None, terms: Terms, what: str) -> Step:
    offer = None if touch is None else _offer(order, touch, terms, auction=True)
    if offer is not None and offer.fill is not None and offer.complete:
        return Step(fill=offer.fill)
    fill = None if offer is None else offer.fill
    return Step(fill=fill, end=_expiry(f"not filled in {what}"))


def _offer(order: Order, touch: Touch, terms: Terms, *, auction: bool) -> _Offer | None:
    """None when the quote is out of the order's reach (beyond its limit, or one-sided)."""
    buy = order.side is Side.BUY
    quoted = touch.ask if buy else touch.bid
    if quoted <= 0:
        return None
    limit = order.request.limit_price if order.request.type.has_limit else None
    if limit is not None and (quoted > limit if buy else quoted < limit):
        return None
    price = slipped(quoted, order.side, terms)
    if limit is not None:
        price = min(price, limit) if buy else max(price, limit)
    wanted = _wanted(order, price, terms.lot)
    size = touch.ask_size if buy else touch.bid_size
    qty = wanted if auction else min(wanted, lot_down(size, terms.lot))
    if qty <= 0:
        return _Offer(None, complete=wanted <= 0)
    complete = qty == wanted
    return _Offer(Fill(qty, price, final=order.request.notional is not None and complete), complete)


def _wanted(order: Order, price: Decimal, lot: Decimal) -> Decimal:
    """What is left to fill: the quantity, or the notional left at `price` in whole lots."""
    remaining = order.remaining_qty
    if remaining is not None:
        return remaining
    notional = order.request.notional
    assert notional is not None  # noqa: S101 - an order has qty or notional
    left = notional - order.filled_notional
    qty = lot_down(left / price, lot)
    if qty * price > left:  # the division rounded up across a lot boundary
        qty -= lot
    return max(qty, Decimal(0))


def lot_down(value: Decimal, lot: Decimal) -> Decimal:
    return (value / lot).to_integral_value(ROUND_FLOOR) * lot


def slipped(price: Decimal, side: Side, terms: Terms) -> Decimal:
    """`price` moved `slippage_bps` against the customer, on the tick grid away from them
    (up for a buy, down for a sell, never below one tick)."""
    tick = terms.tick
    if side is Side.BUY:
        raw = price * (1 + terms.slippage_bps / _BPS)
        return (raw / tick).to_integral_value(ROUND_CEILING) * tick
    raw = price * (1 - terms.slippage_bps / _BPS)
    return max((raw / tick).to_integral_value(ROUND_FLOOR) * tick, tick)


class SessionTimes(Protocol):
    @property
    def close(self) -> datetime: ...

    @property
    def post_close(self) -> datetime | None: ...


class Calendar(Protocol):
    """What `deadline` needs of a market's calendar (`marketdata.calendar_for`)."""

    def next_open(self, at: datetime) -> datetime: ...

    def next_close(self, at: datetime) -> datetime: ...

    def previous_session(self, at: datetime) -> SessionTimes: ...

    def session_on(self, day: date) -> SessionTimes | None: ...


def deadline(order: Order, calendar: Calendar, zone: ZoneInfo) -> datetime | None:
    """When the order's time in force runs out: a day or cls order at its session's close
    (an extended-hours day order at the end of that session's post-market), gtd at
    `expires_at`, opg at the close of the session it was meant to open (if no quote came
    to fill it). gtc, ioc and fok have none (ioc and fok end when they arrive)."""
    request = order.request
    since = order.submitted_at or order.created_at
    tif = request.time_in_force
    if tif is TimeInForce.GTD:
        return request.expires_at
    if tif is TimeInForce.OPG:
        return calendar.next_close(calendar.next_open(since))
    if tif not in {TimeInForce.DAY, TimeInForce.CLS}:
        return None
    if tif is TimeInForce.DAY and request.extended_hours:
        return _extended_close(since, calendar, zone)
    return calendar.next_close(since)


def _extended_close(since: datetime, calendar: Calendar, zone: ZoneInfo) -> datetime:
    before = calendar.previous_session(since)
    if before.post_close is not None and since < before.post_close:
        return before.post_close  # placed in the post-market of a session
    close = calendar.next_close(since)
    session = calendar.session_on(close.astimezone(zone).date())
    if session is None or session.post_close is None:
        return close
    return session.post_close
