"""UUIDv7 identifiers (RFC 9562): time-ordered, so b-tree indexes stay compact.

Within one process the ids are strictly increasing: inside one millisecond a 12-bit counter in
`rand_a` (seeded randomly each millisecond) orders them; when it runs out, the timestamp is
advanced by one millisecond rather than breaking the order.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_last_ms = -1
_counter = 0
_COUNTER_MAX = 0xFFF
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def uuid7(unix_ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7. `unix_ms` fixes the timestamp (for tests and backfills)."""
    global _last_ms, _counter  # noqa: PLW0603 - process-wide monotonic state
    with _lock:
        if unix_ms is not None:
            ms, counter = unix_ms, secrets.randbits(11)
        else:
            now = time.time_ns() // 1_000_000
            if now > _last_ms:
                # a fresh random start leaves headroom to count up within this millisecond
                _last_ms, _counter = now, secrets.randbits(11)
            elif _counter < _COUNTER_MAX:
                _counter += 1
            else:
                _last_ms, _counter = _last_ms + 1, secrets.randbits(11)
            ms, counter = _last_ms, _counter
    if not 0 <= ms < 1 << 48:
        raise ValueError("timestamp out of UUIDv7 range")
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | secrets.randbits(62)
    return uuid.UUID(int=value)


def new_id() -> uuid.UUID:
    """The id for a new entity."""
    return uuid7()


def uuid7_time(value: uuid.UUID) -> datetime:
    """The creation time encoded in a UUIDv7."""
    if value.version != 7:
        raise ValueError("not a UUIDv7")
    return _EPOCH + timedelta(milliseconds=value.int >> 80)
