"""What the paper venue uses from outside `venues/`: the trading kit, the order service it
reports to, and the count of an order's fills (its next execution's number).

The kit and the service are protocols, passed in rather than imported: the service and the
kit import `venues.base`, and trading's modules form no import cycle."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select

from finplat import marketdata
from finplat.kernel import Clock
from finplat.platform.db import UnitOfWork, UnitOfWorkFactory
from finplat.trading.domain.orders import Order
from finplat.trading.store import executions
from finplat.trading.store import orders as order_rows
from finplat.trading.venue import Execution
from finplat.trading.venues.paper_matching import WORKING

VENUE = "simulated"


class PaperKit(Protocol):
    """What the venue needs of the trading kit (`TradingKit` is one)."""

    @property
    def uows(self) -> UnitOfWorkFactory: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def marketdata(self) -> marketdata.MarketDataKit: ...


class OrderDesk(Protocol):
    """Where a venue reports: the order service's use cases (the module
    `finplat.trading.service` is one). `kit` is the venue's kit, passed back as it is."""

    async def apply_execution(self, kit: Any, venue: str, execution: Execution) -> Order | None: ...

    async def mark_triggered(
        self, kit: Any, order_id: uuid.UUID, *, at: datetime, high_water_mark: Decimal | None = None
    ) -> Order | None: ...

    async def expire_order(
        self, kit: Any, order_id: uuid.UUID, *, at: datetime
    ) -> Order | None: ...

    async def reject_order(
        self, kit: Any, order_id: uuid.UUID, *, at: datetime, reason: str
    ) -> Order | None: ...


async def fill_counts(uow: UnitOfWork, order_id: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    """How many fills the venue booked for each open order (or for `order_id`)."""
    query = (
        select(executions.c.order_id, func.count())
        .join(order_rows, order_rows.c.id == executions.c.order_id)
        .where(executions.c.venue == VENUE)
        .group_by(executions.c.order_id)
    )
    if order_id is None:
        query = query.where(order_rows.c.status.in_([s.value for s in WORKING]))
    else:
        query = query.where(executions.c.order_id == order_id)
    return {found: int(count) for found, count in await uow.session.execute(query)}
