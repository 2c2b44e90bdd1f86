"""Document verification by a third party: a signed request out, a signed callback in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from finplat.kernel import ManualClock
from finplat.onboarding.verifier_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_payload
from finplat.platform.db import Database
from tests.support.fake_verifier import FakeVerifier, fake_verifier
from tests.support.http import assert_problem
from tests.support.identity import Harness, bearer, identity_harness
from tests.support.kyc import customer_with_case

SECRET = b"s" * 40
CALLBACK = "/api/v1/webhooks/document-verification"


@pytest.fixture
async def setup(
    database: Database, database_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[Harness, FakeVerifier]]:
    async with (
        fake_verifier(SECRET, clock) as provider,
        identity_harness(
            database_url,
            tmp_path,
            clock,
            document_verifier="webhook",
            document_verifier_url=provider.url,
            document_verifier_secret=SECRET.decode(),
        ) as harness,
    ):
        yield harness, provider


def signed(body: bytes, timestamp: int, secret: bytes = SECRET) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: sign_payload(secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        "content-type": "application/json",
    }


async def test_the_case_waits_for_the_signed_callback(setup: tuple[Harness, FakeVerifier]) -> None:
    harness, provider = setup
    customer = await customer_with_case(harness, "wendy@example.com", mrz=None)
    submitted = await harness.http.post(
        "/api/v1/kyc/case/submit", headers=bearer(customer["access_token"])
    )
    assert submitted.json()["status"] == "checks_running", submitted.text
    assert len(provider.received) == 1
    document_id = provider.received[0]["document_id"]
    assert provider.received[0]["callback_url"].endswith(CALLBACK)

    body = json.dumps(
        {
            "request_id": f"vr-{document_id}",
            "document_id": document_id,
            "status": "passed",
            "reasons": [],
        }
    ).encode()
    now = int(harness.clock.now().timestamp())

    wrong = await harness.http.post(CALLBACK, content=body, headers=signed(body, now, b"x" * 40))
    assert_problem(wrong, 401, "invalid_signature")
    stale = await harness.http.post(CALLBACK, content=body, headers=signed(body, now - 3600))
    assert_problem(stale, 401, "invalid_signature")
    unsigned = await harness.http.post(CALLBACK, content=body)
    assert_problem(unsigned, 401, "invalid_signature")

    headers = signed(body, now)
    accepted = await harness.http.post(CALLBACK, content=body, headers=headers)
    assert accepted.status_code == 204, accepted.text
    case = await harness.http.get("/api/v1/kyc/case", headers=bearer(customer["access_token"]))
    assert case.json()["status"] == "in_review"
    assert case.json()["documents"][0]["verification_status"] == "passed"

    harness.clock.advance(timedelta(seconds=30))
    replayed = await harness.http.post(CALLBACK, content=body, headers=headers)
    assert_problem(replayed, 401, "invalid_signature")
    assert "replayed" in replayed.json()["detail"]


async def test_a_failed_verification_asks_the_customer(setup: tuple[Harness, FakeVerifier]) -> None:
    harness, provider = setup
    customer = await customer_with_case(harness, "xena@example.com", mrz=None)
    await harness.http.post("/api/v1/kyc/case/submit", headers=bearer(customer["access_token"]))
    document_id = provider.received[0]["document_id"]
    body = json.dumps(
        {
            "request_id": f"vr-{document_id}",
            "document_id": document_id,
            "status": "failed",
            "reasons": ["The photo is blurred; upload a sharper one."],
        }
    ).encode()
    response = await harness.http.post(
        CALLBACK, content=body, headers=signed(body, int(harness.clock.now().timestamp()))
    )
    assert response.status_code == 204
    case = await harness.http.get("/api/v1/kyc/case", headers=bearer(customer["access_token"]))
    assert case.json()["status"] == "needs_info"
    assert "blurred" in case.json()["message"]
