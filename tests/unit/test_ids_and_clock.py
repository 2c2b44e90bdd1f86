import uuid
from datetime import UTC, datetime, timedelta

import pytest

from finplat.kernel import ManualClock, SystemClock, uuid7, uuid7_time


def test_uuid7_has_version_and_variant() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_is_strictly_increasing_within_a_process() -> None:
    ids = [uuid7() for _ in range(20_000)]  # far more than 4096 per millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_uuid7_encodes_its_time() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    value = uuid7(int(moment.timestamp() * 1000))
    assert uuid7_time(value) == moment
    assert abs(uuid7_time(uuid7()) - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="UUIDv7"):
        uuid7_time(uuid.uuid4())


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.advance(timedelta(seconds=5)) == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC
