"""The in-process backend (embedded default): publishing runs each subscribed consumer.

`publish` returns after every consumer has applied (or dead-lettered) the batch, so the relay
marks the batch delivered only once it has been applied: nothing is lost if the process dies.
"""

from __future__ import annotations

from collections.abc import Sequence

from finplat.platform.bus.consumer import Consumer
from finplat.platform.bus.envelope import Envelope


class MemoryBus:
    name = "memory"

    def __init__(self) -> None:
        self._consumers: list[Consumer] = []

    def subscribe(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def healthy(self) -> bool:
        return True

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        for consumer in self._consumers:
            await consumer.deliver_all(e for e in envelopes if e.topic in consumer.topics)
