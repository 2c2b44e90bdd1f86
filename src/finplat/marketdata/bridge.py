"""Ticks between processes over Redis pub/sub (DESIGN §3: ticks never go through the outbox).

In a split deployment the feed runs in the worker and WebSocket clients connect to the API
processes. The worker's bridge `forward`s everything its hub sees: it subscribes to every
symbol of every channel like any stream client, so the feed publishes to it without knowing
about Redis, and sends what waited meanwhile as one pipeline of PUBLISH commands, one Redis
channel per stream channel, payload `symbol + "\\n" + message` (the message is the stream's
encoded JSON, so no process encodes a tick twice). Each API process's bridge `run`s a
subscription to those channels and republishes into its own hub, which fans out to its
clients. Run one side per process: in `--role all` the hub is already shared.

Pub/sub is fire-and-forget: a message published while an API process is reconnecting is
lost to it. Quotes recover with the next tick (and the Redis cache holds the latest); a
missed trade or bar is not replayed (clients needing every trade read them over HTTP).
Quotes conflate on the worker side as they do for a slow WebSocket client; if trades back up
past `max_backlog` while Redis is unreachable they are dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from finplat.marketdata.hub import ALL, CHANNELS, Entry, StreamHub, Subscriber

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "finplat:md:stream:"


@dataclass
class BridgeStats:
    published: int = 0  # messages handed to Redis
    round_trips: int = 0  # pipelines executed
    received: int = 0  # messages republished into the local hub
    malformed: int = 0  # payloads that were not `symbol\nmessage` on a known channel
    dropped: int = 0  # messages lost to a failed publish
    overflows: int = 0  # times the backlog overflowed and the waiting trades and bars were lost
    reconnects: int = 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisTickBridge:
    def __init__(
        self,
        client: Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        max_batch: int = 1000,
        max_backlog: int = 100_000,
        retry_delay: timedelta = timedelta(seconds=1),
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._max_batch = max_batch
        self._max_backlog = max_backlog
        self._retry_delay = retry_delay
        self._buffer: list[tuple[str, str]] = []
        self._channels = {self.channel_name(channel): channel for channel in CHANNELS}
        self.stats = BridgeStats()
        #: set while `run` holds a subscription (for readiness checks and tests)
        self.listening = asyncio.Event()

    def channel_name(self, channel: str) -> str:
        return self._prefix + channel

    # -- publishing side --------------------------------------------------------------------

    def publish(self, channel: str, symbol: str, message: str) -> None:
        """Queue a message for the next `flush`; nothing is sent until then."""
        self._buffer.append((self.channel_name(channel), f"{symbol}\n{message}"))

    async def flush(self) -> int:
        """Send everything queued, `max_batch` commands per round trip; returns how many.
        On a Redis error the queue is dropped (counted) and the error raised."""
        buffer, self._buffer = self._buffer, []
        sent = 0
        try:
            for start in range(0, len(buffer), self._max_batch):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for name, payload in buffer[start : start + self._max_batch]:
                        pipe.publish(name, payload)
                    await pipe.execute()
                self.stats.round_trips += 1
                sent = min(len(buffer), start + self._max_batch)
        except (RedisError, OSError):
            self.stats.dropped += len(buffer) - sent
            raise
        finally:
            self.stats.published += sent
        return sent

    def _listen_to(self, hub: StreamHub) -> Subscriber:
        subscriber = hub.subscriber(max_backlog=self._max_backlog)
        for channel in CHANNELS:
            subscriber.subscribe(channel, [ALL])
        return subscriber

    async def forward(self, hub: StreamHub, stop: asyncio.Event) -> None:
        """Publish everything `hub` sees until `stop`."""
        subscriber = self._listen_to(hub)

        def close() -> None:
            subscriber.close()  # the current one: a closure reads the variable when called

        watcher = asyncio.create_task(self._call_on(stop, close))
        try:
            while not stop.is_set():
                entries = await subscriber.next_entries(self._max_batch)
                if subscriber.overflowed:
                    log.error("the tick bridge fell behind; waiting trades and bars were lost")
                    self.stats.overflows += 1
                    subscriber.close()
                    subscriber = self._listen_to(hub)
                elif entries:
                    await self._send(entries, stop)
        finally:
            watcher.cancel()
            subscriber.close()

    async def _send(self, entries: list[Entry], stop: asyncio.Event) -> None:
        for channel, symbol, message in entries:
            self.publish(channel, symbol, message)
        try:
            await self.flush()
        except (RedisError, OSError) as error:
            log.warning("publishing ticks to Redis failed: %s", error)
            await self._pause(stop)

    # -- subscribing side -------------------------------------------------------------------

    async def run(self, hub: StreamHub, stop: asyncio.Event) -> None:
        """Republish what the other processes publish into `hub` until `stop`; reconnects."""
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                listener = asyncio.create_task(self._listen(hub))
                try:
                    await asyncio.wait({listener, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    listener.cancel()
                    outcome = await asyncio.gather(listener, return_exceptions=True)
                    self.listening.clear()
                if isinstance(outcome[0], Exception):
                    log.warning("the Redis tick subscription failed: %s", outcome[0])
                if not stop.is_set():
                    self.stats.reconnects += 1
                    await self._pause(stop)
        finally:
            stopping.cancel()

    async def _listen(self, hub: StreamHub) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(*self._channels)
            confirmed = 0
            async for message in pubsub.listen():
                kind = message.get("type")
                if kind == "message":
                    self._deliver(hub, message)
                elif kind == "subscribe":
                    confirmed += 1
                    if confirmed == len(self._channels):  # Redis now routes every channel here
                        self.listening.set()
        finally:
            with suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py

    def _deliver(self, hub: StreamHub, message: dict[str, Any]) -> None:
        channel = self._channels.get(_text(message["channel"]))
        symbol, newline, body = _text(message["data"]).partition("\n")
        if channel is None or not newline or not symbol:
            self.stats.malformed += 1
            return
        self.stats.received += 1
        if hub.wants(channel, symbol):
            hub.publish(channel, symbol, body)

    # -- helpers ----------------------------------------------------------------------------

    async def _pause(self, stop: asyncio.Event) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self._retry_delay.total_seconds())

    @staticmethod
    async def _call_on(stop: asyncio.Event, action: Callable[[], None]) -> None:
        await stop.wait()
        action()
