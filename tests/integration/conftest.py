"""Fixtures for integration tests: a wired bus on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from finplat.kernel import ManualClock
from finplat.platform.bus import BusBackend, MemoryBus, OutboxRelay
from finplat.platform.db import Database, UnitOfWorkFactory
from tests.support.bus import Applied, recording_consumer
from tests.support.bus_harness import BusHarness
from tests.support.kafka_bus import kafka_backend_factory


@pytest.fixture(params=["memory", "kafka"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "kafka":
        request.applymarker(pytest.mark.kafka)
    return str(request.param)


@pytest.fixture
def bus_backend_factory(bus_kind: str, request: pytest.FixtureRequest) -> object:
    if bus_kind == "memory":
        return MemoryBus
    return kafka_backend_factory(request.getfixturevalue("kafka_bootstrap"))


@pytest.fixture
async def bus(
    database: Database,
    uows: UnitOfWorkFactory,
    clock: ManualClock,
    bus_backend_factory: object,
) -> AsyncIterator[BusHarness]:
    applied = Applied()
    consumer = recording_consumer("test-consumer", uows, applied)
    backend: BusBackend = bus_backend_factory()  # type: ignore[operator]
    backend.subscribe(consumer)
    await backend.start()
    relay = OutboxRelay(database, backend, clock)
    try:
        yield BusHarness(database, uows, clock, backend, consumer, relay, applied)
    finally:
        await backend.stop()
