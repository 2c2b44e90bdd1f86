"""The outbox bus's guarantees, checked on each database and each bus backend.

- an event is delivered if and only if its transaction commits;
- a relay that dies mid-batch redelivers, and the consumer applies each event once;
- events with the same key arrive in the order they were recorded;
- a failing handler is retried, then dead-lettered without blocking later events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from finplat.platform.bus import Envelope, OutboxRelay, Publisher
from finplat.platform.bus.outbox import RELAY_LOCK_KEY
from finplat.platform.bus.tables import dead_letters, inbox, outbox
from tests.support.bus import publish_credits
from tests.support.bus_harness import BusHarness
from tests.support.events import WalletCredited


class DiesMidBatch:
    """A publisher that hands the first `survive` envelopes on, then dies."""

    def __init__(self, inner: Publisher, survive: int) -> None:
        self._inner = inner
        self._survive = survive

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        await self._inner.publish(envelopes[: self._survive])
        raise ConnectionError("relay process killed")


async def test_delivered_if_and_only_if_committed(bus: BusHarness) -> None:
    async with bus.uows() as uow:
        await uow.publish(WalletCredited(wallet="a", n=0, amount=Decimal("1.00")))
    with pytest.raises(RuntimeError):
        async with bus.uows() as uow:
            await uow.publish(WalletCredited(wallet="a", n=1, amount=Decimal("1.00")))
            raise RuntimeError("use case failed after publishing")

    await bus.relay.drain()
    await bus.wait_applied(1)
    assert bus.applied.by_key() == {"a": [0]}
    await bus.assert_nothing_more_arrives()


async def test_relay_killed_mid_batch_redelivers_and_consumer_applies_once(
    bus: BusHarness,
) -> None:
    await publish_credits(bus.uows, ["k1", "k2"], per_key=5)
    dying = OutboxRelay(bus.database, DiesMidBatch(bus.backend, survive=4), bus.clock)
    with pytest.raises(ConnectionError):
        await dying.relay_once()
    assert await bus.undelivered() == 10  # nothing was marked delivered

    assert await bus.relay.drain() == 10
    await bus.wait_applied(10)
    await bus.assert_nothing_more_arrives()
    assert sorted(bus.applied.ids()) == sorted(set(bus.applied.ids()))
    assert bus.applied.by_key() == {"k1": [0, 1, 2, 3, 4], "k2": [0, 1, 2, 3, 4]}
    assert await bus.count(inbox) == 10


async def test_per_key_order_holds_across_batches(bus: BusHarness) -> None:
    keys = ["acct-1", "acct-2", "acct-3"]
    await publish_credits(bus.uows, keys, per_key=12)
    relay = OutboxRelay(bus.database, bus.backend, bus.clock, batch_size=5)
    assert await relay.drain() == 36
    await bus.wait_applied(36)
    assert bus.applied.by_key() == {key: list(range(12)) for key in keys}


async def test_a_flaky_handler_is_retried_and_a_poisoned_event_is_parked(
    bus: BusHarness,
) -> None:
    bus.applied.failures_left = {"1": 1, "2": 99}  # n=1 fails once; n=2 always fails
    await publish_credits(bus.uows, ["w"], per_key=4)
    await bus.relay.drain()
    await bus.wait_applied(3)
    await bus.assert_nothing_more_arrives()
    assert bus.applied.by_key() == {"w": [0, 1, 3]}
    async with bus.uows(read_only=True) as uow:
        parked = (await uow.session.execute(select(dead_letters))).one()
    assert parked.consumer == bus.consumer_name
    assert parked.envelope["payload"]["n"] == 2
    assert "injected" in parked.error


async def test_delivered_rows_can_be_pruned(bus: BusHarness) -> None:
    await publish_credits(bus.uows, ["p"], per_key=3)
    await bus.relay.drain()
    bus.clock.advance(timedelta(days=8))
    assert await bus.relay.prune(timedelta(days=7)) == 3
    assert await bus.count(outbox) == 0


async def test_the_relay_wakes_on_commit(bus: BusHarness) -> None:
    stop = asyncio.Event()
    relay = OutboxRelay(bus.database, bus.backend, bus.clock)
    bus.uows.on_publish_committed(relay.wake)
    task = asyncio.create_task(relay.run(stop))
    try:
        await publish_credits(bus.uows, ["live"], per_key=3)
        await bus.wait_applied(3)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert bus.applied.by_key() == {"live": [0, 1, 2]}
    assert await bus.undelivered() == 0


async def test_only_one_relay_leads_on_postgresql(bus: BusHarness) -> None:
    if bus.database.is_sqlite:
        pytest.skip("the embedded SQLite database is owned by one process; there is no election")
    await publish_credits(bus.uows, ["lead"], per_key=2)
    async with bus.database.engine.connect() as other_relay, other_relay.begin():
        await other_relay.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY}
        )
        assert await bus.relay.relay_once() == 0  # another relay leads: this one waits
    assert await bus.relay.relay_once() == 2
    await bus.wait_applied(2)
