"""marketdata: the instrument master and bars (BRIN on the bar start on PostgreSQL)

Revision ID: 0008_marketdata
Revises: 0006_ledger
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import UtcDateTime

revision = "0008_marketdata"
down_revision = "0006_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "md_instruments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("asset_class", sa.String(length=16), nullable=False),
        sa.Column("exchange", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("tick_size", sa.BigInteger(), nullable=False),
        sa.Column("lot_size", sa.BigInteger(), nullable=False),
        sa.Column("min_order_size", sa.BigInteger(), nullable=False),
        sa.Column("fractionable", sa.Boolean(), nullable=False),
        sa.Column("shortable", sa.Boolean(), nullable=False),
        sa.Column("easy_to_borrow", sa.Boolean(), nullable=False),
        sa.Column("marginable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_md_instruments")),
        sa.UniqueConstraint("symbol", name=op.f("uq_md_instruments_symbol")),
    )
    op.create_table(
        "md_bars",
        sa.Column("symbol", sa.String(length=24), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("start", UtcDateTime(), nullable=False),
        sa.Column("open", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("close", sa.BigInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("trade_count", sa.Integer(), nullable=False),
        sa.Column("vwap", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "timeframe", "start", name=op.f("pk_md_bars")),
    )
    op.create_index(
        "ix_md_bars_start_brin", "md_bars", ["start"], unique=False, postgresql_using="brin"
    )


def downgrade() -> None:
    op.drop_index("ix_md_bars_start_brin", table_name="md_bars", postgresql_using="brin")
    op.drop_table("md_bars")
    op.drop_table("md_instruments")
