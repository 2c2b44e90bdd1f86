"""Fixtures for the platform kit's integration tests: Redis, a field cipher, mail doubles."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from finplat.kernel import uuid7
from finplat.platform.crypto import FieldCipher, KeyRing

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def protector() -> FieldCipher:
    return FieldCipher(KeyRing.generate())


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses; everything under it is deleted afterwards."""
    return f"finplat:test:{uuid7().hex}:"


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except OSError as exc:
        await client.aclose()
        raise RuntimeError(f"Redis is required at {REDIS_URL}: {exc}") from exc
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
