"""The Kafka backend (production): a topic per domain, the aggregate key as message key.

Publishing waits for every message to be acknowledged by all in-sync replicas. Each consumer
is its own consumer group; it commits a partition's offset only after the events before it
were applied, so a consumer that dies re-reads from the last commit and the inbox skips what
it had already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from finplat.platform.bus.consumer import Consumer
from finplat.platform.bus.envelope import Envelope, MalformedEnvelope

log = logging.getLogger(__name__)


class KafkaBus:
    name = "kafka"

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic_prefix: str = "finplat",
        group_prefix: str = "finplat",
        client_id: str = "finplat",
        partitions: int = 6,
        replication_factor: int = 1,
        idempotent_producer: bool = True,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._topic_prefix = topic_prefix
        self._group_prefix = group_prefix
        self._client_id = client_id
        self._partitions = partitions
        self._replication = replication_factor
        self._idempotent = idempotent_producer
        self._session_timeout_ms = session_timeout_ms
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._consumers: list[Consumer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._producer: AIOKafkaProducer | None = None
        self._known_topics: set[str] = set()
        self._stopping = asyncio.Event()

    def topic_for(self, domain: str) -> str:
        return f"{self._topic_prefix}.{domain}"

    def subscribe(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)

    async def start(self) -> None:
        self._stopping.clear()
        await self._ensure_topics(
            {self.topic_for(t) for consumer in self._consumers for t in consumer.topics}
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=self._idempotent,
            linger_ms=2,
        )
        await producer.start()
        self._producer = producer
        for consumer in self._consumers:
            self._tasks.append(
                asyncio.create_task(self._consume_forever(consumer), name=f"kafka:{consumer.name}")
            )

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        try:
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            self._tasks.clear()
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def healthy(self) -> bool:
        if self._producer is None:
            return False
        try:
            return bool(
                await asyncio.wait_for(self._producer.client.force_metadata_update(), timeout=5)
            )
        except Exception:
            return False

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if self._producer is None:
            raise RuntimeError("the Kafka bus is not started")
        await self._ensure_topics({self.topic_for(e.topic) for e in envelopes})
        acks = [
            await self._producer.send(
                self.topic_for(envelope.topic),
                value=envelope.to_bytes(),
                key=envelope.key.encode(),
                headers=[("event_type", envelope.type.encode())],
            )
            for envelope in envelopes
        ]
        await asyncio.gather(*acks)

    async def _ensure_topics(self, topics: set[str]) -> None:
        missing = topics - self._known_topics
        if not missing:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=self._client_id)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            to_create = [
                NewTopic(name, self._partitions, self._replication)
                for name in sorted(missing - existing)
            ]
            if to_create:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(to_create)
        finally:
            await admin.close()
        self._known_topics |= missing

    async def _consume_forever(self, consumer: Consumer) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "kafka consumer %s failed; restarting in %.1fs", consumer.name, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _consume(self, consumer: Consumer) -> None:
        kafka_consumer = AIOKafkaConsumer(
            *sorted(self.topic_for(t) for t in consumer.topics),
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=f"{self._group_prefix}.{consumer.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=self._heartbeat_interval_ms,
        )
        await kafka_consumer.start()
        try:
            while True:
                batches = await kafka_consumer.getmany(timeout_ms=500, max_records=500)
                for partition, messages in batches.items():
                    for message in messages:
                        await self._apply(consumer, message.value, partition, message.offset)
                    await kafka_consumer.commit({partition: messages[-1].offset + 1})
        finally:
            await kafka_consumer.stop()

    async def _apply(
        self, consumer: Consumer, raw: bytes | None, partition: TopicPartition, offset: int
    ) -> None:
        try:
            envelope = Envelope.from_bytes(raw or b"")
        except MalformedEnvelope as exc:
            log.error("skipping malformed message at %s@%d: %s", partition, offset, exc)
            return
        await consumer.deliver(envelope)
