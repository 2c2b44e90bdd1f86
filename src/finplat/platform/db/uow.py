"""The unit of work: one use case, one transaction, committed by the caller's boundary.

    async with uows() as uow:          # BEGIN (with the first statement)
        await ledger.post(uow, ...)    # services work through uow.session (or, on hot paths,
                                       # `await uow.connection()`) and uow.publish
                                       # COMMIT on a clean exit, ROLLBACK on an exception

Services and repositories never commit; integration events recorded with `publish` go to the
outbox in the same transaction, so they exist if and only if the change does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from finplat.kernel import Clock, IntegrationEvent
from finplat.platform.db.engine import Database

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class EventRecorder(Protocol):
    """Writes an integration event into the outbox, inside the caller's transaction."""

    async def record(
        self, connection: AsyncConnection, event: IntegrationEvent, *, occurred_at: datetime
    ) -> None: ...


class ReadOnlyViolation(RuntimeError):
    """A read-only unit of work was asked to publish an event."""


class UnitOfWork:
    """One transaction. It starts with whichever is used first: `session` (SQLAlchemy's ORM
    session, what most code uses) or `await connection()` (the bare connection: Core statements
    on it skip the session's per-statement work, for hot paths); the other joins it."""

    def __init__(
        self, database: Database, recorder: EventRecorder, clock: Clock, *, read_only: bool
    ) -> None:
        self.clock = clock
        self.read_only = read_only
        self._database = database
        self._recorder = recorder
        self._session: AsyncSession | None = None
        self._connection: AsyncConnection | None = None
        self._owns_connection = False  # opened by connection(), not through the session
        self._after_commit: list[Callable[[], None]] = []
        self.published: list[IntegrationEvent] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            if self._connection is None:
                self._session = self._database.session(read_only=self.read_only)
            else:
                self._session = self._database.session_in(self._connection)
        return self._session

    async def connection(self) -> AsyncConnection:
        if self._connection is None:
            if self._session is not None:
                self._connection = await self._session.connection()
            else:
                self._connection = await self._database.connect(read_only=self.read_only).start()
                self._owns_connection = True
                await self._connection.begin()
        return self._connection

    async def run_sync(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(connection, ...)` on the transaction's synchronous connection: its statements
        share one greenlet instead of starting one each (see SQLAlchemy's asyncio docs)."""
        return await (await self.connection()).run_sync(fn, *args, **kwargs)

    async def publish(
        self, event: IntegrationEvent, *, occurred_at: datetime | None = None
    ) -> None:
        """Record `event` in the outbox; it is delivered only if this unit of work commits."""
        if self.read_only:
            raise ReadOnlyViolation("a read-only unit of work cannot publish events")
        await self._recorder.record(
            await self.connection(), event, occurred_at=occurred_at or self.clock.now()
        )
        self.published.append(event)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never on rollback)."""
        self._after_commit.append(callback)

    async def _commit(self) -> None:
        if self._session is not None:
            await self._session.commit()  # joined to our connection, it only flushes
        if self._owns_connection:
            assert self._connection is not None  # noqa: S101 - owned means opened
            await self._connection.commit()

    async def _close(self) -> None:
        """Give the connection back, rolling back whatever was not committed."""
        try:
            if self._session is not None:
                await self._session.close()
        finally:
            if self._owns_connection:
                assert self._connection is not None  # noqa: S101 - owned means opened
                await self._connection.close()

    def _committed(self) -> None:
        for callback in self._after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")


class UnitOfWorkFactory:
    """Opens units of work; `on_commit` hooks run after every commit that published events."""

    def __init__(self, database: Database, recorder: EventRecorder, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self._recorder = recorder
        self._on_publish: list[Callable[[], None]] = []

    def on_publish_committed(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each commit that recorded events (the relay's wake-up)."""
        self._on_publish.append(callback)

    @asynccontextmanager
    async def __call__(self, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
        uow = UnitOfWork(self.database, self._recorder, self.clock, read_only=read_only)
        try:
            yield uow
            await uow._commit()
        finally:
            await uow._close()
        if uow.published:
            for hook in self._on_publish:
                uow.after_commit(hook)
        uow._committed()
