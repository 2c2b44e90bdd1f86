"""What the order service needs from a venue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from finplat.trading.domain.orders import Order


@dataclass(frozen=True)
class Execution:
    """A fill as the venue reports it. `venue_execution_id` is unique per venue: a report
    applied twice is applied once."""

    order_id: uuid.UUID
    venue_execution_id: str
    qty: Decimal
    price: Decimal
    at: datetime
    liquidity: str = "taker"
    final: bool = False  # for notional orders: the venue says this fill completes the order


class Venue(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def cancels_at_once(self) -> bool:
        """True when a cancel needs no round trip to the venue (the order is not resting in
        a book another process owns)."""
        ...

    def working(self, order: Order) -> None:
        """Called after the transaction that made `order` work (or changed it) committed."""
        ...

    def withdrawn(self, order_id: uuid.UUID) -> None:
        """Called after an order stopped working (canceled, expired, replaced, filled)."""
        ...

    def cancel_requested(self, order: Order) -> None:
        """For venues that do not cancel at once: take the order out of the book, then
        confirm through `service.confirm_cancel` (or refuse with `service.refuse_cancel`)."""
        ...

    def replace_requested(self, old: Order, new: Order) -> None:
        """For venues that do not cancel at once: swap `old` for `new` in the book, then
        confirm through `service.confirm_replace` (or refuse with `service.refuse_replace`)."""
        ...
