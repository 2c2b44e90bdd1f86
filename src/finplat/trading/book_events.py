"""What an order book says happened: one event per outcome, each with the book's sequence number.

Events are plain tuples tagged with their kind, then their sequence number:

    (EventKind.FILL, seq, maker_id, taker_id, price, quantity, maker_remaining, taker_remaining)

The book builds two or three for every order it receives, and the tuple is what keeps it fast:
per event, a frozen dataclass costs about 740 ns to build, a named tuple 100 ns to build plus a
slow deallocation, a plain tuple 40 ns; on the benchmark's stream, named tuples cost the whole
book 36% more instructions than plain ones (see `benchmarks/README.md`, "matching"). The
aliases below keep them typed: mypy narrows an `Event` by `event[0] is EventKind.FILL` or by a
`match` on the tuple's shape, and `as_dict` names the fields for logs and journals.

Prices are integer ticks and quantities integer lots; the caller converts both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(StrEnum):
    """How long an order's unfilled remainder lives in the book.

    GTC and DAY rest the remainder (the book expires nothing: whoever runs it cancels DAY
    orders at the close), IOC cancels it, FOK fills completely at once or does nothing.
    """

    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"
    FOK = "fok"


class CancelReason(StrEnum):
    REQUESTED = "requested"
    IOC_REMAINDER = "ioc_remainder"
    FOK_UNFILLABLE = "fok_unfillable"
    NO_LIQUIDITY = "no_liquidity"  # what a market order could not take


class RejectReason(StrEnum):
    DUPLICATE_ORDER_ID = "duplicate_order_id"  # the id rests in the book
    INVALID_SIDE = "invalid_side"  # not a `Side` of this module
    INVALID_TIME_IN_FORCE = "invalid_time_in_force"  # not a `TimeInForce` of this module
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_PRICE = "invalid_price"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    MARKET_POST_ONLY = "market_post_only"  # a market order cannot add liquidity
    UNKNOWN_ORDER = "unknown_order"  # a cancel or replace of an id that does not rest


class EventKind(StrEnum):
    ACCEPTED = "accepted"
    RESTED = "rested"
    FILL = "fill"
    CANCELED = "canceled"
    REPLACED = "replaced"
    REJECTED = "rejected"
    CANCEL_REJECTED = "cancel_rejected"
    REPLACE_REJECTED = "replace_rejected"


ACCEPTED: Final = EventKind.ACCEPTED
RESTED: Final = EventKind.RESTED
FILL: Final = EventKind.FILL
CANCELED: Final = EventKind.CANCELED
REPLACED: Final = EventKind.REPLACED
REJECTED: Final = EventKind.REJECTED
CANCEL_REJECTED: Final = EventKind.CANCEL_REJECTED
REPLACE_REJECTED: Final = EventKind.REPLACE_REJECTED

# The order passed validation; fills, a rest or a cancel follow in the same call.
# Its price is None for a market order.
Accepted = tuple[Literal[EventKind.ACCEPTED], int, int, Side, int, int | None, TimeInForce, bool]
# The order's remainder now rests in the book; the event's seq is its time priority.
Rested = tuple[Literal[EventKind.RESTED], int, int, Side, int, int]
# A trade between a resting maker and an incoming taker, at the maker's price.
Fill = tuple[Literal[EventKind.FILL], int, int, int, int, int, int, int]
# The order's whole unfilled quantity left the book, or never entered it.
Canceled = tuple[Literal[EventKind.CANCELED], int, int, int, CancelReason]
# A resting order now has `quantity` open at `price`. With priority_kept it keeps its place in
# the queue; without, it re-entered as a new arrival: fills may follow, then a Rested.
Replaced = tuple[Literal[EventKind.REPLACED], int, int, int, int, bool]
# The order never entered the book.
Rejected = tuple[Literal[EventKind.REJECTED], int, int, RejectReason]
CancelRejected = tuple[Literal[EventKind.CANCEL_REJECTED], int, int, RejectReason]
# The replace changed nothing: the order rests as it was.
ReplaceRejected = tuple[Literal[EventKind.REPLACE_REJECTED], int, int, RejectReason]

Event = Accepted | Rested | Fill | Canceled | Replaced | Rejected | CancelRejected | ReplaceRejected

FIELDS: dict[EventKind, tuple[str, ...]] = {
    ACCEPTED: ("kind", "seq", "order_id", "side", "quantity", "price", "tif", "post_only"),
    RESTED: ("kind", "seq", "order_id", "side", "price", "quantity"),
    FILL: (
        "kind",
        "seq",
        "maker_id",
        "taker_id",
        "price",
        "quantity",
        "maker_remaining",
        "taker_remaining",
    ),
    CANCELED: ("kind", "seq", "order_id", "quantity", "reason"),
    REPLACED: ("kind", "seq", "order_id", "price", "quantity", "priority_kept"),
    REJECTED: ("kind", "seq", "order_id", "reason"),
    CANCEL_REJECTED: ("kind", "seq", "order_id", "reason"),
    REPLACE_REJECTED: ("kind", "seq", "order_id", "reason"),
}


def as_dict(event: Event) -> dict[str, object]:
    """The event with its fields named, e.g. {"kind": "fill", "seq": 7, "maker_id": 3, ...}."""
    return dict(zip(FIELDS[event[0]], event, strict=True))
