"""Positions with their average cost, kept with every fill (the quantity always equals the
ledger's securities balance; the cost is what the ledger does not know)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from finplat.platform.db import UnitOfWork
from finplat.trading.domain.orders import Side
from finplat.trading.repository import from_nanos, nanos
from finplat.trading.store import positions

NANO = Decimal("0.000000001")


@dataclass(frozen=True)
class Position:
    account_id: uuid.UUID
    symbol: str
    qty: Decimal  # negative when short
    cost_basis: Decimal  # of the open quantity, always positive
    updated_at: datetime

    @property
    def side(self) -> str:
        return "short" if self.qty < 0 else "long"

    @property
    def avg_entry_price(self) -> Decimal:
        if not self.qty:
            return Decimal(0)
        return (self.cost_basis / abs(self.qty)).quantize(NANO, ROUND_HALF_EVEN)


def moved(
    qty: Decimal, cost: Decimal, side: Side, fill_qty: Decimal, price: Decimal
) -> tuple[Decimal, Decimal]:
    """(qty, cost basis) after a fill: adding to a position adds its cost; reducing one keeps
    the average cost of what stays; crossing zero opens the rest at the fill price."""
    signed = fill_qty if side is Side.BUY else -fill_qty
    after = qty + signed
    if qty == 0 or (qty > 0) == (signed > 0):
        return after, cost + fill_qty * price
    if after == 0:
        return after, Decimal(0)
    if (after > 0) == (qty > 0):  # reduced, same side
        kept = (cost * abs(after) / abs(qty)).quantize(NANO, ROUND_HALF_EVEN)
        return after, kept
    return after, abs(after) * price  # crossed zero


async def position(uow: UnitOfWork, account_id: uuid.UUID, symbol: str) -> Position | None:
    row = (
        await uow.session.execute(
            select(positions).where(
                positions.c.account_id == account_id, positions.c.symbol == symbol
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return Position(
        row.account_id,
        row.symbol,
        from_nanos(row.qty) or Decimal(0),
        Decimal(row.cost_basis),
        row.updated_at,
    )


async def open_positions(uow: UnitOfWork, account_id: uuid.UUID) -> list[Position]:
    rows = await uow.session.execute(
        select(positions)
        .where(positions.c.account_id == account_id, positions.c.qty != 0)
        .order_by(positions.c.symbol)
    )
    return [
        Position(
            r.account_id,
            r.symbol,
            from_nanos(r.qty) or Decimal(0),
            Decimal(r.cost_basis),
            r.updated_at,
        )
        for r in rows
    ]


async def apply_fill(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    symbol: str,
    side: Side,
    qty: Decimal,
    price: Decimal,
) -> Position:
    now = uow.clock.now()
    current = await position(uow, account_id, symbol)
    held, cost = (current.qty, current.cost_basis) if current else (Decimal(0), Decimal(0))
    after, basis = moved(held, cost, side, qty, price)
    values = {"qty": nanos(after), "cost_basis": str(basis), "updated_at": now}
    if current is None:
        dialect = uow.session.bind.dialect.name if uow.session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await uow.session.execute(
            insert(positions)
            .values(account_id=account_id, symbol=symbol, **values)
            .on_conflict_do_nothing()
        )
    else:
        await uow.session.execute(
            update(positions)
            .where(positions.c.account_id == account_id, positions.c.symbol == symbol)
            .values(**values)
        )
    return Position(account_id, symbol, after, basis, now)
