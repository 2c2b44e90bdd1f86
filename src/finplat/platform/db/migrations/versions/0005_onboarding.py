"""onboarding: KYC cases and their history, documents, screening lists, hits and webhook
replay guard

Revision ID: 0005_onboarding
Revises: 0004_identity
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime

revision = "0005_onboarding"
down_revision = "0004_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onboarding_case_events",
        sa.Column("seq", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_onboarding_case_events")),
    )
    op.create_index(
        op.f("ix_onboarding_case_events_case_id"),
        "onboarding_case_events",
        ["case_id"],
        unique=False,
    )
    op.create_table(
        "onboarding_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("application_encrypted", sa.Text(), nullable=True),
        sa.Column("legal_name_hint", sa.String(length=200), nullable=True),
        sa.Column("tax_id_index", sa.String(length=64), nullable=True),
        sa.Column("risk_rating", sa.String(length=16), nullable=True),
        sa.Column("risk_factors", JsonDoc, nullable=True),
        sa.Column("customer_message", sa.Text(), nullable=True),
        sa.Column("pending_approval_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_cases")),
        sa.UniqueConstraint("user_id", name=op.f("uq_onboarding_cases_user_id")),
    )
    op.create_index(
        "ix_onboarding_cases_status", "onboarding_cases", ["status", "updated_at"], unique=False
    )
    op.create_index(
        "ix_onboarding_cases_tax_id_index", "onboarding_cases", ["tax_id_index"], unique=False
    )
    op.create_table(
        "onboarding_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_encrypted", sa.Text(), nullable=False),
        sa.Column("mrz_encrypted", sa.Text(), nullable=True),
        sa.Column("verification_status", sa.String(length=16), nullable=False),
        sa.Column("verification_reasons", JsonDoc, nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_request_id", sa.String(length=128), nullable=True),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_documents")),
        sa.UniqueConstraint(
            "provider_request_id", name=op.f("uq_onboarding_documents_provider_request_id")
        ),
    )
    op.create_index(
        op.f("ix_onboarding_documents_case_id"), "onboarding_documents", ["case_id"], unique=False
    )
    op.create_table(
        "onboarding_screening_entries",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("primary_name", sa.String(length=512), nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "entry_id", name=op.f("pk_onboarding_screening_entries")),
    )
    op.create_table(
        "onboarding_screening_hits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("matched_name", sa.String(length=512), nullable=False),
        sa.Column("explanation", JsonDoc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_screening_hits")),
        sa.UniqueConstraint(
            "user_id",
            "source",
            "entry_id",
            "fingerprint",
            name=op.f("uq_onboarding_screening_hits_user_id_source_entry_id_fingerprint"),
        ),
    )
    op.create_index(
        "ix_onboarding_screening_hits_status",
        "onboarding_screening_hits",
        ["status", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_onboarding_screening_hits_user_id"),
        "onboarding_screening_hits",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "onboarding_screening_loads",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_screening_loads")),
    )
    op.create_table(
        "onboarding_webhook_replays",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_onboarding_webhook_replays")),
    )


def downgrade() -> None:
    op.drop_table("onboarding_webhook_replays")
    op.drop_table("onboarding_screening_loads")
    op.drop_table("onboarding_screening_hits")
    op.drop_table("onboarding_screening_entries")
    op.drop_table("onboarding_documents")
    op.drop_table("onboarding_cases")
    op.drop_table("onboarding_case_events")
