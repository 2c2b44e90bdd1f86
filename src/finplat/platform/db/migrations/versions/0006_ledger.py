"""ledger: accounts with running counters, entries (with holds), postings, funding

Revision ID: 0006_ledger
Revises: 0005_onboarding
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime

revision = "0006_ledger"
down_revision = "0005_onboarding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=160), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=32), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("normal_side", sa.String(length=8), nullable=False),
        sa.Column("non_negative", sa.Boolean(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    op.create_index(
        op.f("ix_ledger_accounts_owner_id"), "ledger_accounts", ["owner_id"], unique=False
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pending_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("meta", JsonDoc, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
    )
    op.create_index(
        "ix_ledger_entries_pending_expiry", "ledger_entries", ["status", "expires_at"], unique=False
    )
    op.create_index(
        op.f("ix_ledger_entries_pending_id"), "ledger_entries", ["pending_id"], unique=False
    )
    op.create_table(
        "ledger_funding",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("asset", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("idempotency_key", sa.String(length=240), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("bank_reference", sa.String(length=64), nullable=False),
        sa.Column("hold_entry_id", sa.Uuid(), nullable=True),
        sa.Column("settle_entry_id", sa.Uuid(), nullable=True),
        sa.Column("approval_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_funding")),
        sa.UniqueConstraint("bank_reference", name=op.f("uq_ledger_funding_bank_reference")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_funding_idempotency_key")),
    )
    op.create_index(
        "ix_ledger_funding_status", "ledger_funding", ["status", "created_at"], unique=False
    )
    op.create_index(op.f("ix_ledger_funding_user_id"), "ledger_funding", ["user_id"], unique=False)
    op.create_table(
        "ledger_postings",
        sa.Column("seq", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("asset", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_postings")),
    )
    op.create_index(
        "ix_ledger_postings_account_time",
        "ledger_postings",
        ["account_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ledger_postings_entry_id"), "ledger_postings", ["entry_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("ledger_postings")
    op.drop_table("ledger_funding")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
