"""Pooled PostgreSQL connections: one that died while idle is replaced before anyone uses it;
a busy one is not pinged, and if it dies anyway only the transaction using it fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from finplat.platform.db import Database
from finplat.platform.db import engine as engine_module
from tests.support.databases import POSTGRES_ADMIN_DSN

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pool_of_one(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url, pool_size=1)
    try:
        yield database
    finally:
        await database.dispose()


async def backend_pid(database: Database) -> int:
    async with database.engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def terminate(pid: int) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        for _ in range(100):
            if not await admin.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
                return
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    raise AssertionError(f"backend {pid} did not end")


async def test_a_connection_that_died_while_idle_is_replaced(
    pool_of_one: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    dead = await backend_pid(pool_of_one)
    await terminate(dead)
    assert await backend_pid(pool_of_one) != dead  # no error: the ping found it dead


async def test_a_busy_connection_is_not_pinged_and_a_dead_one_fails_only_once(
    pool_of_one: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    dead = await backend_pid(pool_of_one)
    await terminate(dead)
    with pytest.raises(DBAPIError) as failed:
        await backend_pid(pool_of_one)
    assert failed.value.connection_invalidated
    assert await backend_pid(pool_of_one) != dead
