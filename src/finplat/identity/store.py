"""Identity's tables. Only identity reads or writes them; other domains use the facade."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)

from finplat.platform.crypto.rotation import EncryptedColumn
from finplat.platform.db.schema import JsonDoc, UtcDateTime, metadata

#: Contexts bind each ciphertext to its column: a value copied elsewhere does not decrypt.
EMAIL_CONTEXT = "identity.users.email"
TOTP_CONTEXT = "identity.totp.secret"

users = Table(
    "identity_users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email_encrypted", Text, nullable=False),
    Column("email_index", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("email_verified_at", UtcDateTime, nullable=True),
    Column("password_changed_at", UtcDateTime, nullable=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime, nullable=True),
)

user_roles = Table(
    "identity_user_roles",
    metadata,
    Column("user_id", Uuid, ForeignKey("identity_users.id"), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("granted_by", Uuid, nullable=True),
)

email_tokens = Table(
    "identity_email_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("identity_users.id"), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

sessions = Table(
    "identity_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("identity_users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("auth_time", UtcDateTime, nullable=False),
    Column("methods", String(64), nullable=False),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("device", String(128), nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoke_reason", String(64), nullable=True),
)

refresh_tokens = Table(
    "identity_refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", Uuid, ForeignKey("identity_sessions.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

totp_factors = Table(
    "identity_totp",
    metadata,
    Column("user_id", Uuid, ForeignKey("identity_users.id"), primary_key=True),
    Column("secret_encrypted", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("last_counter", BigInteger, nullable=True),
)

recovery_codes = Table(
    "identity_recovery_codes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("identity_users.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

api_keys = Table(
    "identity_api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("key_id", String(32), nullable=False, unique=True),
    Column("user_id", Uuid, ForeignKey("identity_users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

approvals = Table(
    "identity_approvals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("action", String(64), nullable=False),
    Column("maker_id", Uuid, ForeignKey("identity_users.id"), nullable=False),
    Column("target_id", String(64), nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("checker_id", Uuid, ForeignKey("identity_users.id"), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
)
Index("ix_identity_approvals_pending", approvals.c.status, approvals.c.created_at)


def encrypted_columns() -> list[EncryptedColumn]:
    """Identity's encrypted columns, for master-key rotation."""
    return [
        EncryptedColumn(users, users.c.id, users.c.email_encrypted, EMAIL_CONTEXT),
        EncryptedColumn(
            totp_factors, totp_factors.c.user_id, totp_factors.c.secret_encrypted, TOTP_CONTEXT
        ),
    ]
