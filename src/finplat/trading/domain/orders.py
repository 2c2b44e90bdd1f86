"""Orders: their kinds, the request a client sends, the checks a request must pass before any
risk check, and the order's state machine as a declared transition table.

Quantities and prices are `Decimal` here; the venue works in integer ticks and lots.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum

from finplat.kernel import BusinessRuleViolation, InvalidInput

NANO = Decimal("0.000000001")


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"

    @property
    def has_limit(self) -> bool:
        return self in {OrderType.LIMIT, OrderType.STOP_LIMIT}

    @property
    def has_stop(self) -> bool:
        return self in {OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP}


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    OPG = "opg"  # the opening auction
    CLS = "cls"  # the closing auction
    GTD = "gtd"  # good till a date (`expires_at`)


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"  # an entry with a take-profit and a stop-loss exit, one cancels the other
    OCO = "oco"  # two exits for a position already held, one cancels the other
    OTO = "oto"  # an entry and one exit that activates when the entry fills


class OrderStatus(StrEnum):
    PENDING_NEW = "pending_new"  # passed risk and holds, not yet working at the venue
    NEW = "new"  # working at the venue (a stop not yet triggered is working too)
    HELD = "held"  # an exit leg waiting for its entry to fill
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_open(self) -> bool:
        return self not in TERMINAL


TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
        OrderStatus.REPLACED,
    }
)


class OrderEvent(StrEnum):
    """What can happen to an order; the names are those of Alpaca's trade updates."""

    NEW = "new"  # the venue has it
    HELD = "held"
    ACTIVATED = "activated"  # a held leg starts working
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    PENDING_CANCEL = "pending_cancel"
    CANCEL_REJECTED = "order_cancel_rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    PENDING_REPLACE = "pending_replace"
    REPLACE_REJECTED = "order_replace_rejected"
    REPLACED = "replaced"
    TRIGGERED = "triggered"  # a stop reached its price and works as market or limit now


_S, _E = OrderStatus, OrderEvent
_WORKING = {
    _E.PARTIAL_FILL: _S.PARTIALLY_FILLED,
    _E.FILL: _S.FILLED,
    _E.PENDING_CANCEL: _S.PENDING_CANCEL,
    _E.CANCELED: _S.CANCELED,
    _E.EXPIRED: _S.EXPIRED,
    _E.PENDING_REPLACE: _S.PENDING_REPLACE,
    _E.REPLACED: _S.REPLACED,
}

#: The order state machine: for each status, the events it accepts and where they lead.
#: An event missing from a status's row is refused (`InvalidTransition`).
TRANSITIONS: dict[OrderStatus, dict[OrderEvent, OrderStatus]] = {
    _S.PENDING_NEW: {
        _E.NEW: _S.NEW,
        _E.HELD: _S.HELD,
        _E.REJECTED: _S.REJECTED,
        _E.CANCELED: _S.CANCELED,
    },
    _S.HELD: {
        _E.ACTIVATED: _S.NEW,
        _E.CANCELED: _S.CANCELED,
        _E.EXPIRED: _S.EXPIRED,
        _E.REPLACED: _S.REPLACED,  # a held leg is not at a venue: replaced at once
    },
    _S.NEW: {**_WORKING, _E.TRIGGERED: _S.NEW},
    _S.PARTIALLY_FILLED: {**_WORKING, _E.TRIGGERED: _S.PARTIALLY_FILLED},
    _S.PENDING_CANCEL: {
        _E.PARTIAL_FILL: _S.PENDING_CANCEL,  # fills can race a cancel: they still count
        _E.FILL: _S.FILLED,
        _E.CANCELED: _S.CANCELED,
        _E.EXPIRED: _S.EXPIRED,
        _E.CANCEL_REJECTED: _S.NEW,  # back to working (the caller restores partially_filled)
        _E.TRIGGERED: _S.PENDING_CANCEL,
    },
    _S.PENDING_REPLACE: {
        _E.PARTIAL_FILL: _S.PENDING_REPLACE,
        _E.FILL: _S.FILLED,
        _E.REPLACED: _S.REPLACED,
        _E.REPLACE_REJECTED: _S.NEW,
        _E.CANCELED: _S.CANCELED,
        _E.EXPIRED: _S.EXPIRED,
        _E.TRIGGERED: _S.PENDING_REPLACE,
    },
    _S.FILLED: {},
    _S.CANCELED: {},
    _S.EXPIRED: {},
    _S.REJECTED: {},
    _S.REPLACED: {},
}


