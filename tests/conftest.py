"""Shared fixtures. Database tests take `database` and run once per backend."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from finplat.kernel import ManualClock
from finplat.platform.bus import OutboxRecorder
from finplat.platform.db import Database, UnitOfWorkFactory
from tests.support import databases
from tests.support.events import events_registry
from tests.support.kafka_broker import TansuBroker

BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_backend") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return databases.make_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"finplat_test_{worker}_{os.getpid()}"
    url = databases.create_postgres_database(name)
    yield url
    databases.drop_postgres_database(name)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker (tansu, installed from PyPI) for the whole session."""
    with TansuBroker() as broker:
        yield broker.bootstrap


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated, empty database on the backend named by `db_backend`."""
    if db_backend == "sqlite":
        return databases.copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database; each test gets its own (SQLite) or a truncated one (PG)."""
    db = Database(database_url)
    try:
        yield db
    finally:
        if not db.is_sqlite:
            await databases.truncate_all(db)
        await db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))


@pytest.fixture
def uows(database: Database, clock: ManualClock) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(database, OutboxRecorder(events_registry(), clock), clock)
