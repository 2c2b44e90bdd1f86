"""identity: users, roles, email tokens, sessions, refresh tokens, TOTP, recovery codes,
API keys and maker-checker approvals

Revision ID: 0004_identity
Revises: 0003_audit
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import JsonDoc, UtcDateTime

revision = "0004_identity"
down_revision = "0003_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email_encrypted", sa.Text(), nullable=False),
        sa.Column("email_index", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("email_verified_at", UtcDateTime(), nullable=True),
        sa.Column("password_changed_at", UtcDateTime(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_users")),
        sa.UniqueConstraint("email_index", name=op.f("uq_identity_users_email_index")),
    )
    op.create_table(
        "identity_api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_identity_api_keys_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_identity_api_keys_key_id")),
    )
    op.create_index(
        op.f("ix_identity_api_keys_user_id"), "identity_api_keys", ["user_id"], unique=False
    )
    op.create_table(
        "identity_approvals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("maker_id", sa.Uuid(), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("checker_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["identity_users.id"],
            name=op.f("fk_identity_approvals_checker_id_identity_users"),
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["identity_users.id"],
            name=op.f("fk_identity_approvals_maker_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_approvals")),
    )
    op.create_index(
        "ix_identity_approvals_pending",
        "identity_approvals",
        ["status", "created_at"],
        unique=False,
    )
    op.create_table(
        "identity_email_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_identity_email_tokens_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_email_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_email_tokens_token_hash")),
    )
    op.create_table(
        "identity_recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_identity_recovery_codes_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_identity_recovery_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_identity_recovery_codes_user_id"),
        "identity_recovery_codes",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "identity_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("methods", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("device", sa.String(length=128), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_identity_sessions_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_sessions")),
    )
    op.create_index(
        op.f("ix_identity_sessions_user_id"), "identity_sessions", ["user_id"], unique=False
    )
    op.create_table(
        "identity_totp",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("last_counter", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["identity_users.id"], name=op.f("fk_identity_totp_user_id_identity_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_identity_totp")),
    )
    op.create_table(
        "identity_user_roles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("granted_at", UtcDateTime(), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_users.id"],
            name=op.f("fk_identity_user_roles_user_id_identity_users"),
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_identity_user_roles")),
    )
    op.create_table(
        "identity_refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["identity_sessions.id"],
            name=op.f("fk_identity_refresh_tokens_session_id_identity_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_refresh_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_identity_refresh_tokens_session_id"),
        "identity_refresh_tokens",
        ["session_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("identity_refresh_tokens")
    op.drop_table("identity_user_roles")
    op.drop_table("identity_totp")
    op.drop_table("identity_sessions")
    op.drop_table("identity_recovery_codes")
    op.drop_table("identity_email_tokens")
    op.drop_table("identity_approvals")
    op.drop_table("identity_api_keys")
    op.drop_table("identity_users")
