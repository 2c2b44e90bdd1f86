"""An idempotent consumer: each event is applied at most once per consumer, via the inbox.

The handler runs in a unit of work together with the inbox insert, so the consumer's state
change and the record "event X applied" commit together. A redelivered event finds its inbox
row and is skipped. A handler that keeps failing is retried with backoff, then parked in the
dead-letter table so that one poisoned event does not stop every later one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from finplat.platform.bus.envelope import Envelope
from finplat.platform.bus.tables import dead_letters, inbox
from finplat.platform.db.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A named consumer's interest: a handler per event type."""

    name: str
    handlers: dict[str, Handler] = field(default_factory=dict)

    @property
    def topics(self) -> set[str]:
        return {event_type.split(".", 1)[0] for event_type in self.handlers}


class Consumer:
    def __init__(
        self,
        subscription: Subscription,
        uows: UnitOfWorkFactory,
        *,
        max_attempts: int = 5,
        first_backoff_seconds: float = 0.05,
    ) -> None:
        self.subscription = subscription
        self._uows = uows
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff_seconds

    @property
    def name(self) -> str:
        return self.subscription.name

    @property
    def topics(self) -> set[str]:
        return self.subscription.topics

    async def deliver_all(self, envelopes: Iterable[Envelope]) -> None:
        for envelope in envelopes:
            await self.deliver(envelope)

    async def deliver(self, envelope: Envelope) -> bool:
        """Apply `envelope` once; returns False when it was a duplicate or not of interest."""
        handler = self.subscription.handlers.get(envelope.type)
        if handler is None:
            return False
        delay = self._first_backoff
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await self._apply(handler, envelope)
            except Exception as exc:
                if attempt == self._max_attempts:
                    await self._park(envelope, exc, attempt)
                    return False
                log.warning(
                    "consumer %s failed on %s (attempt %d): %r",
                    self.name,
                    envelope.id,
                    attempt,
                    exc,
                )
                await asyncio.sleep(delay)
                delay *= 2
        return False  # pragma: no cover - the loop always returns

    async def _apply(self, handler: Handler, envelope: Envelope) -> bool:
        try:
            async with self._uows() as uow:
                seen = await uow.session.scalar(
                    select(inbox.c.event_id)
                    .where(inbox.c.consumer == self.name)
                    .where(inbox.c.event_id == envelope.id)
                )
                if seen is not None:
                    return False
                await uow.session.execute(
                    insert(inbox).values(
                        consumer=self.name, event_id=envelope.id, processed_at=uow.clock.now()
                    )
                )
                await handler(uow, envelope)
        except IntegrityError:
            # another delivery of the same event committed first; ours rolled back whole
            if await self._already_applied(envelope):
                return False
            raise
        return True

    async def _already_applied(self, envelope: Envelope) -> bool:
        async with self._uows(read_only=True) as uow:
            found = await uow.session.scalar(
                select(inbox.c.event_id)
                .where(inbox.c.consumer == self.name)
                .where(inbox.c.event_id == envelope.id)
            )
        return found is not None

    async def _park(self, envelope: Envelope, exc: Exception, attempts: int) -> None:
        log.error(
            "consumer %s gave up on event %s (%s) after %d attempts: %r",
            self.name,
            envelope.id,
            envelope.type,
            attempts,
            exc,
        )
        async with self._uows() as uow:
            await uow.session.execute(
                insert(dead_letters).values(
                    consumer=self.name,
                    event_id=envelope.id,
                    event_type=envelope.type,
                    envelope=envelope.to_dict(),
                    error=repr(exc)[:4000],
                    attempts=attempts,
                    failed_at=uow.clock.now(),
                )
            )
            await uow.session.execute(
                insert(inbox).values(
                    consumer=self.name, event_id=envelope.id, processed_at=uow.clock.now()
                )
            )
