"""A Kafka consumer that dies after applying events but before committing its offsets."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from finplat.kernel import ManualClock
from finplat.platform.bus import Consumer, OutboxRelay
from finplat.platform.bus.kafka import KafkaBus
from finplat.platform.db import Database, UnitOfWorkFactory
from tests.support.bus import Applied, publish_credits, recording_consumer
from tests.support.bus_harness import BusHarness
from tests.support.kafka_bus import kafka_backend_factory

pytestmark = pytest.mark.kafka


class ProcessDied(BaseException):
    """Not an Exception: nothing in the consumer may catch it, as with a real crash."""


class DiesAfterApplying(KafkaBus):
    def __init__(self, *args: object, die_after: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._left = die_after
        self.died = asyncio.Event()

    async def _apply(
        self, consumer: Consumer, raw: bytes | None, partition: TopicPartition, offset: int
    ) -> None:
        await super()._apply(consumer, raw, partition, offset)
        self._left -= 1
        if self._left == 0:
            self.died.set()
            raise ProcessDied


async def test_a_consumer_killed_before_committing_applies_each_event_once(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, kafka_bootstrap: str
) -> None:
    make = kafka_backend_factory(kafka_bootstrap)
    template = make()
    applied = Applied()
    consumer = recording_consumer("crashy", uows, applied)

    dying = DiesAfterApplying(
        kafka_bootstrap,
        topic_prefix=template._topic_prefix,
        group_prefix=template._group_prefix,
        partitions=1,
        idempotent_producer=False,
        session_timeout_ms=2_000,
        heartbeat_interval_ms=500,
        die_after=3,
    )
    dying.subscribe(consumer)
    await dying.start()
    await publish_credits(uows, ["only-key"], per_key=6)
    await OutboxRelay(database, dying, clock).drain()
    await asyncio.wait_for(dying.died.wait(), timeout=30)
    # let the dying task unwind (its consumer closes its connection) before stopping the bus
    await asyncio.wait(dying._tasks, timeout=30)
    with pytest.raises(ProcessDied):
        await dying.stop()
    assert applied.by_key() == {"only-key": [0, 1, 2]}

    revived = KafkaBus(
        kafka_bootstrap,
        topic_prefix=template._topic_prefix,
        group_prefix=template._group_prefix,
        partitions=1,
        idempotent_producer=False,
        session_timeout_ms=2_000,
        heartbeat_interval_ms=500,
    )
    revived.subscribe(consumer)
    await revived.start()
    try:
        harness = BusHarness(
            database, uows, clock, revived, consumer, OutboxRelay(database, revived, clock), applied
        )
        await harness.wait_applied(6)
        await harness.assert_nothing_more_arrives()
    finally:
        await revived.stop()
    assert applied.by_key() == {"only-key": [0, 1, 2, 3, 4, 5]}
