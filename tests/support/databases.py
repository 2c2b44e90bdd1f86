"""Test databases: every database test runs on SQLite and on the local PostgreSQL server.

SQLite: the migrations run once into a template file, which each test copies.
PostgreSQL: one database per test session (and per xdist worker), migrated once; after each
test every table is truncated, so tests see an empty, fully migrated schema.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import asyncpg
from sqlalchemy import text

from finplat.platform.db import Database
from finplat.platform.db.migrate import upgrade

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def migrate_sync(url: str) -> None:
    async def run() -> None:
        database = Database(url)
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(run())


def make_sqlite_template(directory: Path) -> Path:
    template = directory / "template.db"
    migrate_sync(f"sqlite+aiosqlite:///{template}")
    return template


def copy_sqlite(template: Path, directory: Path) -> str:
    target = directory / "test.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


def create_postgres_database(name: str) -> str:
    """Create (or re-create) database `name`, migrate it, and return its SQLAlchemy URL."""

    async def run() -> None:
        try:
            conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise RuntimeError(
                f"PostgreSQL is required for the test suite and is not reachable at "
                f"{POSTGRES_ADMIN_DSN}: {exc}. `make test` starts it; see README."
            ) from exc
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    url = sqlalchemy_url(f"{base}/{name}")
    migrate_sync(url)
    return url


def drop_postgres_database(name: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(run())


async def truncate_all(database: Database) -> None:
    """Empty every table the migrations created (read from the catalog, so a table whose
    module no test imported is emptied too)."""
    async with database.engine.begin() as conn:
        names = (
            (
                await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        if names:
            listed = ", ".join(f'"{name}"' for name in names)
            await conn.execute(text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
