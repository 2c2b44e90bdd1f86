"""The async engine for SQLite (embedded) or PostgreSQL (production).

SQLite runs in WAL mode with full fsync, foreign keys on, and write transactions that start with
BEGIN IMMEDIATE, so two writers queue on the database lock instead of failing half-way.

On PostgreSQL a pooled connection that sat idle for a while is pinged before use and replaced
if it is dead (restarts, idle timeouts, firewalls drop idle connections). A busy connection is
not pinged: the ping costs three round trips, more than a short transaction's own work. If one
breaks anyway, SQLAlchemy sees the disconnect, fails that transaction and invalidates the whole
pool, so the next checkout connects afresh.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

READ_ONLY = "finplat_read_only"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: A pooled PostgreSQL connection idle longer than this is pinged when checked out.
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "finplat_idle_since"


class Database:
    """Owns the engine and hands out sessions; it never decides when to commit."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url: URL = make_url(url)
        self.engine: AsyncEngine = _create_engine(self.url, echo=echo, pool_size=pool_size)
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._read_sessions = async_sessionmaker(self._read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def session(self, *, read_only: bool = False) -> AsyncSession:
        return (self._read_sessions if read_only else self._sessions)()

    def session_in(self, connection: AsyncConnection) -> AsyncSession:
        """A session inside `connection`'s transaction; committing that stays the caller's
        job (the session's commit only flushes, its close leaves the transaction alone)."""
        return AsyncSession(
            bind=connection,
            expire_on_commit=False,
            autoflush=True,
            join_transaction_mode="rollback_only",
        )

    def connect(self, *, read_only: bool = False) -> AsyncConnection:
        return (self._read_engine if read_only else self.engine).connect()

    async def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _create_engine(url: URL, *, echo: bool, pool_size: int) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
        event.listen(engine.sync_engine, "checkin", _mark_idle)
        event.listen(engine.sync_engine, "checkout", partial(_ping_if_idle, engine.dialect))
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
    return engine


def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.pop(_IDLE_SINCE, None)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:
        # the pool discards this connection and checks out another (a fresh one if need be)
        raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (the driver's implicit BEGIN is
    # DEFERRED, which turns into "database is locked" when two readers both try to write).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "foreign_keys=ON",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_sqlite_transaction(conn: Any) -> None:
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
