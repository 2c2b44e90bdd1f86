"""Transactional outbox: events are written with the state change, delivered by the relay.

The relay reads a batch of undelivered rows (short read), hands them to the backend (no
transaction held, so consumers on SQLite can write), then marks them delivered (short write).
A crash between the last two steps delivers the batch again; consumers dedupe by event id.
Rows are read in `seq` order by one relay at a time (a PostgreSQL advisory lock elects it), so
events with the same key, whose writers serialise on the aggregate, arrive in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from finplat.kernel import Clock, IntegrationEvent, uuid7
from finplat.platform.bus.backend import Publisher
from finplat.platform.bus.envelope import Envelope
from finplat.platform.bus.registry import EventRegistry
from finplat.platform.bus.tables import outbox
from finplat.platform.db.engine import Database

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock held by the one active relay ("finplat-relay").
RELAY_LOCK_KEY = 0x66706C7472656C79

# built once, so the compiled statement is cached; inline: nobody reads the new row's seq back
_RECORD = insert(outbox).inline()


class OutboxRecorder:
    """Validates an event against its schema and inserts it into the outbox."""

    def __init__(self, registry: EventRegistry, clock: Clock) -> None:
        self._registry = registry
        self._clock = clock

    async def record(
        self, connection: AsyncConnection, event: IntegrationEvent, *, occurred_at: datetime
    ) -> None:
        payload = event.payload()
        self._registry.validate(event.event_type, event.version, payload)
        await connection.execute(
            _RECORD,
            {
                "event_id": uuid7(),
                "topic": event.topic,
                "event_type": event.event_type,
                "version": event.version,
                "key": event.key,
                "occurred_at": occurred_at,
                "recorded_at": self._clock.now(),
                "payload": payload,
            },
        )


class OutboxRelay:
    """Moves committed outbox rows to the bus backend, in order, at least once."""

    def __init__(
        self,
        database: Database,
        publisher: Publisher,
        clock: Clock,
        *,
        batch_size: int = 200,
        poll_interval: timedelta = timedelta(milliseconds=200),
    ) -> None:
        self._db = database
        self._publisher = publisher
        self._clock = clock
        self._batch_size = batch_size
        self._poll_seconds = poll_interval.total_seconds()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the relay to look now (called after a commit that recorded events)."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Deliver one batch; returns how many events it delivered (0 if another relay leads)."""
        if self._db.is_sqlite:
            return await self._deliver_batch()  # the embedded database belongs to one process
        async with self._db.engine.connect() as lock_conn, lock_conn.begin():
            # The lock lives as long as this transaction: a relay that dies releases it.
            leads = await lock_conn.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY}
            )
            if not leads:
                return 0
            return await self._deliver_batch()

    async def drain(self) -> int:
        """Deliver until the outbox is empty; returns the number delivered."""
        total = 0
        while count := await self.relay_once():
            total += count
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; failures are logged and retried with backoff."""
        backoff = self._poll_seconds
        while not stop.is_set():
            self._wake.clear()  # a commit from here on wakes the next wait
            try:
                delivered = await self.relay_once()
                backoff = self._poll_seconds
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                delivered = 0
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if delivered < self._batch_size:
                await self._idle(stop)

    async def prune(self, older_than: timedelta) -> int:
        """Delete delivered rows older than `older_than`; returns how many."""
        cutoff = self._clock.now() - older_than
        async with self._db.engine.begin() as conn:
            result = await conn.execute(
                delete(outbox)
                .where(outbox.c.published_at.is_not(None))
                .where(outbox.c.published_at < cutoff)
            )
        return int(result.rowcount)

    async def _deliver_batch(self) -> int:
        async with self._db.session(read_only=True) as session:
            rows = (
                await session.execute(
                    select(outbox)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self._batch_size)
                )
            ).all()
        if not rows:
            return 0
        envelopes = [
            Envelope(
                id=row.event_id,
                type=row.event_type,
                version=row.version,
                topic=row.topic,
                key=row.key,
                occurred_at=row.occurred_at,
                recorded_at=row.recorded_at,
                payload=row.payload,
            )
            for row in rows
        ]
        await self._publisher.publish(envelopes)
        await self._mark_published([row.seq for row in rows])
        return len(rows)

    async def _mark_published(self, seqs: Sequence[int]) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(outbox).where(outbox.c.seq.in_(seqs)).values(published_at=self._clock.now())
            )

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=self._poll_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
