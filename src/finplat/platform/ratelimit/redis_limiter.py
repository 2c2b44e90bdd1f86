"""A sliding-window limiter shared by every process, in Redis.

Each key is a sorted set of hit members scored by their time in milliseconds. One Lua script
trims the expired members, counts, and adds the new ones only if they fit, so concurrent hits
from many processes can never exceed the limit, and a denied hit leaves no trace. Time comes
from the injected clock (tests move it; servers are expected to be NTP-synchronised); the
key's TTL is the window, so idle keys disappear on their own.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from finplat.kernel import Clock, uuid7
from finplat.platform.ratelimit.base import (
    Decision,
    allowed,
    check_args,
    denied,
    to_ms,
    window_ms,
)

DEFAULT_PREFIX = "finplat:rl:"

# KEYS[1] the key's sorted set.
# ARGV: now_ms, window_ms, limit, cost, record ("1" to count the hit, "0" to peek), member id.
# Returns {allowed (1/0), hits in the window after this call, ms when enough hits expire}.
SLIDING_WINDOW_LUA = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used + cost <= limit then
  if ARGV[5] == '1' then
    for i = 1, cost do
      redis.call('ZADD', key, now, ARGV[6] .. ':' .. i)
    end
    redis.call('PEXPIRE', key, window)
    used = used + cost
  end
  return {1, used, 0}
end
local rank = used + cost - limit - 1
local entry = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
return {0, used, tonumber(entry[2]) + window}
"""


class RedisRateLimiter:
    """Sliding-window log per key in a Redis sorted set, updated atomically by one script."""

    def __init__(
        self,
        redis: Redis,
        clock: Clock,
        prefix: str = DEFAULT_PREFIX,
        *,
        owns_client: bool = False,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._prefix = prefix
        self._owns_client = owns_client
        self._script = redis.register_script(SLIDING_WINDOW_LUA)

    async def hit(self, key: str, *, limit: int, window: timedelta, cost: int = 1) -> Decision:
        check_args(limit, cost)
        return await self._run(key, limit, window_ms(window), cost, record=True)

    async def peek(self, key: str, *, limit: int, window: timedelta) -> Decision:
        check_args(limit, 1)
        return await self._run(key, limit, window_ms(window), 1, record=False)

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()

    async def _run(self, key: str, limit: int, span: int, cost: int, *, record: bool) -> Decision:
        now = to_ms(self._clock.now())
        ok, used, freed_at = await self._script(
            keys=[self._prefix + key],
            args=[now, span, limit, cost, "1" if record else "0", uuid7().hex],
        )
        if int(ok):
            # a peek reports what is left before its (uncounted) hit
            return allowed(limit, int(used))
        return denied(limit, int(used), int(freed_at), now)
