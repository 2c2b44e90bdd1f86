"""Trade updates: every order event, pushed after its transaction commits to the account's
listeners (the `trade_updates` stream). A listener that falls too far behind is dropped."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from finplat.trading.domain.orders import Order, OrderEvent


@dataclass(frozen=True)
class TradeUpdate:
    event: OrderEvent
    order: Order
    at: datetime
    seq: int  # the order event's sequence number
    execution_id: uuid.UUID | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    position_qty: Decimal | None = None


@dataclass(eq=False)  # listeners are compared by identity (kept in sets)
class Listener:
    queue: asyncio.Queue[TradeUpdate]
    dropped: bool = False


@dataclass
class TradeUpdates:
    max_backlog: int = 10_000
    _listeners: dict[uuid.UUID, set[Listener]] = field(default_factory=dict)

    def listen(self, account_id: uuid.UUID) -> Listener:
        listener = Listener(asyncio.Queue(self.max_backlog))
        self._listeners.setdefault(account_id, set()).add(listener)
        return listener

    def forget(self, account_id: uuid.UUID, listener: Listener) -> None:
        listeners = self._listeners.get(account_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[account_id]

    def publish(self, update: TradeUpdate) -> None:
        for listener in tuple(self._listeners.get(update.order.account_id, ())):
            try:
                listener.queue.put_nowait(update)
            except asyncio.QueueFull:
                listener.dropped = True
