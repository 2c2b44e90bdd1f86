"""The protections that depend on shared counters, with the Redis backend (production's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from finplat.kernel import ManualClock, uuid7
from finplat.platform.db import Database
from tests.support.http import assert_problem
from tests.support.identity import PASSWORD, Harness, identity_harness

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_harness(
    database: Database, database_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Harness]:
    prefix = f"finplat-test-{uuid7().hex}:"
    async with identity_harness(
        database_url,
        tmp_path,
        clock,
        rate_limit_backend="redis",
        redis_url=REDIS_URL,
        redis_key_prefix=prefix,
        rate_limit_per_ip_per_minute=40,
    ) as running:
        yield running
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        assert keys  # the limits really went through Redis
        await client.delete(*keys)
    finally:
        await client.aclose()


async def test_lockout_and_per_ip_limits_hold_with_redis(redis_harness: Harness) -> None:
    harness = redis_harness
    await harness.sign_up_and_verify("sam@example.com")
    for _ in range(5):
        wrong = await harness.http.post(
            "/api/v1/auth/sign-in", json={"email": "sam@example.com", "password": "nope nope 1"}
        )
        assert wrong.status_code == 401
    locked = await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": "sam@example.com", "password": PASSWORD}
    )
    assert_problem(locked, 429, "account_locked")
    harness.clock.advance(timedelta(seconds=31))
    assert (await harness.sign_in("sam@example.com"))["status"] == "signed_in"


async def test_the_per_ip_request_limit_answers_429_with_retry_after(
    redis_harness: Harness,
) -> None:
    harness = redis_harness
    statuses = [(await harness.http.get("/api/v1/me")).status_code for _ in range(45)]
    assert statuses[:40] == [401] * 40
    assert set(statuses[40:]) == {429}
    blocked = await harness.http.get("/api/v1/me")
    problem = assert_problem(blocked, 429, "rate_limited")
    assert int(blocked.headers["retry-after"]) >= 1
    assert problem["request_id"]
    # probes are exempt
    assert (await harness.http.get("/api/v1/health")).status_code == 200
    harness.clock.advance(timedelta(minutes=1, seconds=1))
    assert (await harness.http.get("/api/v1/me")).status_code == 401
