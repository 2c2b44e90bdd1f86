"""trading: orders, order events, executions, positions, trading accounts, controls

Revision ID: 0009_trading
Revises: 0008_marketdata
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime

revision = "0009_trading"
down_revision = "0008_marketdata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trading_accounts",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("account_number", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paper", sa.Boolean(), nullable=False),
        sa.Column("may_short", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_trading_accounts")),
        sa.UniqueConstraint("account_number", name=op.f("uq_trading_accounts_account_number")),
    )
    op.create_table(
        "trading_controls",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_trading_controls")),
    )
    op.create_table(
        "trading_executions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("venue_execution_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=24), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("liquidity", sa.String(length=8), nullable=False),
        sa.Column("ledger_entry_id", sa.Uuid(), nullable=True),
        sa.Column("executed_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_executions")),
        sa.UniqueConstraint("venue", "venue_execution_id", name="uq_trading_executions_venue_id"),
    )
    op.create_index(
        "ix_trading_executions_account",
        "trading_executions",
        ["account_id", "executed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_trading_executions_order_id"), "trading_executions", ["order_id"], unique=False
    )
    op.create_table(
        "trading_order_events",
        sa.Column("seq", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("detail", JsonDoc, nullable=False),
        sa.Column("event_time", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_trading_order_events")),
    )
    op.create_index(
        "ix_trading_order_events_account",
        "trading_order_events",
        ["account_id", "seq"],
        unique=False,
    )
    op.create_index(
        op.f("ix_trading_order_events_order_id"), "trading_order_events", ["order_id"], unique=False
    )
    op.create_table(
        "trading_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("client_order_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=24), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("time_in_force", sa.String(length=8), nullable=False),
        sa.Column("order_class", sa.String(length=8), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=True),
        sa.Column("notional", sa.BigInteger(), nullable=True),
        sa.Column("limit_price", sa.BigInteger(), nullable=True),
        sa.Column("stop_price", sa.BigInteger(), nullable=True),
        sa.Column("trail_price", sa.BigInteger(), nullable=True),
        sa.Column("trail_percent", sa.BigInteger(), nullable=True),
        sa.Column("extended_hours", sa.Boolean(), nullable=False),
        sa.Column("take_profit", JsonDoc, nullable=True),
        sa.Column("stop_loss", JsonDoc, nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("paper", sa.Boolean(), nullable=False),
        sa.Column("filled_qty", sa.BigInteger(), nullable=False),
        sa.Column("filled_notional", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("replaces", sa.Uuid(), nullable=True),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        sa.Column("hold_id", sa.Uuid(), nullable=True),
        sa.Column("triggered", sa.Boolean(), nullable=False),
        sa.Column("high_water_mark", sa.BigInteger(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=False),
        sa.Column("accept_seq", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=True),
        sa.Column("filled_at", UtcDateTime(), nullable=True),
        sa.Column("canceled_at", UtcDateTime(), nullable=True),
        sa.Column("expired_at", UtcDateTime(), nullable=True),
        sa.Column("failed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_orders")),
        sa.UniqueConstraint("account_id", "client_order_id", name="uq_trading_orders_client_id"),
    )
    op.create_index(
        "ix_trading_orders_account_created",
        "trading_orders",
        ["account_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_trading_orders_open", "trading_orders", ["status", "symbol"], unique=False)
    op.create_index("ix_trading_orders_parent", "trading_orders", ["parent_id"], unique=False)
    op.create_table(
        "trading_positions",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=24), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("cost_basis", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "symbol", name=op.f("pk_trading_positions")),
    )


def downgrade() -> None:
    op.drop_table("trading_positions")
    op.drop_table("trading_orders")
    op.drop_table("trading_order_events")
    op.drop_table("trading_executions")
    op.drop_table("trading_controls")
    op.drop_table("trading_accounts")
