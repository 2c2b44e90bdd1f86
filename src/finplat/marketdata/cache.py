"""The latest quote and trade per symbol, and a bounded window of recent ticks.

`memory` serves the embedded process; `redis` is shared by every process of a deployment.
Quotes from a provider that has been declared dead read back with `stale=True`, so a price
from a stopped feed is never shown as live.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from datetime import datetime
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis

from finplat.marketdata.codec import quote_from_dict, quote_to_dict, trade_from_dict, trade_to_dict
from finplat.marketdata.domain import Quote, Tick, Trade

#: Recent ticks kept per symbol and kind (the window the historical quotes/trades endpoints
#: can serve; bars are kept for good in the database).
DEFAULT_WINDOW = 5000


class MarketCache(Protocol):
    async def put(self, tick: Tick) -> None: ...

    async def latest_quote(self, symbol: str) -> Quote | None: ...

    async def latest_trade(self, symbol: str) -> Trade | None: ...

    async def recent_quotes(
        self, symbol: str, start: datetime, end: datetime, limit: int
    ) -> list[Quote]: ...

    async def recent_trades(
        self, symbol: str, start: datetime, end: datetime, limit: int
    ) -> list[Trade]: ...

    async def mark_dead(self, provider: str) -> None:
        """Quotes from `provider` are stale from now on (until it sends again)."""
        ...

    async def aclose(self) -> None: ...


def _stale_if(quote: Quote, dead: set[str] | frozenset[str]) -> Quote:
    return quote.marked_stale() if quote.provider in dead else quote


_T = TypeVar("_T", Quote, Trade)


def _in_window(items: list[_T], start: datetime, end: datetime, limit: int) -> list[_T]:
    return [t for t in items if start <= t.timestamp < end][:limit]


class MemoryMarketCache:
    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self._quotes: dict[str, Quote] = {}
        self._trades: dict[str, Trade] = {}
        self._recent_quotes: dict[str, deque[Quote]] = defaultdict(lambda: deque(maxlen=window))
        self._recent_trades: dict[str, deque[Trade]] = defaultdict(lambda: deque(maxlen=window))
        self._dead: set[str] = set()

    async def put(self, tick: Tick) -> None:
        self._dead.discard(tick.provider)
        if isinstance(tick, Quote):
            self._quotes[tick.symbol] = tick
            self._recent_quotes[tick.symbol].append(tick)
        else:
            self._trades[tick.symbol] = tick
            self._recent_trades[tick.symbol].append(tick)

    async def latest_quote(self, symbol: str) -> Quote | None:
        quote = self._quotes.get(symbol)
        return None if quote is None else _stale_if(quote, self._dead)

    async def latest_trade(self, symbol: str) -> Trade | None:
        return self._trades.get(symbol)

    async def recent_quotes(
        self, symbol: str, start: datetime, end: datetime, limit: int
    ) -> list[Quote]:
        quotes = _in_window(list(self._recent_quotes.get(symbol, ())), start, end, limit)
        return [_stale_if(q, self._dead) for q in quotes]

    async def recent_trades(
        self, symbol: str, start: datetime, end: datetime, limit: int
    ) -> list[Trade]:
        return _in_window(list(self._recent_trades.get(symbol, ())), start, end, limit)

    async def mark_dead(self, provider: str) -> None:
        self._dead.add(provider)

    async def aclose(self) -> None:
        return None


def _score(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


class RedisMarketCache:
    """Latest ticks in two hashes; recent ticks in a sorted set per symbol scored by time in
    microseconds and capped at `window` members; dead providers in a set."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "finplat:md:",
        window: int = DEFAULT_WINDOW,
        owns_client: bool = False,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._window = window
        self._owns_client = owns_client

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    async def put(self, tick: Tick) -> None:
        kind = "q" if isinstance(tick, Quote) else "t"
        data = quote_to_dict(tick) if isinstance(tick, Quote) else trade_to_dict(tick)
        text = json.dumps(data, separators=(",", ":"))
        recent = self._key(kind, tick.symbol)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.srem(self._key("dead"), tick.provider)
            pipe.hset(self._key("latest", kind), tick.symbol, text)
            pipe.zadd(recent, {text: _score(tick.timestamp)})
            pipe.zremrangebyrank(recent, 0, -self._window - 1)
            await pipe.execute()

    async def _dead(self) -> set[str]:
        members = await self._redis.smembers(self._key("dead"))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    async def latest_quote(self, symbol: str) -> Quote | None:
        raw = await self._redis.hget(self._key("latest", "q"), symbol)
        if raw is None:
            return None
        return _stale_if(quote_from_dict(json.loads(raw)), await self._dead())

    async def latest_trade(self, symbol: str) -> Trade | None:
        raw = await self._redis.hget(self._key("latest", "t"), symbol)
        return None if raw is None else trade_from_dict(json.loads(raw))

    async def _range(
        self, kind: str, symbol: str, start: datetime, end: datetime, limit: int
    ) -> list[Any]:
        return await self._redis.zrangebyscore(
            self._key(kind, symbol), _score(start), f"({_score(end)}", start=0, num=limit
        )

    async def recent_quotes(
        self, symbol: str, start: datetime, end: datetime, limit: int
    ) -> list[Quote]:
        dead = await self._dead()
        rows = await self._range("q", symbol, start, end, limit)
        return [_stale_if(quote_from_dict(json.loads(r)), dead) for r in rows]

    async def recent_trades(
        self, symbol: str, start: datetime, end: datetime, limit: int
    ) -> list[Trade]:
        rows = await self._range("t", symbol, start, end, limit)
        return [trade_from_dict(json.loads(r)) for r in rows]

    async def mark_dead(self, provider: str) -> None:
        await self._redis.sadd(self._key("dead"), provider)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


def build_market_cache(backend: str, redis_url: str, *, prefix: str) -> MarketCache:
    if backend == "redis":
        if not redis_url:
            raise ValueError("the redis market data cache needs FINPLAT_REDIS_URL")
        return RedisMarketCache(Redis.from_url(redis_url), prefix=prefix, owns_client=True)
    if backend == "memory":
        return MemoryMarketCache()
    raise ValueError(f"unknown market data cache {backend!r} (expected memory or redis)")
