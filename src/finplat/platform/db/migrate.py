"""Apply the Alembic migrations shipped in the package to a database."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from finplat.platform.db.engine import Database


def alembic_config() -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("finplat.platform.db").joinpath("migrations"))
    )
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    """Migrate `database` to `revision` (idempotent)."""
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


async def current_revision(database: Database) -> str | None:
    async with database.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