class InvalidTransition(BusinessRuleViolation):
    def __init__(self, status: OrderStatus, event: OrderEvent) -> None:
        super().__init__(
            f"an order that is {status.value} cannot take '{event.value}'",
            code="order_not_in_a_state_to_change",
        )


def next_status(status: OrderStatus, event: OrderEvent) -> OrderStatus:
    try:
        return TRANSITIONS[status][event]
    except KeyError:
        raise InvalidTransition(status, event) from None


class OrderRejected(InvalidInput):
    """The request cannot be an order (before any risk check): a stable code and a message."""


@dataclass(frozen=True)
class Leg:
    """A take-profit (limit) or stop-loss (stop, or stop-limit) exit of a bracket, OCO or OTO."""

    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True)
class OrderRequest:
    """What a client asks for, before it is an order."""

    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    extended_hours: bool = False
    client_order_id: str | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: Leg | None = None
    stop_loss: Leg | None = None
    expires_at: datetime | None = None

    def fingerprint(self) -> tuple[object, ...]:
        """What must match for a retried request with the same client order id."""
        return (
            self.symbol,
            self.side,
            self.type,
            self.time_in_force,
            _norm(self.qty),
            _norm(self.notional),
            _norm(self.limit_price),
            _norm(self.stop_price),
            _norm(self.trail_price),
            _norm(self.trail_percent),
            self.extended_hours,
            self.order_class,
            self.take_profit,
            self.stop_loss,
            self.expires_at,
        )


