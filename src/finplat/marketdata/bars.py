"""Bars in the database: upsert, range reads with a (symbol, start) cursor, latest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from finplat.marketdata.domain import Bar, Timeframe, from_nanos, to_nanos
from finplat.marketdata.store import bars
from finplat.platform.db.schema import UtcDateTime

#: Rows per executemany call.
_CHUNK = 5000


def _row(bar: Bar) -> dict[str, Any]:
    return {
        "symbol": bar.symbol,
        "timeframe": bar.timeframe.value,
        "start": bar.start,
        "open": to_nanos(bar.open),
        "high": to_nanos(bar.high),
        "low": to_nanos(bar.low),
        "close": to_nanos(bar.close),
        "volume": to_nanos(bar.volume),
        "trade_count": bar.trade_count,
        "vwap": to_nanos(bar.vwap),
    }


def bar_from_row(row: Any) -> Bar:
    return Bar(
        row.symbol,
        Timeframe(row.timeframe),
        row.start,
        from_nanos(row.open),
        from_nanos(row.high),
        from_nanos(row.low),
        from_nanos(row.close),
        from_nanos(row.volume),
        row.trade_count,
        from_nanos(row.vwap),
    )


def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(bars)
    return statement.on_conflict_do_update(
        index_elements=[bars.c.symbol, bars.c.timeframe, bars.c.start],
        set_={name: statement.excluded[name] for name in _VALUES},
    )


_VALUES = ("open", "high", "low", "close", "volume", "trade_count", "vwap")
_UPSERTS = {name: _upsert(name) for name in ("postgresql", "sqlite")}


async def save_bars(session: AsyncSession, items: Sequence[Bar]) -> int:
    """Insert bars, replacing any stored bar of the same symbol, timeframe and start (a bar
    still forming is saved again as it grows). Returns how many were written."""
    if not items:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    rows = [_row(bar) for bar in items]
    # one statement compiled once, sent as executemany (batched by the driver)
    for first in range(0, len(rows), _CHUNK):
        await session.execute(_UPSERTS[dialect], rows[first : first + _CHUNK])
    return len(rows)


async def read_bars(
    session: AsyncSession,
    symbols: Sequence[str],
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    after: tuple[str, datetime] | None = None,
    descending: bool = False,
) -> list[Bar]:
    """Bars of `symbols` with start in [start, end), ordered by symbol then time (time
    descending when asked), resuming after the (symbol, start) cursor `after`."""
    query = select(bars).where(
        bars.c.symbol.in_(sorted(symbols)),
        bars.c.timeframe == timeframe.value,
        bars.c.start >= start,
        bars.c.start < end,
    )
    if after is not None:
        symbol, at = after
        later = bars.c.start < at if descending else bars.c.start > at
        query = query.where(
            or_(bars.c.symbol > symbol, and_(bars.c.symbol == symbol, later)),
        )
    order = bars.c.start.desc() if descending else bars.c.start
    query = query.order_by(bars.c.symbol, order).limit(limit)
    return [bar_from_row(row) for row in await session.execute(query)]


async def latest_bars(
    session: AsyncSession, symbol: str, timeframe: Timeframe, count: int, *, before: datetime
) -> list[Bar]:
    """The `count` most recent bars starting before `before`, newest first."""
    query = (
        select(bars)
        .where(bars.c.symbol == symbol, bars.c.timeframe == timeframe.value)
        .where(bars.c.start < before)
        .order_by(bars.c.start.desc())
        .limit(count)
    )
    return [bar_from_row(row) for row in await session.execute(query)]


async def last_bar_starts(session: AsyncSession, timeframe: Timeframe) -> dict[str, datetime]:
    """Per symbol, the start of its newest stored bar of `timeframe`."""
    newest = type_coerce(func.max(bars.c.start), UtcDateTime)
    query = (
        select(bars.c.symbol, newest)
        .where(bars.c.timeframe == timeframe.value)
        .group_by(bars.c.symbol)
    )
    return {symbol: at for symbol, at in await session.execute(query)}
