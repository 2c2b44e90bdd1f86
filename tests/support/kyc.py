"""Driving a KYC case through the API in tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from finplat.identity import Role
from tests.support.identity import Harness, bearer
from tests.support.mrz import td3

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def application(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_given_names": "Anna Maria",
        "legal_surname": "Eriksson",
        "birth_date": "1974-08-12",
        "sex": "F",
        "nationality": "SE",
        "residence_country": "SE",
        "address": {
            "line1": "Storgatan 1",
            "city": "Stockholm",
            "postal_code": "11122",
            "country": "SE",
        },
        "tax_id_kind": "foreign",
        "tax_id": "740812-1234",
        "employment_status": "employed",
        "occupation": "Engineer",
        "employer": "Acme AB",
        "source_of_funds": "salary",
        "annual_income_band": "50k_100k",
        "investment_experience": "good",
        "objectives": ["growth"],
        "pep_declared": False,
    }
    body.update(overrides)
    return body


def passport_mrz(today: date, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "number": "L898902C3",
        "nationality": "SWE",
        "birth": date(1974, 8, 12),
        "sex": "F",
        "expiry": date(today.year + 5, 4, 15),
    }
    values.update(overrides)
    return td3(**values)


async def customer_with_case(
    harness: Harness, email: str, *, mrz: str | None, **application_overrides: Any
) -> dict[str, str]:
    """A verified customer with a saved application and a passport; returns their tokens."""
    await harness.sign_up_and_verify(email)
    tokens = await harness.tokens(email)
    headers = bearer(tokens["access_token"])
    saved = await harness.http.put(
        "/api/v1/kyc/case/application", headers=headers, json=application(**application_overrides)
    )
    assert saved.status_code == 200, saved.text
    data = {"kind": "passport"}
    if mrz is not None:
        data["mrz"] = mrz
    uploaded = await harness.http.post(
        "/api/v1/kyc/case/documents",
        headers=headers,
        data=data,
        files={"file": ("passport.png", PNG, "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    return tokens


async def compliance_officer(harness: Harness, email: str) -> dict[str, str]:
    tokens, _ = await harness.staff(email, Role.COMPLIANCE)
    return tokens


async def approved_customer(
    harness: Harness, email: str, officer: dict[str, str]
) -> dict[str, str]:
    """A customer whose KYC case an officer approved, signed in with MFA (for withdrawals)."""
    today = harness.clock.now().date()
    tokens = await customer_with_case(harness, email, mrz=passport_mrz(today))
    headers = bearer(tokens["access_token"])
    submitted = await harness.http.post("/api/v1/kyc/case/submit", headers=headers)
    assert submitted.json()["status"] == "in_review", submitted.text
    case_id = submitted.json()["id"]
    approved = await harness.http.post(
        f"/api/v1/compliance/kyc/cases/{case_id}/approve",
        headers=bearer(officer["access_token"]),
        json={},
    )
    assert approved.status_code == 200, approved.text
    secret, _ = await harness.enable_mfa(tokens["access_token"])
    return await harness.mfa_tokens(email, secret)
