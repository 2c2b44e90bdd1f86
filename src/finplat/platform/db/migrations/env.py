"""Alembic environment. Runs on the connection handed in by `finplat.platform.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from finplat.platform.db.schema import metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `finplat migrate`, which supplies the connection")
run_on(connection)
