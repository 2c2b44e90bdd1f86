"""The HTTP shell's answers to bad input and failures, on a probe router.

Every error is problem+json with a stable code and a 4xx, except a real server fault (500),
which says nothing about the internals.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from finplat.kernel import BusinessRuleViolation, Conflict, NotFound, PermissionDenied
from finplat.platform.http import DecimalString, HttpAppSpec, StrictModel, build_http_app
from tests.support.http import assert_problem, serve

LIMIT = 4096


class TransferIn(StrictModel):
    account: str
    amount: DecimalString
    memo: str | None = None


class TransferOut(StrictModel):
    account: str
    amount: DecimalString


def probe_router() -> APIRouter:
    router = APIRouter()

    @router.post("/transfers", name="create_transfer")
    async def create_transfer(body: TransferIn) -> TransferOut:
        return TransferOut(account=body.account, amount=body.amount)

    @router.get("/transfers/{transfer_id}", name="get_transfer")
    async def get_transfer(transfer_id: int) -> dict[str, int]:
        if transfer_id == 404:
            raise NotFound("no such transfer", code="transfer_not_found")
        if transfer_id == 409:
            raise Conflict("idempotency key reused", code="idempotency_key_reused")
        if transfer_id == 403:
            raise PermissionDenied("not yours")
        if transfer_id == 422:
            raise BusinessRuleViolation(
                "insufficient funds", code="insufficient_funds", details={"available": "1.00"}
            )
        if transfer_id == 500:
            raise RuntimeError("database password is hunter2")
        return {"id": transfer_id}

    return router


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = build_http_app(
        HttpAppSpec(
            title="probe",
            version="0",
            routers=[probe_router()],
            max_request_body_bytes=LIMIT,
            cors_allow_origins=["https://app.example"],
        )
    )
    async with serve(app) as http:
        yield http


async def test_a_valid_request_round_trips_money_as_strings(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/transfers", json={"account": "a1", "amount": "10.50"})
    assert response.status_code == 200
    assert response.json() == {"account": "a1", "amount": "10.50"}


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/transfers",
        content=b'{"account": "a1", "amount": ',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400, "malformed_json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"account": 5, "amount": "1.00"}, "body.account"),
        ({"account": "a1", "amount": 10.5}, "body.amount"),
        ({"account": "a1", "amount": "ten"}, "body.amount"),
        ({"account": "a1", "amount": "NaN"}, "body.amount"),
        ({"account": "a1"}, "body.amount"),
        ([1, 2], "body"),
    ],
)
async def test_wrong_types_are_422_naming_the_field(
    client: httpx.AsyncClient, body: Any, field: str
) -> None:
    problem = assert_problem(
        await client.post("/api/v1/transfers", json=body), 422, "validation_error"
    )
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert field in [error["field"] for error in errors]


async def test_unknown_fields_are_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/transfers", json={"account": "a1", "amount": "1.00", "amuont": "2"}
    )
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"] == [
        {
            "field": "body.amuont",
            "message": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        }
    ]


async def test_rejected_input_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/transfers", json={"account": "a1", "amount": "1", "password": "s3cret-value"}
    )
    assert response.status_code == 422
    assert "s3cret-value" not in response.text


async def test_an_oversized_declared_body_is_413(client: httpx.AsyncClient) -> None:
    big = json.dumps({"account": "a" * LIMIT, "amount": "1"})
    assert_problem(
        await client.post(
            "/api/v1/transfers", content=big, headers={"content-type": "application/json"}
        ),
        413,
        "payload_too_large",
    )


async def test_an_oversized_streamed_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"account": "'
        for _ in range(10):
            yield b"a" * 1024
        yield b'", "amount": "1"}'

    response = await client.post(
        "/api/v1/transfers", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")


async def test_a_bad_path_parameter_is_422(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/api/v1/transfers/abc"), 422, "validation_error")
    assert problem["errors"][0]["field"] == "path.transfer_id"  # type: ignore[index]


@pytest.mark.parametrize(
    ("transfer_id", "status", "code"),
    [
        (404, 404, "transfer_not_found"),
        (409, 409, "idempotency_key_reused"),
        (403, 403, "permission_denied"),
        (422, 422, "insufficient_funds"),
    ],
)
async def test_domain_errors_map_to_status_and_keep_their_code(
    client: httpx.AsyncClient, transfer_id: int, status: int, code: str
) -> None:
    assert_problem(await client.get(f"/api/v1/transfers/{transfer_id}"), status, code)


async def test_domain_error_details_are_returned(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/api/v1/transfers/422"), 422, "insufficient_funds")
    assert problem["details"] == {"available": "1.00"}
    assert problem["detail"] == "insufficient funds"


async def test_a_crash_is_500_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/transfers/500")
    problem = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert problem["instance"] == "/api/v1/transfers/500"


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nope"), 404, "not_found")
    response = await client.delete("/api/v1/transfers")
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


async def test_request_ids_are_echoed_when_sane_and_replaced_when_not(
    client: httpx.AsyncClient,
) -> None:
    ok = await client.get("/api/v1/transfers/1", headers={"x-request-id": "abc-123"})
    assert ok.headers["x-request-id"] == "abc-123"
    evil = await client.get("/api/v1/transfers/1", headers={"x-request-id": "a\tb" + "x" * 200})
    assert evil.headers["x-request-id"] != "a\tb" + "x" * 200
    assert len(evil.headers["x-request-id"]) == 36


async def test_security_headers_and_cors(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/transfers/1", headers={"origin": "https://app.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    other = await client.get("/api/v1/transfers/1", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/transfers/7")
    await client.get("/api/v1/transfers/8")
    text = (await client.get("/metrics")).text
    assert (
        'finplat_http_requests_total{method="GET",route="/api/v1/transfers/{transfer_id}",'
        'status="200"} 2.0'
    ) in text
    assert "/api/v1/transfers/7" not in text


async def test_openapi_is_3_1_with_stable_operation_ids(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert operations == {"create_transfer", "get_transfer"}
    amount = spec["components"]["schemas"]["TransferIn"]["properties"]["amount"]
    assert amount["type"] == "string"


async def test_the_docs_page_works_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text.replace("https://app.example", "")
    script = await client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
