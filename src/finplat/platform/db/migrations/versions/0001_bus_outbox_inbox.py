"""bus: outbox, inbox and dead-letter tables

Revision ID: 0001_bus
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime

revision = "0001_bus"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bus_outbox",
        sa.Column("seq", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_bus_outbox"),
        sa.UniqueConstraint("event_id", name="uq_bus_outbox_event_id"),
    )
    op.create_index(
        "ix_bus_outbox_unpublished",
        "bus_outbox",
        ["seq"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "bus_inbox",
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_bus_inbox"),
    )
    op.create_table(
        "bus_dead_letter",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("envelope", JsonDoc, nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bus_dead_letter"),
    )


def downgrade() -> None:
    op.drop_table("bus_dead_letter")
    op.drop_table("bus_inbox")
    op.drop_index("ix_bus_outbox_unpublished", table_name="bus_outbox")
    op.drop_table("bus_outbox")
