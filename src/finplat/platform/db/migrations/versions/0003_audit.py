"""identity: hash-chained audit log

Revision ID: 0003_audit
Revises: 0002_mail
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import BigIntPK, JsonDoc, UtcDateTime

revision = "0003_audit"
down_revision = "0002_mail"
branch_labels = None
depends_on = None

# On PostgreSQL even a bug cannot rewrite history: UPDATE and DELETE raise. TRUNCATE (used by
# the test suite between tests) is not a row operation and stays allowed. The trigger fires
# per statement, so it refuses even a statement that would match no row.
_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION identity_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'identity_audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$
"""
_APPEND_ONLY_TRIGGER = """
CREATE TRIGGER identity_audit_log_append_only
BEFORE UPDATE OR DELETE ON identity_audit_log
FOR EACH STATEMENT EXECUTE FUNCTION identity_audit_log_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "identity_audit_log",
        # assigned by the application under the append lock, so no sequence (see audit_store)
        sa.Column("seq", BigIntPK, primary_key=True, autoincrement=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=True),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("target_type", sa.String(64), nullable=True),
        sa.Column("target_id", sa.String(128), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("details", JsonDoc, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_identity_audit_log"),
        sa.UniqueConstraint("id", name="uq_identity_audit_log_id"),
        sa.UniqueConstraint("hash", name="uq_identity_audit_log_hash"),
    )
    op.create_index(
        "ix_identity_audit_log_target_type_target_id",
        "identity_audit_log",
        ["target_type", "target_id"],
    )
    op.create_index("ix_identity_audit_log_actor_id", "identity_audit_log", ["actor_id"])
    op.create_index("ix_identity_audit_log_occurred_at", "identity_audit_log", ["occurred_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY_FUNCTION)
        op.execute(_APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER identity_audit_log_append_only ON identity_audit_log")
        op.execute("DROP FUNCTION identity_audit_log_append_only()")
    op.drop_index("ix_identity_audit_log_occurred_at", table_name="identity_audit_log")
    op.drop_index("ix_identity_audit_log_actor_id", table_name="identity_audit_log")
    op.drop_index("ix_identity_audit_log_target_type_target_id", table_name="identity_audit_log")
    op.drop_table("identity_audit_log")
