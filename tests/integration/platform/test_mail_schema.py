"""The 0002_mail migration creates exactly the table `finplat.platform.mail` declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, inspect
from sqlalchemy.engine import Connection

from finplat.platform.db import Database, metadata
from finplat.platform.mail import mail_outbox


def _table_of(diff: Any) -> str | None:
    """The table an Alembic autogenerate difference is about."""
    if isinstance(diff, list):  # modify_* differences come grouped
        return _table_of(diff[0])
    subject = diff[1]
    if isinstance(subject, Table):
        return str(subject.name)
    table = getattr(subject, "table", None)
    if isinstance(table, Table):
        return str(table.name)
    return str(diff[2]) if len(diff) > 2 else None


def _mail_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, metadata) if _table_of(d) == mail_outbox.name]


def _indexes(connection: Connection) -> dict[str, list[str | None]]:
    return {
        str(index["name"]): list(index["column_names"])
        for index in inspect(connection).get_indexes(mail_outbox.name)
    }


async def test_the_migrated_table_matches_the_declared_one(database: Database) -> None:
    async with database.engine.connect() as conn:
        differences = await conn.run_sync(_mail_differences)
        indexes = await conn.run_sync(_indexes)
    assert differences == []
    assert indexes["ix_mail_outbox_unsent"] == ["next_attempt_at"]