def _norm(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.normalize()


@dataclass(frozen=True)
class Grid:
    """The instrument facts an order must fit: from the instrument master."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_order_size: Decimal
    fractionable: bool
    crypto: bool
    tradable: bool


def _reject(message: str, code: str) -> OrderRejected:
    return OrderRejected(message, code=code)


def _positive(value: Decimal, what: str, code: str) -> None:
    if not value.is_finite() or value <= 0:
        raise _reject(f"{what} must be positive", f"invalid_{code}")


def _on_grid(value: Decimal, step: Decimal, what: str, code: str) -> bool:
    try:
        return value % step == 0
    except InvalidOperation:
        # the quotient needs more digits than the decimal context has: no real order is that big
        raise _reject(f"{what} {value} is too large", f"invalid_{code}") from None


def _positive_on(value: Decimal, step: Decimal, what: str, code: str) -> None:
    _positive(value, what, code)
    if not _on_grid(value, step, what, code):
        raise _reject(f"{what} {value} is not a multiple of {step}", f"{code}_off_grid")


def normalized(request: OrderRequest) -> OrderRequest:
    """Fill in what clients may leave implied: an OCO's limit price is its take-profit's."""
    if (
        request.order_class is OrderClass.OCO
        and request.limit_price is None
        and request.take_profit is not None
    ):
        return replace(request, limit_price=request.take_profit.limit_price)
    return request


def check_request(request: OrderRequest, grid: Grid, *, now: datetime | None = None) -> None:
    """Refuse requests that no account could place: shapes, grids, and the combinations of
    type, time in force and class that are allowed. Risk checks come after. Call it on the
    `normalized` request."""
    if not grid.tradable:
        raise _reject(f"{grid.symbol} is not tradable", "asset_not_tradable")
    _check_size(request, grid)
    _check_prices(request, grid)
    _check_time_in_force(request, grid, now)
    _check_class(request, grid)


def _check_size(request: OrderRequest, grid: Grid) -> None:
    if (request.qty is None) == (request.notional is None):
        raise _reject("give either qty or notional", "qty_or_notional")
    if request.notional is not None:
        _positive_on(request.notional, Decimal("0.01"), "notional", "notional")
        allowed = {TimeInForce.GTC, TimeInForce.IOC} if grid.crypto else {TimeInForce.DAY}
        if request.type is not OrderType.MARKET or request.time_in_force not in allowed:
            raise _reject(
                "notional orders are market orders for the day (gtc or ioc for crypto)",
                "notional_shape",
            )
        if not grid.fractionable:
            raise _reject(f"{grid.symbol} is not fractionable", "not_fractionable")
        return
    assert request.qty is not None  # noqa: S101 - checked above
    _positive(request.qty, "qty", "qty")
    whole = _on_grid(request.qty, Decimal(1), "qty", "qty")
    if not whole and not grid.fractionable:
        raise _reject(f"{grid.symbol} trades in whole units only", "not_fractionable")
    step = grid.lot_size if grid.fractionable else max(grid.lot_size, Decimal(1))
    _positive_on(request.qty, step, "qty", "qty")
    if request.qty < grid.min_order_size:
        raise _reject(
            f"the smallest order for {grid.symbol} is {grid.min_order_size}", "qty_too_small"
        )
    fractional = not whole
    if fractional and not grid.crypto and request.time_in_force is not TimeInForce.DAY:
        raise _reject("fractional orders must be day orders", "fractional_shape")


def _check_prices(request: OrderRequest, grid: Grid) -> None:
    kind = request.type
    for name, value, needed in (
        ("limit_price", request.limit_price, kind.has_limit),
        ("stop_price", request.stop_price, kind in {OrderType.STOP, OrderType.STOP_LIMIT}),
    ):
        if needed and value is None:
            raise _reject(f"a {kind.value} order needs {name}", f"missing_{name}")
        if not needed and value is not None:
            raise _reject(f"a {kind.value} order takes no {name}", f"unexpected_{name}")
        if value is not None:
            _positive_on(value, grid.tick_size, name, "price")
    trails = (request.trail_price, request.trail_percent)
    if kind is OrderType.TRAILING_STOP:
        if (trails[0] is None) == (trails[1] is None):
            raise _reject("a trailing stop needs trail_price or trail_percent", "trail_shape")
        if request.trail_price is not None:
            _positive_on(request.trail_price, grid.tick_size, "trail_price", "price")
        percent = request.trail_percent
        if percent is not None and not (percent.is_finite() and 0 < percent < 100):
            raise _reject("trail_percent must be between 0 and 100", "trail_shape")
    elif any(t is not None for t in trails):
        raise _reject("only trailing stops take trail_price or trail_percent", "trail_shape")


def _check_time_in_force(request: OrderRequest, grid: Grid, now: datetime | None) -> None:
    tif, kind = request.time_in_force, request.type
    if grid.crypto and tif not in {TimeInForce.GTC, TimeInForce.IOC}:
        raise _reject("crypto orders are gtc or ioc", "time_in_force_not_allowed")
    if grid.crypto and kind not in {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LIMIT}:
        raise _reject("crypto orders are market, limit or stop_limit", "order_type_not_allowed")
    if tif in {TimeInForce.OPG, TimeInForce.CLS, TimeInForce.IOC, TimeInForce.FOK} and kind not in {
        OrderType.MARKET,
        OrderType.LIMIT,
    }:
        raise _reject(f"{tif.value} orders must be market or limit", "time_in_force_not_allowed")
    if (tif is TimeInForce.GTD) != (request.expires_at is not None):
        raise _reject("gtd orders, and only they, take expires_at", "gtd_shape")
    if request.extended_hours and (kind is not OrderType.LIMIT or tif is not TimeInForce.DAY):
        raise _reject(
            "extended hours orders must be limit orders for the day", "extended_hours_shape"
        )
    if request.extended_hours and request.order_class is not OrderClass.SIMPLE:
        raise _reject("bracket, oco and oto orders trade in regular hours", "extended_hours_shape")
    if request.extended_hours and request.qty is not None and request.qty % 1 != 0:
        raise _reject("fractional orders trade in regular hours", "extended_hours_shape")
    if request.expires_at is not None and now is not None:
        if request.expires_at.tzinfo is None:
            raise _reject("expires_at needs a time zone", "gtd_shape")
        if request.expires_at <= now:
            raise _reject("expires_at is in the past", "gtd_shape")


def _check_class(request: OrderRequest, grid: Grid) -> None:
    legs = (request.take_profit, request.stop_loss)
    cls = request.order_class
    if cls is OrderClass.SIMPLE:
        if any(leg is not None for leg in legs):
            raise _reject("only bracket, oco and oto orders take exit legs", "order_class_shape")
        return
    if grid.crypto:
        raise _reject(f"{cls.value} orders are not available for crypto", "order_class_shape")
    if request.qty is None or request.qty % 1 != 0:
        raise _reject(f"{cls.value} orders take a whole qty", "order_class_shape")
    if request.time_in_force not in {TimeInForce.DAY, TimeInForce.GTC}:
        raise _reject(f"{cls.value} orders are day or gtc", "order_class_shape")
    take, stop = legs
    if cls in {OrderClass.BRACKET, OrderClass.OCO} and (take is None or stop is None):
        raise _reject(f"a {cls.value} order needs take_profit and stop_loss", "order_class_shape")
    if cls is OrderClass.OTO and (take is None) == (stop is None):
        raise _reject("an oto order needs take_profit or stop_loss", "order_class_shape")
    if cls is OrderClass.OCO and request.type is not OrderType.LIMIT:
        raise _reject("an oco order is a limit (take-profit) order", "order_class_shape")
    if cls in {OrderClass.BRACKET, OrderClass.OTO} and request.type not in {
        OrderType.MARKET,
        OrderType.LIMIT,
    }:
        raise _reject(f"a {cls.value} entry is a market or limit order", "order_class_shape")
    _check_legs(request, grid)


def _check_entry_against_legs(request: OrderRequest) -> None:
    """A limit entry sits between its exits: for a buy, the take-profit sells above it and
    the stop-loss below it (the reverse for a sell). An OCO's limit is its take-profit."""
    take, stop, cls, entry = (
        request.take_profit,
        request.stop_loss,
        request.order_class,
        request.limit_price,
    )
    if cls is OrderClass.OCO:
        if take is not None and entry is not None and take.limit_price != entry:
            raise _reject(
                "an oco order's limit_price is its take_profit.limit_price", "order_class_shape"
            )
        return
    if entry is None:
        return
    sells = request.side is Side.BUY  # the exits of a buy entry sell
    take_price = take.limit_price if take is not None else None
    stop_price = stop.stop_price if stop is not None else None
    if take_price is not None and ((take_price <= entry) if sells else (take_price >= entry)):
        raise _reject(
            "take_profit.limit_price must be beyond the entry's limit_price", "order_class_shape"
        )
    if stop_price is not None and ((stop_price >= entry) if sells else (stop_price <= entry)):
        raise _reject(
            "stop_loss.stop_price must be on the losing side of the entry's limit_price",
            "order_class_shape",
        )


def _check_legs(request: OrderRequest, grid: Grid) -> None:
    take, stop, cls = request.take_profit, request.stop_loss, request.order_class
    if take is not None:
        if take.limit_price is None or take.stop_price is not None:
            raise _reject("take_profit takes a limit_price", "order_class_shape")
        _positive_on(take.limit_price, grid.tick_size, "take_profit.limit_price", "price")
    if stop is not None:
        if stop.stop_price is None:
            raise _reject("stop_loss takes a stop_price", "order_class_shape")
        _positive_on(stop.stop_price, grid.tick_size, "stop_loss.stop_price", "price")
        if stop.limit_price is not None:
            _positive_on(stop.limit_price, grid.tick_size, "stop_loss.limit_price", "price")
    _check_entry_against_legs(request)
    if take is not None and stop is not None:
        assert take.limit_price is not None  # noqa: S101 - checked above
        assert stop.stop_price is not None  # noqa: S101
        # exits sell a long (profit above, stop below) or buy back a short (the reverse)
        exit_side = request.side if cls is OrderClass.OCO else request.side.opposite
        profitable = (
            take.limit_price > stop.stop_price
            if exit_side is Side.SELL
            else take.limit_price < stop.stop_price
        )
        if not profitable:
            raise _reject(
                "take_profit.limit_price must be on the profitable side of stop_loss.stop_price",
                "order_class_shape",
            )


@dataclass(frozen=True)
class Order:
    """An order as the system holds it. Changes go through `apply`, which follows the
    transition table; fills go through `filled`."""

    id: uuid.UUID
    account_id: uuid.UUID  # the customer (user id) the order belongs to
    client_order_id: str
    request: OrderRequest
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    venue: str
    paper: bool = False
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)  # sum of fill qty * price, exact
    parent_id: uuid.UUID | None = None  # the entry of an exit leg
    replaces: uuid.UUID | None = None
    replaced_by: uuid.UUID | None = None
    hold_id: uuid.UUID | None = None
    triggered: bool = False  # a stop that reached its price
    high_water_mark: Decimal | None = None  # best price seen by a trailing stop
    submitted_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    reject_reason: str = ""
    legs: tuple[uuid.UUID, ...] = field(default_factory=tuple)

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def side(self) -> Side:
        return self.request.side

    @property
    def qty(self) -> Decimal | None:
        return self.request.qty

    @property
    def remaining_qty(self) -> Decimal | None:
        return None if self.request.qty is None else self.request.qty - self.filled_qty

    @property
    def filled_avg_price(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return (self.filled_notional / self.filled_qty).quantize(NANO, ROUND_HALF_EVEN)

    def apply(self, event: OrderEvent, at: datetime, **changes: object) -> Order:
        """The order after `event` (a transition of the table) at `at`."""
        status = next_status(self.status, event)
        if event is OrderEvent.CANCEL_REJECTED or event is OrderEvent.REPLACE_REJECTED:
            status = OrderStatus.PARTIALLY_FILLED if self.filled_qty else OrderStatus.NEW
        stamps: dict[str, object] = {"updated_at": at}
        if event is OrderEvent.NEW:
            stamps["submitted_at"] = at
        elif event is OrderEvent.FILL:
            stamps["filled_at"] = at
        elif event is OrderEvent.CANCELED:
            stamps["canceled_at"] = at
        elif event is OrderEvent.EXPIRED:
            stamps["expired_at"] = at
        elif event is OrderEvent.REJECTED:
            stamps["failed_at"] = at
        return replace(self, status=status, **stamps, **changes)  # type: ignore[arg-type]

    def filled(self, qty: Decimal, price: Decimal, at: datetime, *, final: bool = False) -> Order:
        """The order after a fill of `qty` at `price`: partially or wholly filled. A notional
        order has no quantity to reach: the venue says which fill is `final`."""
        if qty <= 0:
            raise BusinessRuleViolation("a fill must have a positive quantity", code="bad_fill")
        remaining = self.remaining_qty
        if remaining is not None and qty > remaining:
            raise BusinessRuleViolation(
                f"a fill of {qty} exceeds the {remaining} left on order {self.id}",
                code="overfill",
            )
        complete = (remaining is not None and qty == remaining) or (remaining is None and final)
        event = OrderEvent.FILL if complete else OrderEvent.PARTIAL_FILL
        return self.apply(
            event,
            at,
            filled_qty=self.filled_qty + qty,
            filled_notional=self.filled_notional + qty * price,
        )
