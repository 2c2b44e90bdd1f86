"""Sends the mail outbox: at least once, with retries and backoff, never inside a transaction.

Each round claims a batch of due rows in one short write, pushing their `next_attempt_at` a
lease ahead so that another relay (another worker process) does not take them too; then each
message is delivered with no transaction open and marked sent, or its failure recorded with
exponential backoff. A crash after delivery and before the mark sends that message again when
the lease runs out: mail is at-least-once. After `max_attempts` failures a message is left
unsent, with its last error, and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from finplat.kernel import Clock
from finplat.platform.db.engine import Database
from finplat.platform.mail.message import BODY_CONTEXT, Message, TextProtector
from finplat.platform.mail.tables import MAX_ERROR_LENGTH, mail_outbox
from finplat.platform.mail.transport import MailTransport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Claimed:
    seq: int
    attempts: int
    recipient: str
    subject: str
    body_encrypted: str


class MailRelay:
    def __init__(
        self,
        database: Database,
        transport: MailTransport,
        protector: TextProtector,
        clock: Clock,
        *,
        batch_size: int = 50,
        max_attempts: int = 8,
        first_backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(hours=2),
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be positive")
        self._db = database
        self._transport = transport
        self._protector = protector
        self._clock = clock
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._lease = lease
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the relay to look now (e.g. `uow.after_commit(relay.wake)` after enqueueing)."""
        self._wake.set()

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure: doubling from `first_backoff`, capped."""
        return min(self._first_backoff * (1 << min(attempts - 1, 20)), self._max_backoff)

    async def send_due(self) -> int:
        """Deliver one batch of due messages; returns how many were sent."""
        sent, _ = await self._send_batch()
        return sent

    async def run(self, stop: asyncio.Event, poll_interval: timedelta) -> None:
        """Send until `stop` is set; a failing round is logged and retried with backoff."""
        poll_seconds = poll_interval.total_seconds()
        backoff = poll_seconds
        while not stop.is_set():
            self._wake.clear()  # a wake from here on interrupts the next wait
            try:
                _, claimed = await self._send_batch()
                backoff = poll_seconds
            except Exception:
                log.exception("mail relay failed; retrying in %.1fs", backoff)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if claimed < self._batch_size:
                await self._idle(stop, poll_seconds)

    async def _send_batch(self) -> tuple[int, int]:
        batch = await self._claim()
        sent = 0
        for row in batch:
            try:
                message = Message(
                    to=row.recipient,
                    subject=row.subject,
                    text=self._protector.decrypt_text(row.body_encrypted, context=BODY_CONTEXT),
                )
                await self._transport.deliver(message)
            except Exception as exc:
                await self._record_failure(row, exc)
                continue
            await self._mark_sent(row.seq)
            sent += 1
        return sent, len(batch)

    async def _claim(self) -> list[_Claimed]:
        now = self._clock.now()
        due = (
            select(
                mail_outbox.c.seq,
                mail_outbox.c.attempts,
                mail_outbox.c.recipient,
                mail_outbox.c.subject,
                mail_outbox.c.body_encrypted,
            )
            .where(mail_outbox.c.sent_at.is_(None))
            .where(mail_outbox.c.next_attempt_at <= now)
            .where(mail_outbox.c.attempts < self._max_attempts)
            .order_by(mail_outbox.c.next_attempt_at, mail_outbox.c.seq)
            .limit(self._batch_size)
        )
        if not self._db.is_sqlite:
            # Concurrent relays skip each other's rows; SQLite serialises writers instead.
            due = due.with_for_update(skip_locked=True)
        async with self._db.session() as session, session.begin():
            rows = [_Claimed(*row) for row in (await session.execute(due)).all()]
            if rows:
                await session.execute(
                    update(mail_outbox)
                    .where(mail_outbox.c.seq.in_([row.seq for row in rows]))
                    .values(next_attempt_at=now + self._lease)
                )
        return rows

    async def _mark_sent(self, seq: int) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(mail_outbox)
                .where(mail_outbox.c.seq == seq)
                .values(sent_at=self._clock.now(), last_error=None)
            )

    async def _record_failure(self, row: _Claimed, exc: Exception) -> None:
        attempts = row.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        retry_at: datetime = self._clock.now() + self.backoff(attempts)
        if attempts >= self._max_attempts:
            log.error(
                "mail %d to %s failed %d times; giving up: %s",
                row.seq,
                row.recipient,
                attempts,
                error,
            )
        else:
            log.warning(
                "mail %d failed (attempt %d of %d); retrying at %s: %s",
                row.seq,
                attempts,
                self._max_attempts,
                retry_at.isoformat(),
                error,
            )
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(mail_outbox)
                .where(mail_outbox.c.seq == row.seq)
                .values(attempts=attempts, last_error=error, next_attempt_at=retry_at)
            )

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
