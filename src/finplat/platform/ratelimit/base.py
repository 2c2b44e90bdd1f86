"""What every rate limiter answers, and the sliding-window arithmetic they share.

A sliding-window log counts the hits whose time lies in `(now - window, now]`: unlike fixed
windows it allows no burst of twice the limit across a window boundary. Times are whole
milliseconds from the injected clock, so tests move time with a `ManualClock` and the memory
and Redis backends agree to the millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Decision:
    """The answer to one hit (or peek).

    `remaining` is how many more hits of cost 1 the window allows now; `retry_after` is how
    long until a denied hit would be allowed (zero when allowed).
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: timedelta


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: timedelta, cost: int = 1) -> Decision:
        """Count `cost` hits against `key` if they fit in the window; a denied hit counts 0."""
        ...

    async def peek(self, key: str, *, limit: int, window: timedelta) -> Decision:
        """What a hit of cost 1 would get, without counting it."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every hit recorded for `key`."""
        ...

    async def aclose(self) -> None:
        """Release connections the limiter owns."""
        ...


def to_ms(moment: datetime) -> int:
    """Whole milliseconds since the Unix epoch (exact: no float rounding)."""
    return (moment - _EPOCH) // _MS


def window_ms(window: timedelta) -> int:
    ms = window // _MS
    if ms < 1:
        raise ValueError("a rate-limit window must be at least one millisecond")
    return ms


def check_args(limit: int, cost: int) -> None:
    """Reject calls that could never be allowed; they are programming errors, not traffic."""
    if limit < 1:
        raise ValueError("a rate limit must allow at least one hit")
    if not 1 <= cost <= limit:
        raise ValueError(f"cost must be between 1 and the limit ({limit}), got {cost}")


def allowed(limit: int, used: int) -> Decision:
    return Decision(True, limit, max(limit - used, 0), timedelta(0))


def denied(limit: int, used: int, freed_at_ms: int, now_ms: int) -> Decision:
    """Denied until `freed_at_ms`, when enough of the recorded hits leave the window."""
    wait = max(freed_at_ms - now_ms, 1)
    return Decision(False, limit, max(limit - used, 0), timedelta(milliseconds=wait))
