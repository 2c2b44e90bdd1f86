"""A Kafka bus backend isolated per test: its own topic prefix and consumer groups."""

from __future__ import annotations

from collections.abc import Callable

from finplat.kernel import uuid7
from finplat.platform.bus.kafka import KafkaBus


def kafka_backend_factory(bootstrap: str) -> Callable[[], KafkaBus]:
    unique = uuid7().hex[-12:]

    def make() -> KafkaBus:
        return KafkaBus(
            bootstrap,
            topic_prefix=f"t{unique}",
            group_prefix=f"g{unique}",
            client_id=f"finplat-test-{unique}",
            partitions=3,
            idempotent_producer=False,  # tansu does not implement InitProducerId
            # tansu holds a group join for half the session timeout: keep it short
            session_timeout_ms=2_000,
            heartbeat_interval_ms=500,
        )

    return make
