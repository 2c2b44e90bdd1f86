"""The idempotent consumer on its own: duplicates racing each other apply once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from sqlalchemy import func, select

from finplat.kernel import uuid7
from finplat.platform.bus import Envelope
from finplat.platform.bus.tables import inbox
from finplat.platform.db import UnitOfWorkFactory
from tests.support.bus import Applied, recording_consumer


def credit_envelope() -> Envelope:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    return Envelope(
        id=uuid7(),
        type="testing.wallet_credited",
        version=1,
        topic="testing",
        key="dup",
        occurred_at=now,
        recorded_at=now,
        payload={"wallet": "dup", "n": 0, "amount": "1.00"},
    )


async def test_concurrent_duplicate_deliveries_apply_once(uows: UnitOfWorkFactory) -> None:
    applied = Applied()
    consumer = recording_consumer("racer", uows, applied)
    envelope = credit_envelope()
    results = await asyncio.gather(*(consumer.deliver(envelope) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert len(applied.events) == 1
    async with uows(read_only=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(inbox)) == 1


async def test_another_consumer_applies_the_same_event_independently(
    uows: UnitOfWorkFactory,
) -> None:
    first, second = Applied(), Applied()
    envelope = credit_envelope()
    assert await recording_consumer("first", uows, first).deliver(envelope)
    assert await recording_consumer("second", uows, second).deliver(envelope)
    assert not await recording_consumer("first", uows, first).deliver(envelope)
    assert len(first.events) == len(second.events) == 1


async def test_events_the_consumer_does_not_handle_are_ignored(uows: UnitOfWorkFactory) -> None:
    applied = Applied()
    other = dataclasses.replace(credit_envelope(), type="testing.something_else")
    assert not await recording_consumer("picky", uows, applied).deliver(other)
    assert applied.events == []
