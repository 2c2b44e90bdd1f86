"""In-process fan-out of market data to stream subscribers.

A tick is encoded once and offered to every subscriber of its (channel, symbol). Quotes are
conflated: a subscriber that has not yet sent the previous quote of a symbol gets only the
newest one, so a slow client sees the current price, never a growing queue. Trades and bars
are not conflated (each one is a fact); a subscriber whose backlog of them passes its limit is
marked as overflowed and its connection is dropped by the stream endpoint.

A subscriber waiting on an empty mailbox costs nothing per tick; one with messages pending
costs a dict or deque insert. The writer that empties a mailbox takes everything pending at
once, so under load one wake-up carries many messages (natural batching, no added delay).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

CONFLATED = frozenset({"quotes"})
CHANNELS = frozenset({"quotes", "trades", "bars"})
ALL = "*"

#: (channel, symbol, encoded message): built once per publish and shared by every mailbox.
Entry = tuple[str, str, str]
Key = tuple[str, str]


class Subscriber:
    """One consumer's mailbox and its subscriptions."""

    def __init__(self, hub: StreamHub, max_backlog: int) -> None:
        self._hub = hub
        self._max_backlog = max_backlog
        self._latest: dict[Key, Entry] = {}
        self._backlog: deque[Entry] = deque()
        # named subscriptions that nothing has been offered for yet: `prime` may fill them
        self._fresh: set[Key] = set()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.conflated = 0  # quotes replaced before they were sent (a measure of slowness)
        self.subscriptions: dict[str, set[str]] = {channel: set() for channel in CHANNELS}

    def offer(self, channel: str, symbol: str, message: str) -> None:
        self._take((channel, symbol, message))

    def _take(self, entry: Entry) -> None:
        if self.overflowed or self.closed:
            return
        key = (entry[0], entry[1])
        self._fresh.discard(key)
        if entry[0] in CONFLATED:
            if key in self._latest:
                self.conflated += 1
            self._latest[key] = entry
        else:
            self._backlog.append(entry)
            if len(self._backlog) > self._max_backlog:
                self.overflowed = True
                self._backlog.clear()
                self._latest.clear()
        self._ready.set()

    def prime(self, channel: str, symbol: str, message: str) -> bool:
        """Offer a snapshot (the cached latest quote) unless a live message for the same
        symbol arrived since the subscription, which is at least as new; returns whether it
        was offered. Read the cache after subscribing, so no update falls in between."""
        key = (channel, symbol)
        if key not in self._fresh:
            return False
        self.offer(channel, symbol, message)
        return True

    def pending(self) -> int:
        return len(self._latest) + len(self._backlog)

    def drain_entries(self, limit: int | None = None) -> list[Entry]:
        """Up to `limit` waiting entries: oldest facts first, then the newest quotes."""
        backlog, latest = self._backlog, self._latest
        if limit is None or limit >= len(backlog) + len(latest):
            out = list(backlog)
            out.extend(latest.values())
            backlog.clear()
            latest.clear()
        else:
            out = [backlog.popleft() for _ in range(min(limit, len(backlog)))]
            while len(out) < limit:
                key = next(iter(latest))
                out.append(latest.pop(key))
        if not self.pending():
            self._ready.clear()
        return out

    def drain(self, limit: int | None = None) -> list[str]:
        """The waiting messages (see `drain_entries`)."""
        return [entry[2] for entry in self.drain_entries(limit)]

    async def next_entries(self, limit: int | None = None) -> list[Entry]:
        """Wait for messages and take them (up to `limit`); empty once overflowed or closed."""
        while not self.pending():
            if self.overflowed or self.closed:
                return []
            await self._ready.wait()
            self._ready.clear()
        return [] if self.overflowed or self.closed else self.drain_entries(limit)

    async def next_batch(self, limit: int | None = None) -> list[str]:
        return [entry[2] for entry in await self.next_entries(limit)]

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
        self._routes: dict[Key, set[Subscriber]] = {}
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
        entry = (channel, symbol, message)
        exact = self._routes.get((channel, symbol), ())
        wild = self._routes.get((channel, ALL), ())
        for subscriber in exact:
            subscriber._take(entry)
        reached = len(exact)
        for subscriber in wild:
            if subscriber not in exact:
                subscriber._take(entry)
                reached += 1
        return reached

    def wants(self, channel: str, symbol: str) -> bool:
        return bool(self._routes.get((channel, symbol)) or self._routes.get((channel, ALL)))

    def _subscribe(self, subscriber: Subscriber, channel: str, symbols: set[str]) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        for symbol in symbols:
            self._routes.setdefault((channel, symbol), set()).add(subscriber)
            if symbol != ALL:
                subscriber._fresh.add((channel, symbol))
        subscriber.subscriptions[channel] |= symbols

    def _unsubscribe(self, subscriber: Subscriber, channel: str, symbols: set[str]) -> None:
        for symbol in symbols:
            subscriber._fresh.discard((channel, symbol))
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
