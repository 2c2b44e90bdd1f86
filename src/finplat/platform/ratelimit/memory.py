"""An in-process sliding-window limiter for the embedded (single-process) deployment.

Memory is bounded: a key's log holds at most `limit` timestamps (denied hits are not
recorded), expired timestamps are dropped on each visit, idle keys are swept, and at most
`max_keys` keys are kept, evicting the least recently used. Evicting a key forgets its hits,
so `max_keys` should exceed the number of keys active within one window.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import timedelta

from finplat.kernel import Clock
from finplat.platform.ratelimit.base import (
    Decision,
    allowed,
    check_args,
    denied,
    to_ms,
    window_ms,
)

DEFAULT_MAX_KEYS = 100_000
_SWEEP_PER_CALL = 4


@dataclass
class _Log:
    window_ms: int
    times: deque[int] = field(default_factory=deque)

    def expire(self, now_ms: int) -> None:
        horizon = now_ms - self.window_ms
        while self.times and self.times[0] <= horizon:
            self.times.popleft()


class MemoryRateLimiter:
    """Sliding-window log per key in a dict; not shared between processes.

    The critical section has no `await`, so each call is atomic on the event loop; the lock
    also keeps it correct when called from worker threads.
    """

    def __init__(self, clock: Clock, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self._clock = clock
        self._max_keys = max_keys
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys are held (for tests and metrics)."""
        return len(self._logs)

    async def hit(self, key: str, *, limit: int, window: timedelta, cost: int = 1) -> Decision:
        check_args(limit, cost)
        span = window_ms(window)
        with self._lock:
            now = to_ms(self._clock.now())
            log = self._visit(key, span, now)
            used = len(log.times)
            if used + cost > limit:
                decision = denied(limit, used, log.times[used + cost - limit - 1] + span, now)
            else:
                log.times.extend([now] * cost)
                decision = allowed(limit, used + cost)
            self._sweep(now)
            return decision

    async def peek(self, key: str, *, limit: int, window: timedelta) -> Decision:
        check_args(limit, 1)
        span = window_ms(window)
        with self._lock:
            now = to_ms(self._clock.now())
            log = self._logs.get(key)
            if log is None:
                return allowed(limit, 0)
            log.window_ms = span
            log.expire(now)
            used = len(log.times)
            self._forget_if_empty(key, log)
            if used < limit:
                return allowed(limit, used)
            return denied(limit, used, log.times[used - limit] + span, now)

    async def reset(self, key: str) -> None:
        with self._lock:
            self._logs.pop(key, None)

    async def aclose(self) -> None:
        return None

    def _visit(self, key: str, span: int, now: int) -> _Log:
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log(span)
            while len(self._logs) > self._max_keys:
                self._logs.popitem(last=False)
        else:
            self._logs.move_to_end(key)
            log.window_ms = span
            log.expire(now)
        return log

    def _forget_if_empty(self, key: str, log: _Log) -> None:
        if not log.times:
            self._logs.pop(key, None)

    def _sweep(self, now: int) -> None:
        """Drop a few idle keys from the least recently used end whose hits all expired."""
        for _ in range(_SWEEP_PER_CALL):
            if not self._logs:
                return
            key, log = next(iter(self._logs.items()))
            log.expire(now)
            if log.times:
                return
            del self._logs[key]
