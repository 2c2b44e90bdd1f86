"""A bus wired for tests: database, outbox relay, a backend, one recording consumer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Table, func, select

from finplat.kernel import ManualClock
from finplat.platform.bus import BusBackend, Consumer, OutboxRelay
from finplat.platform.bus.tables import outbox
from finplat.platform.db import Database, UnitOfWorkFactory
from tests.support.bus import Applied

WAIT_SECONDS = 30.0


@dataclass
class BusHarness:
    database: Database
    uows: UnitOfWorkFactory
    clock: ManualClock
    backend: BusBackend
    consumer: Consumer
    relay: OutboxRelay
    applied: Applied

    @property
    def consumer_name(self) -> str:
        return self.consumer.name

    async def wait_applied(self, count: int) -> None:
        """Wait until the consumer has applied `count` events (a deadline, not a benchmark)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while len(self.applied.events) < count:
            if loop.time() > deadline:
                raise AssertionError(f"only {len(self.applied.events)} of {count} events applied")
            await asyncio.sleep(0.02)

    async def assert_nothing_more_arrives(self) -> None:
        before = len(self.applied.events)
        await asyncio.sleep(0.5 if self.backend.name != "memory" else 0)
        assert len(self.applied.events) == before

    async def count(self, table: Table) -> int:
        async with self.uows(read_only=True) as uow:
            return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)

    async def undelivered(self) -> int:
        async with self.uows(read_only=True) as uow:
            return int(
                await uow.session.scalar(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                )
                or 0
            )
