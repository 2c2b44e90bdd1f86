"""Rate limits at the HTTP edge: per client IP, problem+json 429s, exempt probes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter, Depends, Request
from starlette.types import ASGIApp

from finplat.kernel import ManualClock
from finplat.platform.http import HttpAppSpec, build_http_app
from finplat.platform.http.health import health_router
from finplat.platform.http.ratelimit import (
    DEFAULT_EXEMPT_PREFIXES,
    RateLimited,
    RateLimitMiddleware,
    enforce,
    retry_after_seconds,
)
from finplat.platform.ratelimit import Decision, MemoryRateLimiter
from tests.support.http import assert_problem

MINUTE = timedelta(minutes=1)


class BrokenLimiter:
    """A limiter whose backend is down."""

    async def hit(self, key: str, *, limit: int, window: timedelta, cost: int = 1) -> Decision:
        raise ConnectionError("redis is down")

    async def peek(self, key: str, *, limit: int, window: timedelta) -> Decision:
        raise ConnectionError("redis is down")

    async def reset(self, key: str) -> None:
        raise ConnectionError("redis is down")

    async def aclose(self) -> None:
        return None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))


@pytest.fixture
def limiter(clock: ManualClock) -> MemoryRateLimiter:
    return MemoryRateLimiter(clock)


def probe_app(limiter: MemoryRateLimiter) -> ASGIApp:
    router = APIRouter()

    async def login_limit(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        await enforce(limiter, f"login:{client}", limit=1, window=MINUTE)

    @router.get("/ping", name="get_ping")
    async def get_ping() -> dict[str, str]:
        return {"pong": "yes"}

    @router.post("/login", name="create_login", dependencies=[Depends(login_limit)])
    async def create_login() -> dict[str, str]:
        return {"status": "ok"}

    return build_http_app(
        HttpAppSpec(title="probe", version="0", routers=[router, health_router("0", {})])
    )


def client_for(app: ASGIApp, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def limited(
    app: ASGIApp,
    limiter: MemoryRateLimiter,
    exempt_prefixes: tuple[str, ...] = DEFAULT_EXEMPT_PREFIXES,
) -> ASGIApp:
    return RateLimitMiddleware(
        app, limiter=limiter, limit=2, window=MINUTE, exempt_prefixes=exempt_prefixes
    )


async def test_requests_over_the_limit_get_a_429_problem_with_retry_after(
    limiter: MemoryRateLimiter, clock: ManualClock
) -> None:
    app = limited(probe_app(limiter), limiter)
    async with client_for(app, "203.0.113.7") as client:
        first = await client.get("/api/v1/ping")
        clock.advance(timedelta(milliseconds=1500))
        second = await client.get("/api/v1/ping")
        clock.advance(timedelta(milliseconds=200))
        third = await client.get("/api/v1/ping")

    assert [first.status_code, second.status_code] == [200, 200]
    assert first.headers["ratelimit-limit"] == "2"
    assert [first.headers["ratelimit-remaining"], second.headers["ratelimit-remaining"]] == [
        "1",
        "0",
    ]
    assert first.headers["x-request-id"]  # the app's own headers are kept

    assert third.status_code == 429
    assert third.headers["content-type"] == "application/problem+json"
    assert third.headers["retry-after"] == "59"  # 58.3 s, rounded up
    assert third.headers["ratelimit-remaining"] == "0"
    body = third.json()
    assert (body["status"], body["code"]) == (429, "rate_limited")
    assert body["type"] == "urn:finplat:problem:rate_limited"
    assert body["instance"] == "/api/v1/ping"


async def test_the_limit_is_per_peer_address_and_ignores_forwarded_headers(
    limiter: MemoryRateLimiter,
) -> None:
    app = limited(probe_app(limiter), limiter)
    async with client_for(app, "203.0.113.7") as client:
        statuses = [
            (
                await client.get("/api/v1/ping", headers={"X-Forwarded-For": f"198.51.100.{n}"})
            ).status_code
            for n in range(3)
        ]
    async with client_for(app, "203.0.113.8") as other:
        other_status = (await other.get("/api/v1/ping")).status_code
    assert statuses == [200, 200, 429]
    assert other_status == 200


async def test_the_window_slides(limiter: MemoryRateLimiter, clock: ManualClock) -> None:
    app = limited(probe_app(limiter), limiter)
    async with client_for(app, "203.0.113.7") as client:
        for _ in range(2):
            await client.get("/api/v1/ping")
        assert (await client.get("/api/v1/ping")).status_code == 429
        clock.advance(MINUTE)
        assert (await client.get("/api/v1/ping")).status_code == 200


async def test_probes_and_metrics_are_not_limited(limiter: MemoryRateLimiter) -> None:
    app = limited(probe_app(limiter), limiter)
    async with client_for(app, "203.0.113.7") as client:
        for _ in range(3):
            await client.get("/api/v1/ping")
        health = await client.get("/api/v1/health")
        metrics = await client.get("/metrics")
        sibling = await client.get("/metricsX")  # not under /metrics: still limited
    assert (health.status_code, metrics.status_code) == (200, 200)
    assert sibling.status_code == 429
    assert "ratelimit-limit" not in health.headers


def test_an_exempt_prefix_covers_its_subpaths_not_its_siblings(
    limiter: MemoryRateLimiter,
) -> None:
    middleware = RateLimitMiddleware(
        probe_app(limiter), limiter=limiter, limit=1, window=MINUTE, exempt_prefixes=("/metrics",)
    )
    assert middleware._exempt("/metrics")
    assert middleware._exempt("/metrics/extra")
    assert not middleware._exempt("/metricsX")
    assert not middleware._exempt("/api/v1/ping")


async def test_custom_exempt_prefixes(limiter: MemoryRateLimiter) -> None:
    app = limited(probe_app(limiter), limiter, exempt_prefixes=("/api/v1/ping",))
    async with client_for(app, "203.0.113.7") as client:
        statuses = {(await client.get("/api/v1/ping")).status_code for _ in range(5)}
        assert (await client.get("/api/v1/health")).status_code == 200
    assert statuses == {200}


async def test_enforce_raises_a_429_inside_a_route(limiter: MemoryRateLimiter) -> None:
    app = probe_app(limiter)
    async with client_for(app, "203.0.113.7") as client:
        ok = await client.post("/api/v1/login")
        refused = await client.post("/api/v1/login")
    assert ok.status_code == 200
    body = assert_problem(refused, 429, "rate_limited")
    assert refused.headers["retry-after"] == "60"
    assert body["detail"] == "Too many requests; retry after 60 seconds."


async def test_a_failing_limiter_lets_requests_through_when_failing_open() -> None:
    limiter = BrokenLimiter()
    app = build_http_app(HttpAppSpec(title="probe", version="0", routers=[]))
    open_app = RateLimitMiddleware(app, limiter=limiter, limit=1, window=MINUTE)
    closed_app = RateLimitMiddleware(app, limiter=limiter, limit=1, window=MINUTE, fail_open=False)
    async with client_for(open_app, "203.0.113.7") as client:
        assert (await client.get("/api/v1/openapi.json")).status_code == 200
    async with client_for(closed_app, "203.0.113.7") as client:
        refused = await client.get("/api/v1/openapi.json")
    assert refused.status_code == 503
    assert refused.json()["code"] == "unavailable"


@pytest.mark.parametrize(
    ("wait", "header"),
    [
        (timedelta(milliseconds=1), 1),
        (timedelta(seconds=1), 1),
        (timedelta(seconds=1, milliseconds=1), 2),
        (timedelta(minutes=2), 120),
    ],
)
def test_retry_after_is_whole_seconds_rounded_up(wait: timedelta, header: int) -> None:
    decision = Decision(allowed=False, limit=1, remaining=0, retry_after=wait)
    assert retry_after_seconds(decision) == header
    headers = RateLimited(decision).headers
    assert headers is not None
    assert headers["Retry-After"] == str(header)
