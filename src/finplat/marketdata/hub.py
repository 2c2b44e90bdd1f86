"""In-process fan-out of market data to stream subscribers.

A tick is encoded once and offered to every subscriber of its (channel, symbol). Quotes are
conflated: a subscriber that has not yet sent the previous quote of a symbol gets only the
newest one, so a slow client sees the current price, never a growing queue. Trades and bars
are not conflated (each one is a fact); a subscriber whose backlog of them passes its limit is
marked as overflowed and its connection is dropped by the stream endpoint.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

CONFLATED = frozenset({"quotes"})
CHANNELS = frozenset({"quotes", "trades", "bars"})
ALL = "*"


class Subscriber:
    """One consumer's mailbox and its subscriptions."""

    def __init__(self, hub: StreamHub, max_backlog: int) -> None:
        self._hub = hub
        self._max_backlog = max_backlog
        self._latest: dict[tuple[str, str], str] = {}
        self._backlog: deque[str] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.conflated = 0  # quotes replaced before they were sent (a measure of slowness)
        self.subscriptions: dict[str, set[str]] = {channel: set() for channel in CHANNELS}

    def offer(self, channel: str, symbol: str, message: str) -> None:
        if self.overflowed or self.closed:
            return
        if channel in CONFLATED:
            if (channel, symbol) in self._latest:
                self.conflated += 1
            self._latest[channel, symbol] = message
        else:
            self._backlog.append(message)
            if len(self._backlog) > self._max_backlog:
                self.overflowed = True
                self._backlog.clear()
                self._latest.clear()
        self._ready.set()

    def pending(self) -> int:
        return len(self._latest) + len(self._backlog)

    def drain(self) -> list[str]:
        """Everything waiting, oldest facts first, then the newest quotes."""
        out = list(self._backlog)
        out.extend(self._latest.values())
        self._backlog.clear()
        self._latest.clear()
        self._ready.clear()
        return out

    async def next_batch(self) -> list[str]:
        """Wait for messages and take them all; empty when overflowed or closed."""
        while not self.pending():
            if self.overflowed or self.closed:
                return []
            await self._ready.wait()
            self._ready.clear()
        return [] if self.overflowed else self.drain()

    def subscribe(self, channel: str, symbols: Iterable[str]) -> None:
        self._hub._subscribe(self, channel, set(symbols))

    def unsubscribe(self, channel: str, symbols: Iterable[str]) -> None:
        self._hub._unsubscribe(self, channel, set(symbols))

    def close(self) -> None:
        self.closed = True
        self._hub._remove(self)
        self._ready.set()


class StreamHub:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], set[Subscriber]] = {}
        self._subscribers: set[Subscriber] = set()
        self.published = 0

    def subscriber(self, *, max_backlog: int = 10_000) -> Subscriber:
        subscriber = Subscriber(self, max_backlog)
        self._subscribers.add(subscriber)
        return subscriber

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, channel: str, symbol: str, message: str) -> int:
        """Offer an encoded message to its subscribers; returns how many."""
        self.published += 1
        exact = self._routes.get((channel, symbol), ())
        wild = self._routes.get((channel, ALL), ())
        for subscriber in exact:
            subscriber.offer(channel, symbol, message)
        for subscriber in wild:
            if subscriber not in exact:
                subscriber.offer(channel, symbol, message)
        return len(exact) + len(wild)

    def wants(self, channel: str, symbol: str) -> bool:
        return bool(self._routes.get((channel, symbol)) or self._routes.get((channel, ALL)))

    def _subscribe(self, subscriber: Subscriber, channel: str, symbols: set[str]) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        for symbol in symbols:
            self._routes.setdefault((channel, symbol), set()).add(subscriber)
        subscriber.subscriptions[channel] |= symbols

    def _unsubscribe(self, subscriber: Subscriber, channel: str, symbols: set[str]) -> None:
        for symbol in symbols:
            routes = self._routes.get((channel, symbol))
            if routes is not None:
                routes.discard(subscriber)
                if not routes:
                    del self._routes[channel, symbol]
        subscriber.subscriptions[channel] -= symbols

    def _remove(self, subscriber: Subscriber) -> None:
        for channel, symbols in subscriber.subscriptions.items():
            self._unsubscribe(subscriber, channel, set(symbols))
        self._subscribers.discard(subscriber)
