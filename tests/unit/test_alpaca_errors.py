"""Errors in another API's shape under a path prefix (the HTTP shell's `error_formats` hook),
with Alpaca's formatter on a probe app; everything else stays problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.responses import Response

from finplat.kernel import ManualClock, NotFound, Unauthenticated
from finplat.marketdata.api.alpaca_data import ALPACA_ERROR_FORMATS, alpaca_error
from finplat.platform.http import HttpAppSpec, build_http_app
from finplat.platform.http.problems import ProblemException
from finplat.platform.http.ratelimit import RateLimitMiddleware
from finplat.platform.ratelimit import MemoryRateLimiter
from tests.support.http import assert_problem, serve


def _probe(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix)

    @router.get("/probe/{what}", name=f"probe{prefix.replace('/', '_')}")
    async def probe(what: str, count: int = 0) -> dict[str, str]:
        if what == "bad":
            raise ProblemException(400, "bad_request", "invalid timeframe: 5Min")
        if what == "missing":
            raise NotFound("no such bar", code="bar_not_found")
        if what == "anonymous":
            raise Unauthenticated("the API key is not valid", code="invalid_api_key")
        if what == "crash":
            raise RuntimeError("database password is hunter2")
        return {"what": what}

    return router


def _special(status: int, code: str, message: str) -> Response:
    return JSONResponse({"special": code, "said": message}, status_code=status)


def probe_app(*, per_minute: int = 1000) -> FastAPI:
    clock = ManualClock(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    return build_http_app(
        HttpAppSpec(
            title="probe",
            version="0",
            routers=[_probe("")],
            root_routers=[_probe("/v2"), _probe("/v2x"), _probe("/v2/special")],
            error_formats=[*ALPACA_ERROR_FORMATS, ("/v2/special", _special)],
            middleware=[
                (
                    RateLimitMiddleware,
                    {
                        "limiter": MemoryRateLimiter(clock),
                        "limit": per_minute,
                        "window": timedelta(minutes=1),
                    },
                )
            ],
        )
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(probe_app()) as http:
        yield http


def assert_alpaca(response: httpx.Response, status: int, code: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": code, "message": message}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, 40010001),
        (401, 40110000),
        (403, 40310000),
        (404, 40410000),
        (422, 42210000),
        (429, 42910000),
        (500, 50010000),
        (405, 40510000),  # not in Alpaca's list: its pattern, status then 10000
        (503, 50310000),
    ],
)
def test_alpaca_codes_follow_the_status(status: int, code: int) -> None:
    response = alpaca_error(status, "whatever", "said so")
    assert response.status_code == status
    assert response.body == f'{{"code":{code},"message":"said so"}}'.encode()


async def test_route_errors_under_the_prefix_take_alpacas_shape(
    client: httpx.AsyncClient,
) -> None:
    bad = await client.get("/v2/probe/bad")
    assert_alpaca(bad, 400, 40010001, "invalid timeframe: 5Min")
    assert_alpaca(await client.get("/v2/probe/missing"), 404, 40410000, "no such bar")
    anonymous = await client.get("/v2/probe/anonymous")
    assert_alpaca(anonymous, 401, 40110000, "the API key is not valid")
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="finplat"'
    invalid = await client.get("/v2/probe/ok", params={"count": "many"})
    assert_alpaca(invalid, 422, 42210000, "The request has invalid or unknown fields.")
    assert bad.headers["x-request-id"]  # the request id still travels in its header


async def test_framework_errors_under_the_prefix_take_alpacas_shape(
    client: httpx.AsyncClient,
) -> None:
    assert_alpaca(await client.get("/v2/nothing/here"), 404, 40410000, "Not Found")
    assert_alpaca(await client.post("/v2/probe/ok"), 405, 40510000, "Method Not Allowed")


async def test_a_crash_under_the_prefix_says_nothing_of_the_internals(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v2/probe/crash")
    assert_alpaca(
        response,
        500,
        50010000,
        "The server failed to handle this request; quote the request id when reporting it.",
    )
    assert "hunter2" not in response.text


async def test_other_paths_keep_problem_json(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/probe/bad"), 400, "bad_request")
    assert_problem(await client.get("/api/v1/probe/missing"), 404, "bar_not_found")
    assert_problem(await client.get("/api/v1/nothing"), 404, "not_found")
    # a prefix covers the paths below it, not a sibling that merely starts with it
    assert_problem(await client.get("/v2x/probe/bad"), 400, "bad_request")


async def test_the_longest_prefix_wins(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/special/probe/missing")
    assert response.status_code == 404
    assert response.json() == {"special": "bar_not_found", "said": "no such bar"}


async def test_the_rate_limit_answers_in_the_shape_of_the_path() -> None:
    async with serve(probe_app(per_minute=1)) as http:
        assert (await http.get("/v2/probe/ok")).status_code == 200
        limited = await http.get("/v2/probe/ok")
        assert_alpaca(limited, 429, 42910000, "Too many requests; retry after 60 seconds.")
        assert limited.headers["retry-after"] == "60"
        assert limited.headers["ratelimit-remaining"] == "0"
        assert_problem(await http.get("/api/v1/probe/ok"), 429, "rate_limited")
