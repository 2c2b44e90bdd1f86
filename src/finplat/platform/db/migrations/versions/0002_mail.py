"""mail: outbox of messages to send (owned by platform.mail)

Revision ID: 0002_mail
Revises: 0001_bus
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from finplat.platform.db.schema import BigIntPK, UtcDateTime

revision = "0002_mail"
down_revision = "0001_bus"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("seq", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(998), nullable=False),
        sa.Column("body_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_mail_outbox"),
        sa.UniqueConstraint("id", name="uq_mail_outbox_id"),
    )
    op.create_index(
        "ix_mail_outbox_unsent",
        "mail_outbox",
        ["next_attempt_at"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_unsent", table_name="mail_outbox")
    op.drop_table("mail_outbox")
