"""The unit of work: one use case, one transaction, committed by the caller's boundary.

    async with uows() as uow:          # BEGIN
        await ledger.post(uow, ...)    # services work through uow.session and uow.publish
                                       # COMMIT on a clean exit, ROLLBACK on an exception

Services and repositories never commit; integration events recorded with `publish` go to the
outbox in the same transaction, so they exist if and only if the change does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from finplat.kernel import Clock, IntegrationEvent
from finplat.platform.db.engine import Database

log = logging.getLogger(__name__)


class EventRecorder(Protocol):
    """Writes an integration event into the outbox, inside the caller's transaction."""

    async def record(
        self, session: AsyncSession, event: IntegrationEvent, *, occurred_at: datetime
    ) -> None: ...


class ReadOnlyViolation(RuntimeError):
    """A read-only unit of work was asked to publish an event."""


class UnitOfWork:
    def __init__(
        self, session: AsyncSession, recorder: EventRecorder, clock: Clock, *, read_only: bool
    ) -> None:
        self.session = session
        self.clock = clock
        self.read_only = read_only
        self._recorder = recorder
        self._after_commit: list[Callable[[], None]] = []
        self.published: list[IntegrationEvent] = []

    async def publish(
        self, event: IntegrationEvent, *, occurred_at: datetime | None = None
    ) -> None:
        """Record `event` in the outbox; it is delivered only if this unit of work commits."""
        if self.read_only:
            raise ReadOnlyViolation("a read-only unit of work cannot publish events")
        await self._recorder.record(
            self.session, event, occurred_at=occurred_at or self.clock.now()
        )
        self.published.append(event)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never on rollback)."""
        self._after_commit.append(callback)

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
        async with self.database.session(read_only=read_only) as session:
            uow = UnitOfWork(session, self._recorder, self.clock, read_only=read_only)
            async with session.begin():
                yield uow
        if uow.published:
            for hook in self._on_publish:
                uow.after_commit(hook)
        uow._committed()
