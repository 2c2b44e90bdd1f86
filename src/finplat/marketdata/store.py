"""Market data tables: the instrument master and bars. Prices and sizes are integer nanos
(see `domain.SCALE`). Latest and recent quotes and trades live in the cache, not here."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Uuid

from finplat.platform.db.schema import UtcDateTime, metadata

instruments = Table(
    "md_instruments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("symbol", String(24), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("asset_class", String(16), nullable=False),
    Column("exchange", String(16), nullable=False),
    Column("currency", String(8), nullable=False),
    Column("tick_size", BigInteger, nullable=False),
    Column("lot_size", BigInteger, nullable=False),
    Column("min_order_size", BigInteger, nullable=False),
    Column("fractionable", Boolean, nullable=False),
    Column("shortable", Boolean, nullable=False),
    Column("easy_to_borrow", Boolean, nullable=False),
    Column("marginable", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("venue", String(16), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

bars = Table(
    "md_bars",
    metadata,
    Column("symbol", String(24), primary_key=True),
    Column("timeframe", String(8), primary_key=True),
    Column("start", UtcDateTime, primary_key=True),
    Column("open", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    Column("low", BigInteger, nullable=False),
    Column("close", BigInteger, nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("trade_count", Integer, nullable=False),
    Column("vwap", BigInteger, nullable=False),
)

# Bars arrive in time order, so on PostgreSQL a BRIN index on the start time is a few pages
# and serves the time-range scans of charts and analytics; SQLite ignores the option.
Index("ix_md_bars_start_brin", bars.c.start, postgresql_using="brin")
