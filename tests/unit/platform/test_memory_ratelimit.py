"""The in-process limiter keeps its memory bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from finplat.kernel import ManualClock
from finplat.platform.ratelimit import MemoryRateLimiter

MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))


async def test_the_least_recently_used_key_is_evicted_at_the_cap(clock: ManualClock) -> None:
    limiter = MemoryRateLimiter(clock, max_keys=3)
    for key in ("a", "b", "c"):
        await limiter.hit(key, limit=1, window=MINUTE)
    await limiter.hit("a", limit=1, window=MINUTE)  # denied, but "a" is now the most recent
    await limiter.hit("d", limit=1, window=MINUTE)
    assert len(limiter) == 3
    # "b" was evicted: its hit is forgotten; "a" still counts
    assert (await limiter.peek("b", limit=1, window=MINUTE)).allowed
    assert not (await limiter.peek("a", limit=1, window=MINUTE)).allowed


async def test_keys_whose_hits_expired_are_dropped(clock: ManualClock) -> None:
    limiter = MemoryRateLimiter(clock)
    for n in range(3):
        await limiter.hit(f"idle-{n}", limit=5, window=MINUTE)
    clock.advance(MINUTE)
    await limiter.hit("active", limit=5, window=MINUTE)
    assert len(limiter) == 1
    await limiter.peek("active", limit=5, window=MINUTE)
    clock.advance(MINUTE)
    await limiter.peek("active", limit=5, window=MINUTE)
    assert len(limiter) == 0


async def test_a_log_never_holds_more_than_the_limit(clock: ManualClock) -> None:
    limiter = MemoryRateLimiter(clock)
    for _ in range(1000):
        await limiter.hit("k", limit=3, window=MINUTE)
    assert limiter._logs["k"].times.maxlen is None
    assert len(limiter._logs["k"].times) == 3


def test_the_key_cap_must_be_positive(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="max_keys"):
        MemoryRateLimiter(clock, max_keys=0)
