"""Trading's tables. Orders keep their current state (with a version for optimistic checks);
order events and executions are append-only facts. Quantities and prices are integer nanos
(10^-9); sums of quantity times price (18 places) are exact decimal strings."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime, metadata

orders = Table(
    "trading_orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("client_order_id", String(128), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # of the request, for retries
    Column("symbol", String(24), nullable=False),
    Column("side", String(8), nullable=False),
    Column("type", String(16), nullable=False),
    Column("time_in_force", String(8), nullable=False),
    Column("order_class", String(8), nullable=False),
    Column("qty", BigInteger, nullable=True),
    Column("notional", BigInteger, nullable=True),
    Column("limit_price", BigInteger, nullable=True),
    Column("stop_price", BigInteger, nullable=True),
    Column("trail_price", BigInteger, nullable=True),
    Column("trail_percent", BigInteger, nullable=True),
    Column("extended_hours", Boolean, nullable=False),
    Column("take_profit", JsonDoc, nullable=True),
    Column("stop_loss", JsonDoc, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("status", String(20), nullable=False),
    Column("venue", String(16), nullable=False),
    Column("paper", Boolean, nullable=False),
    Column("filled_qty", BigInteger, nullable=False),
    Column("filled_notional", String(64), nullable=False),
    Column("parent_id", Uuid, nullable=True),
    Column("replaces", Uuid, nullable=True),
    Column("replaced_by", Uuid, nullable=True),
    Column("hold_id", Uuid, nullable=True),
    Column("triggered", Boolean, nullable=False),
    Column("high_water_mark", BigInteger, nullable=True),
    Column("reject_reason", Text, nullable=False),
    Column("accept_seq", BigInteger, nullable=False),  # arrival order, for queue priority
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("filled_at", UtcDateTime, nullable=True),
    Column("canceled_at", UtcDateTime, nullable=True),
    Column("expired_at", UtcDateTime, nullable=True),
    Column("failed_at", UtcDateTime, nullable=True),
    UniqueConstraint("account_id", "client_order_id", name="uq_trading_orders_client_id"),
)
Index("ix_trading_orders_account_created", orders.c.account_id, orders.c.created_at)
Index("ix_trading_orders_open", orders.c.status, orders.c.symbol)
Index("ix_trading_orders_parent", orders.c.parent_id)

order_events = Table(
    "trading_order_events",
    metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("account_id", Uuid, nullable=False),
    Column("event", String(20), nullable=False),
    Column("status", String(20), nullable=False),  # after the event
    Column("qty", BigInteger, nullable=True),  # of a fill
    Column("price", BigInteger, nullable=True),
    Column("detail", JsonDoc, nullable=False),
    Column("event_time", UtcDateTime, nullable=False),  # when it happened at the venue
    Column("recorded_at", UtcDateTime, nullable=False),  # when we wrote it down
)
Index("ix_trading_order_events_account", order_events.c.account_id, order_events.c.seq)

executions = Table(
    "trading_executions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("venue", String(16), nullable=False),
    Column("venue_execution_id", String(64), nullable=False),  # unique per venue: applied once
    Column("order_id", Uuid, nullable=False, index=True),
    Column("account_id", Uuid, nullable=False),
    Column("symbol", String(24), nullable=False),
    Column("side", String(8), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),  # in the cash asset's minor units
    Column("liquidity", String(8), nullable=False),  # maker or taker
    Column("ledger_entry_id", Uuid, nullable=True),
    Column("executed_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("venue", "venue_execution_id", name="uq_trading_executions_venue_id"),
)
Index("ix_trading_executions_account", executions.c.account_id, executions.c.executed_at)

positions = Table(
    "trading_positions",
    metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("symbol", String(24), primary_key=True),
    Column("qty", BigInteger, nullable=False),  # signed: negative when short
    Column("cost_basis", String(64), nullable=False),  # exact decimal, of the open quantity
    Column("updated_at", UtcDateTime, nullable=False),
)

trading_accounts = Table(
    "trading_accounts",
    metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("account_number", String(16), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("paper", Boolean, nullable=False),
    Column("may_short", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

controls = Table(
    "trading_controls",
    metadata,
    Column("name", String(32), primary_key=True),  # "kill_switch"
    Column("enabled", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", Uuid, nullable=True),
    Column("changed_at", UtcDateTime, nullable=False),
)
