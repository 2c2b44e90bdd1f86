"""Integration events trading publishes. Quantities and prices travel as decimal strings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from finplat.kernel import IntegrationEvent
from finplat.kernel.events import object_schema
from finplat.trading.domain.orders import Order, OrderEvent

_UUID = {"type": "string", "format": "uuid"}
_DECIMAL = {"type": ["string", "null"], "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}


@dataclass(frozen=True, kw_only=True)
class OrderEventRecorded(IntegrationEvent):
    """Something happened to an order: accepted, filled (partly), canceled, expired..."""

    event_type: ClassVar[str] = "trading.order_event"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "seq": {"type": "integer"},
            "order_id": _UUID,
            "account_id": _UUID,
            "client_order_id": {"type": "string"},
            "event": {"type": "string"},
            "status": {"type": "string"},
            "symbol": {"type": "string"},
            "side": {"type": "string", "enum": ["buy", "sell"]},
            "qty": _DECIMAL,
            "price": _DECIMAL,
            "filled_qty": _DECIMAL,
            "paper": {"type": "boolean"},
        }
    )
    seq: int
    order_id: str
    account_id: str
    client_order_id: str
    event: str
    status: str
    symbol: str
    side: str
    qty: Decimal | None
    price: Decimal | None
    filled_qty: Decimal
    paper: bool

    @property
    def key(self) -> str:
        return self.order_id

    @classmethod
    def of(
        cls,
        order: Order,
        event: OrderEvent,
        seq: int,
        *,
        qty: Decimal | None = None,
        price: Decimal | None = None,
    ) -> OrderEventRecorded:
        return cls(
            seq=seq,
            order_id=str(order.id),
            account_id=str(order.account_id),
            client_order_id=order.client_order_id,
            event=event.value,
            status=order.status.value,
            symbol=order.symbol,
            side=order.side.value,
            qty=qty,
            price=price,
            filled_qty=order.filled_qty,
            paper=order.paper,
        )


TRADING_EVENTS: Sequence[type[IntegrationEvent]] = (OrderEventRecorded,)
