"""Onboarding's tables. Only onboarding reads or writes them; other domains use the facade."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from finplat.platform.crypto.rotation import EncryptedColumn
from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime, metadata

APPLICATION_CONTEXT = "onboarding.application"
DOCUMENT_CONTEXT = "onboarding.document"
MRZ_CONTEXT = "onboarding.mrz"
TAX_ID_INDEX_CONTEXT = "onboarding.tax_id"

cases = Table(
    "onboarding_cases",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False, unique=True),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", Uuid, nullable=True),
    Column("application_encrypted", Text, nullable=True),
    Column("legal_name_hint", String(200), nullable=True),  # for the staff queue; not secret
    Column("tax_id_index", String(64), nullable=True),
    Column("risk_rating", String(16), nullable=True),
    Column("risk_factors", JsonDoc, nullable=True),
    Column("customer_message", Text, nullable=True),
    Column("pending_approval_id", Uuid, nullable=True),
)
Index("ix_onboarding_cases_status", cases.c.status, cases.c.updated_at)
Index("ix_onboarding_cases_tax_id_index", cases.c.tax_id_index)

case_events = Table(
    "onboarding_case_events",
    metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("case_id", Uuid, nullable=False, index=True),
    Column("event", String(32), nullable=False),
    Column("from_status", String(32), nullable=False),
    Column("to_status", String(32), nullable=False),
    Column("actor_id", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
)

documents = Table(
    "onboarding_documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, nullable=False, index=True),
    Column("user_id", Uuid, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_encrypted", Text, nullable=False),
    Column("mrz_encrypted", Text, nullable=True),
    Column("verification_status", String(16), nullable=False),  # pending, passed, failed
    Column("verification_reasons", JsonDoc, nullable=True),
    Column("provider", String(32), nullable=True),
    Column("provider_request_id", String(128), nullable=True, unique=True),
    Column("uploaded_at", UtcDateTime, nullable=False),
)

screening_entries = Table(
    "onboarding_screening_entries",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("entry_id", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("primary_name", String(512), nullable=False),
    Column("data", JsonDoc, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

screening_loads = Table(
    "onboarding_screening_loads",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
)

screening_hits = Table(
    "onboarding_screening_hits",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False, index=True),
    Column("case_id", Uuid, nullable=True),
    Column("source", String(32), nullable=False),
    Column("entry_id", String(128), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # sanctions or pep
    Column("score", Float, nullable=False),  # a similarity, not an amount
    Column("matched_name", String(512), nullable=False),
    Column("explanation", JsonDoc, nullable=False),
    Column("status", String(16), nullable=False),  # open, true_match, false_positive
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_by", Uuid, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_reason", Text, nullable=True),
    UniqueConstraint("user_id", "source", "entry_id", "fingerprint"),
)
Index("ix_onboarding_screening_hits_status", screening_hits.c.status, screening_hits.c.created_at)

webhook_replays = Table(
    "onboarding_webhook_replays",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
)


def encrypted_columns() -> list[EncryptedColumn]:
    """Onboarding's encrypted columns, for master-key rotation."""
    return [
        EncryptedColumn(cases, cases.c.id, cases.c.application_encrypted, APPLICATION_CONTEXT),
        EncryptedColumn(documents, documents.c.id, documents.c.content_encrypted, DOCUMENT_CONTEXT),
        EncryptedColumn(documents, documents.c.id, documents.c.mrz_encrypted, MRZ_CONTEXT),
    ]
