"""Sliding-window rate limiting, in process (embedded) or shared through Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from finplat.kernel import Clock
from finplat.platform.ratelimit.base import Decision, RateLimiter
from finplat.platform.ratelimit.memory import MemoryRateLimiter
from finplat.platform.ratelimit.redis_limiter import RedisRateLimiter


def build_rate_limiter(
    backend: str, redis_url: str, clock: Clock, *, prefix: str = "finplat:rl:"
) -> RateLimiter:
    """The limiter named by settings: `memory` (one process) or `redis` (shared)."""
    if backend == "memory":
        return MemoryRateLimiter(clock)
    if backend == "redis":
        if not redis_url:
            raise ValueError("the redis rate-limit backend needs FINPLAT_REDIS_URL")
        return RedisRateLimiter(Redis.from_url(redis_url), clock, prefix=prefix, owns_client=True)
    raise ValueError(f"unknown rate-limit backend {backend!r} (expected memory or redis)")


__all__ = [
    "Decision",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "build_rate_limiter",
]
