"""Sliding-window rate limiting, the same behaviour on both backends (Redis for real)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from finplat.kernel import ManualClock
from finplat.platform.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    build_rate_limiter,
)
from tests.integration.platform.conftest import REDIS_URL

MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, clock: ManualClock, redis_prefix: str) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter(clock)
    redis: Redis = request.getfixturevalue("redis_client")
    return RedisRateLimiter(redis, clock, prefix=redis_prefix)


async def test_allows_up_to_the_limit_then_denies_until_the_oldest_hit_expires(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    remaining = []
    for _ in range(3):
        decision = await limiter.hit("k", limit=3, window=MINUTE)
        assert decision.allowed
        assert decision.retry_after == timedelta(0)
        remaining.append(decision.remaining)
        clock.advance(timedelta(seconds=10))
    assert remaining == [2, 1, 0]

    denied = await limiter.hit("k", limit=3, window=MINUTE)  # at +30s; the first hit was at 0
    assert not denied.allowed
    assert denied.limit == 3
    assert denied.remaining == 0
    assert denied.retry_after == timedelta(seconds=30)


async def test_the_window_slides_with_the_clock(limiter: RateLimiter, clock: ManualClock) -> None:
    await limiter.hit("k", limit=2, window=MINUTE)
    clock.advance(timedelta(seconds=10))
    await limiter.hit("k", limit=2, window=MINUTE)
    clock.advance(timedelta(seconds=49, milliseconds=999))
    still = await limiter.hit("k", limit=2, window=MINUTE)
    assert not still.allowed
    assert still.retry_after == timedelta(milliseconds=1)

    clock.advance(timedelta(milliseconds=1))  # the first hit is exactly one window old
    again = await limiter.hit("k", limit=2, window=MINUTE)
    assert again.allowed
    assert again.remaining == 0
    denied = await limiter.hit("k", limit=2, window=MINUTE)
    assert denied.retry_after == timedelta(seconds=10)


async def test_a_denied_hit_is_not_counted(limiter: RateLimiter, clock: ManualClock) -> None:
    assert (await limiter.hit("k", limit=1, window=MINUTE)).allowed
    for _ in range(5):
        clock.advance(timedelta(seconds=10))
        assert not (await limiter.hit("k", limit=1, window=MINUTE)).allowed
    clock.advance(timedelta(seconds=10))  # one window after the only counted hit
    assert (await limiter.hit("k", limit=1, window=MINUTE)).allowed


async def test_a_hit_can_cost_more_than_one(limiter: RateLimiter, clock: ManualClock) -> None:
    first = await limiter.hit("k", limit=10, window=MINUTE, cost=4)
    assert (first.allowed, first.remaining) == (True, 6)
    clock.advance(timedelta(seconds=5))
    assert (await limiter.hit("k", limit=10, window=MINUTE, cost=4)).remaining == 2
    clock.advance(timedelta(seconds=5))

    too_much = await limiter.hit("k", limit=10, window=MINUTE, cost=4)
    assert not too_much.allowed
    assert too_much.remaining == 2
    assert too_much.retry_after == timedelta(seconds=50)  # the first four leave at +60s

    fits = await limiter.hit("k", limit=10, window=MINUTE, cost=2)
    assert (fits.allowed, fits.remaining) == (True, 0)

    clock.advance(timedelta(seconds=50))
    assert (await limiter.hit("k", limit=10, window=MINUTE, cost=4)).allowed


async def test_a_cost_above_the_limit_is_a_programming_error(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="cost"):
        await limiter.hit("k", limit=3, window=MINUTE, cost=4)
    with pytest.raises(ValueError, match="cost"):
        await limiter.hit("k", limit=3, window=MINUTE, cost=0)
    with pytest.raises(ValueError, match="window"):
        await limiter.hit("k", limit=3, window=timedelta(0))


async def test_peek_does_not_count(limiter: RateLimiter, clock: ManualClock) -> None:
    fresh = await limiter.peek("k", limit=2, window=MINUTE)
    assert (fresh.allowed, fresh.remaining) == (True, 2)
    for _ in range(5):
        await limiter.peek("k", limit=2, window=MINUTE)
    assert (await limiter.hit("k", limit=2, window=MINUTE)).remaining == 1
    assert (await limiter.peek("k", limit=2, window=MINUTE)).remaining == 1
    clock.advance(timedelta(seconds=15))
    await limiter.hit("k", limit=2, window=MINUTE)

    full = await limiter.peek("k", limit=2, window=MINUTE)
    assert not full.allowed
    assert full.remaining == 0
    assert full.retry_after == timedelta(seconds=45)


async def test_reset_forgets_a_key(limiter: RateLimiter) -> None:
    await limiter.hit("k", limit=1, window=MINUTE)
    assert not (await limiter.hit("k", limit=1, window=MINUTE)).allowed
    await limiter.reset("k")
    assert (await limiter.hit("k", limit=1, window=MINUTE)).allowed
    await limiter.reset("never-used")


async def test_keys_are_independent(limiter: RateLimiter) -> None:
    await limiter.hit("alice", limit=1, window=MINUTE)
    assert not (await limiter.hit("alice", limit=1, window=MINUTE)).allowed
    assert (await limiter.hit("bob", limit=1, window=MINUTE)).allowed
    await limiter.reset("bob")
    assert not (await limiter.peek("alice", limit=1, window=MINUTE)).allowed


async def test_concurrent_hits_never_exceed_the_limit(limiter: RateLimiter) -> None:
    decisions = await asyncio.gather(
        *(limiter.hit("burst", limit=10, window=MINUTE) for _ in range(50))
    )
    granted = [d for d in decisions if d.allowed]
    assert len(granted) == 10
    assert sorted(d.remaining for d in granted) == list(range(10))
    assert all(d.retry_after > timedelta(0) for d in decisions if not d.allowed)


async def test_redis_keys_carry_the_prefix_and_expire_with_the_window(
    redis_client: Redis, redis_prefix: str, clock: ManualClock
) -> None:
    limiter = RedisRateLimiter(redis_client, clock, prefix=redis_prefix)
    await limiter.hit("user:1", limit=5, window=MINUTE, cost=3)
    key = f"{redis_prefix}user:1"
    assert await redis_client.zcard(key) == 3
    assert 0 < await redis_client.pttl(key) <= 60_000
    await limiter.hit("user:1", limit=1, window=MINUTE)  # denied: nothing added
    assert await redis_client.zcard(key) == 3


async def test_the_factory_builds_each_backend(clock: ManualClock, redis_prefix: str) -> None:
    assert isinstance(build_rate_limiter("memory", "", clock), MemoryRateLimiter)
    shared = build_rate_limiter("redis", REDIS_URL, clock)
    assert isinstance(shared, RedisRateLimiter)
    try:
        key = f"{redis_prefix}factory"
        assert (await shared.hit(key, limit=1, window=MINUTE)).allowed
        assert not (await shared.hit(key, limit=1, window=MINUTE)).allowed
        await shared.reset(key)
    finally:
        await shared.aclose()
    with pytest.raises(ValueError, match="REDIS_URL"):
        build_rate_limiter("redis", "", clock)
    with pytest.raises(ValueError, match="unknown"):
        build_rate_limiter("carrier-pigeon", "", clock)
