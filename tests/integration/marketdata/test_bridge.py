"""The Redis tick bridge against the real Redis on 127.0.0.1:6379, one key prefix per test:
a worker's hub forwarded through Redis into an API process's hub."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from finplat.marketdata.bridge import RedisTickBridge
from finplat.marketdata.hub import StreamHub, Subscriber

REDIS_URL = "redis://127.0.0.1:6379/0"
WAIT = 5.0  # seconds; a ceiling against hangs, never a timing assertion


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"finplat-test:{uuid.uuid4().hex}:stream:"


@dataclass
class Running:
    bridge: RedisTickBridge
    hub: StreamHub
    stop: asyncio.Event


@asynccontextmanager
async def receiving(redis: Redis, prefix: str) -> AsyncIterator[Running]:
    """An API-side bridge republishing into its own hub, subscribed before it yields."""
    bridge, hub, stop = RedisTickBridge(redis, prefix), StreamHub(), asyncio.Event()
    task = asyncio.create_task(bridge.run(hub, stop))
    try:
        await asyncio.wait_for(bridge.listening.wait(), WAIT)
        yield Running(bridge, hub, stop)
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


async def collect(listener: Subscriber, count: int) -> list[str]:
    got: list[str] = []
    while len(got) < count:
        got.extend(await asyncio.wait_for(listener.next_batch(), WAIT))
    return got


async def test_published_messages_reach_the_subscribers_of_another_hub(
    redis: Redis, prefix: str
) -> None:
    async with receiving(redis, prefix) as api:
        listener = api.hub.subscriber()
        listener.subscribe("trades", ["AAPL"])
        listener.subscribe("bars", ["*"])
        sender = RedisTickBridge(redis, prefix)
        sender.publish("trades", "AAPL", '{"type":"trade","n":1}')
        sender.publish("trades", "MSFT", '{"type":"trade","n":2}')  # nobody wants it
        sender.publish("bars", "MSFT", '{"type":"bar","n":3}')
        sender.publish("trades", "AAPL", '{"type":"trade","n":4}')
        assert await sender.flush() == 4
        assert await collect(listener, 3) == [
            '{"type":"trade","n":1}',
            '{"type":"bar","n":3}',
            '{"type":"trade","n":4}',
        ]
        assert (sender.stats.published, sender.stats.round_trips) == (4, 1)
        # the unwanted MSFT trade came before the last one, in publishing order
        assert (api.bridge.stats.received, api.bridge.stats.malformed) == (4, 0)


async def test_a_busy_feed_sends_one_round_trip_per_batch(redis: Redis, prefix: str) -> None:
    sender = RedisTickBridge(redis, prefix, max_batch=1000)
    for n in range(2500):
        sender.publish("quotes", "AAPL", str(n))
    assert await sender.flush() == 2500
    assert (sender.stats.published, sender.stats.round_trips) == (2500, 3)
    assert await sender.flush() == 0
    assert sender.stats.round_trips == 3


async def test_a_worker_hub_is_forwarded_to_an_api_hub(redis: Redis, prefix: str) -> None:
    worker_hub, stop = StreamHub(), asyncio.Event()
    forwarder = RedisTickBridge(redis, prefix)
    async with receiving(redis, prefix) as api:
        listener = api.hub.subscriber()
        listener.subscribe("trades", ["*"])
        listener.subscribe("quotes", ["AAPL"])
        forwarding = asyncio.create_task(forwarder.forward(worker_hub, stop))
        await asyncio.sleep(0)
        # the forwarder is a wildcard subscriber: the feed publishes to it like to a client
        assert worker_hub.wants("trades", "TSLA")
        assert worker_hub.wants("bars", "AAPL")
        for n in range(50):
            worker_hub.publish("trades", "AAPL" if n % 2 else "MSFT", f"trade-{n}")
        worker_hub.publish("quotes", "AAPL", "quote-1")
        assert await collect(listener, 51) == [f"trade-{n}" for n in range(50)] + ["quote-1"]
        stop.set()
        await asyncio.wait_for(forwarding, WAIT)
    assert worker_hub.subscriber_count == 0
    assert forwarder.stats.published == 51
    assert forwarder.stats.round_trips < 51  # what waited went together


async def test_payloads_that_are_not_symbol_and_message_are_ignored(
    redis: Redis, prefix: str
) -> None:
    async with receiving(redis, prefix) as api:
        listener = api.hub.subscriber()
        listener.subscribe("trades", ["*"])
        await redis.publish(f"{prefix}trades", "no newline")
        await redis.publish(f"{prefix}trades", "\nno symbol")
        await redis.publish(f"{prefix}trades", "AAPL\nfine")
        assert await collect(listener, 1) == ["fine"]
        assert (api.bridge.stats.malformed, api.bridge.stats.received) == (2, 1)


async def test_stopping_ends_the_subscription(redis: Redis, prefix: str) -> None:
    async with receiving(redis, prefix) as api:
        numsub = await redis.pubsub_numsub(f"{prefix}quotes")
        assert numsub[0][1] == 1
    assert not api.bridge.listening.is_set()


async def test_a_lost_redis_connection_is_resubscribed(redis: Redis, prefix: str) -> None:
    name = f"bridge-{uuid.uuid4().hex[:12]}"
    own = Redis.from_url(REDIS_URL, client_name=name)
    bridge = RedisTickBridge(own, prefix, retry_delay=timedelta(0))
    hub, stop = StreamHub(), asyncio.Event()
    listener = hub.subscriber()
    listener.subscribe("trades", ["AAPL"])
    task = asyncio.create_task(bridge.run(hub, stop))
    try:
        await asyncio.wait_for(bridge.listening.wait(), WAIT)
        bridge.listening.clear()
        subscribed = [c for c in await redis.client_list(_type="pubsub") if c["name"] == name]
        assert len(subscribed) == 1
        await redis.client_kill_filter(_id=subscribed[0]["id"])
        await asyncio.wait_for(bridge.listening.wait(), WAIT)
        assert bridge.stats.reconnects == 1
        await redis.publish(f"{prefix}trades", "AAPL\nafter")
        assert await collect(listener, 1) == ["after"]
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)
        await own.aclose()
