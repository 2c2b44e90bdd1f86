"""The ledger's tables. Entries and postings are append-only; account rows carry the
running counters, which `finplat ledger check` proves equal to the postings."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, Uuid

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime, metadata

accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(160), nullable=False, unique=True),
    Column("owner_id", Uuid, nullable=True, index=True),
    Column("kind", String(32), nullable=False),
    Column("asset", String(32), nullable=False),
    Column("scale", Integer, nullable=False),
    Column("normal_side", String(8), nullable=False),
    Column("non_negative", Boolean, nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("restricted", Boolean, nullable=False),  # a forced negative not yet covered
    Column("created_at", UtcDateTime, nullable=False),
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # entry, hold, post, void
    Column("status", String(16), nullable=False),
    Column("pending_id", Uuid, nullable=True, index=True),
    Column("description", Text, nullable=False),
    Column("meta", JsonDoc, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
)
Index("ix_ledger_entries_pending_expiry", entries.c.status, entries.c.expires_at)

postings = Table(
    "ledger_postings",
    metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("entry_id", Uuid, nullable=False, index=True),
    Column("account_id", Uuid, nullable=False),
    Column("asset", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),  # + debit, - credit
    Column("pending", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_ledger_postings_account_time", postings.c.account_id, postings.c.created_at)

funding = Table(
    "ledger_funding",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False, index=True),
    Column("direction", String(16), nullable=False),  # deposit, withdrawal
    Column("asset", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("idempotency_key", String(240), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("bank_reference", String(64), nullable=False, unique=True),
    Column("hold_entry_id", Uuid, nullable=True),
    Column("settle_entry_id", Uuid, nullable=True),
    Column("approval_id", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_ledger_funding_status", funding.c.status, funding.c.created_at)
