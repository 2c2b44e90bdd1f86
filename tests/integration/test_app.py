"""The assembled application on each database: health, readiness, docs, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from finplat.app import Role, RoleNotSupported, build_platform, create_app
from finplat.platform.db import Database
from finplat.platform.settings import Settings
from tests.support.http import assert_problem, serve


@pytest.fixture
async def client(database: Database, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, log_format="console")
    async with serve(create_app(settings)) as http:
        yield http


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    health = await client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    ready = await client.get("/api/v1/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "bus": "ok", "screening": "ok"},
    }


async def test_readiness_fails_when_the_database_is_down() -> None:
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    async with serve(create_app(settings)) as http:
        problem = assert_problem(await http.get("/api/v1/ready"), 503, "not_ready")
        # liveness is not readiness: the process still answers
        assert (await http.get("/api/v1/health")).status_code == 200
    assert problem["checks"] == {"database": "failing", "bus": "ok", "screening": "failing"}


def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(path, method) for path, item in spec["paths"].items() for method in item]


async def test_no_endpoint_answers_bad_input_with_a_500(client: httpx.AsyncClient) -> None:
    """Walk every operation of the real app and send it garbage of each kind."""
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert operations(spec), "the app has no operations"
    bad_bodies: list[dict[str, Any]] = [
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {"content": b"[1, 2, 3]", "headers": {"content-type": "application/json"}},
        {"content": b'{"unexpected_field": 1.5}', "headers": {"content-type": "application/json"}},
        {"content": b"x" * 2_000_000, "headers": {"content-type": "application/json"}},
        {"content": b"\xff\xfe\x00", "headers": {"content-type": "text/plain"}},
    ]
    for path, method in operations(spec):
        concrete = path.replace("{", "").replace("}", "-not-an-id")
        for body in bad_bodies:
            response = await client.request(method.upper(), concrete, **body)
            assert response.status_code < 500, (method, path, response.text)
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"


async def test_split_roles_need_a_shared_bus() -> None:
    with pytest.raises(RoleNotSupported, match="FINPLAT_BUS_BACKEND=kafka"):
        build_platform(Settings(), Role.API)
