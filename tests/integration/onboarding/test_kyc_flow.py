"""A customer from sign-up to approval by the API alone, and the paths that do not approve."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from finplat.identity.audit_store import iter_audit
from finplat.onboarding import is_kyc_approved, load_list
from finplat.onboarding.store import cases
from tests.support.http import assert_problem
from tests.support.identity import Harness, bearer
from tests.support.kyc import PNG, application, compliance_officer, customer_with_case, passport_mrz

UN_LIST = Path(__file__).resolve().parents[3] / "data" / "sanctions" / "un" / "UN_consolidated.xml"


async def _case(harness: Harness, tokens: dict[str, str]) -> dict[str, object]:
    response = await harness.http.get("/api/v1/kyc/case", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _submit(harness: Harness, tokens: dict[str, str]) -> dict[str, object]:
    response = await harness.http.post(
        "/api/v1/kyc/case/submit", headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_sign_up_to_approved_through_the_api(harness: Harness) -> None:
    await load_list(harness.platform.onboarding, UN_LIST)
    today = harness.clock.now().date()
    customer = await customer_with_case(harness, "anna@example.com", mrz=passport_mrz(today))
    draft = await _case(harness, customer)
    assert draft["status"] == "draft"
    assert draft["problems"] == []
    assert draft["application"]["tax_id_masked"].endswith("1234")  # type: ignore[index]

    submitted = await _submit(harness, customer)
    assert submitted["status"] == "in_review", submitted
    assert submitted["documents"][0]["verification_status"] == "passed"  # type: ignore[index]

    officer = await compliance_officer(harness, "officer@example.com")
    queue = await harness.http.get(
        "/api/v1/compliance/kyc/cases", headers=bearer(officer["access_token"])
    )
    assert [item["status"] for item in queue.json()] == ["in_review"]
    case_id = queue.json()[0]["case_id"]
    assert queue.json()[0]["risk_rating"] == "low"

    detail = await harness.http.get(
        f"/api/v1/compliance/kyc/cases/{case_id}", headers=bearer(officer["access_token"])
    )
    assert detail.status_code == 200
    assert detail.json()["application"]["legal_surname"] == "Eriksson"
    assert [h["event"] for h in detail.json()["history"]] == [
        "submit",
        "start_checks",
        "checks_passed",
    ]

    approved = await harness.http.post(
        f"/api/v1/compliance/kyc/cases/{case_id}/approve",
        headers=bearer(officer["access_token"]),
        json={"note": "documents and screening clear"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert (await _case(harness, customer))["status"] == "approved"
    async with harness.platform.uows(read_only=True) as uow:
        user_id = await uow.session.scalar(select(cases.c.user_id))
        assert user_id is not None
        assert await is_kyc_approved(uow, user_id)


async def test_an_expired_passport_sends_the_case_back_with_a_clear_reason(
    harness: Harness,
) -> None:
    today = harness.clock.now().date()
    expired = passport_mrz(today, expiry=today.replace(year=today.year - 1))
    customer = await customer_with_case(harness, "bert@example.com", mrz=expired)
    result = await _submit(harness, customer)
    assert result["status"] == "needs_info"
    assert "expired" in str(result["message"]).lower()
    reasons = result["documents"][0]["verification_reasons"]  # type: ignore[index]
    assert "document_expired" in [r["code"] for r in reasons]

    # the customer fixes the MRZ (a new passport) and submits again
    document_id = result["documents"][0]["id"]  # type: ignore[index]
    fixed = await harness.http.put(
        f"/api/v1/kyc/case/documents/{document_id}/mrz",
        headers=bearer(customer["access_token"]),
        json={"mrz": passport_mrz(today)},
    )
    assert fixed.status_code == 200
    assert (await _submit(harness, customer))["status"] == "in_review"


async def test_a_wrong_check_digit_names_the_field(harness: Harness) -> None:
    today = harness.clock.now().date()
    broken = passport_mrz(today, break_birth_digit=True)
    customer = await customer_with_case(harness, "cleo@example.com", mrz=broken)
    result = await _submit(harness, customer)
    assert result["status"] == "needs_info"
    reasons = result["documents"][0]["verification_reasons"]  # type: ignore[index]
    assert "check_digit_invalid" in [r["code"] for r in reasons]
    assert "birth" in " ".join(r["message"] for r in reasons).lower()


async def test_incomplete_applications_cannot_be_submitted(harness: Harness) -> None:
    await harness.sign_up_and_verify("dina@example.com")
    tokens = await harness.tokens("dina@example.com")
    headers = bearer(tokens["access_token"])
    assert_problem(
        await harness.http.get("/api/v1/kyc/case", headers=headers), 404, "case_not_found"
    )
    minor = application(birth_date=str(harness.clock.now().date().replace(year=2015)))
    saved = await harness.http.put("/api/v1/kyc/case/application", headers=headers, json=minor)
    assert saved.status_code == 200
    assert any(p["field"] == "birth_date" for p in saved.json()["problems"])
    assert any(p["field"] == "documents" for p in saved.json()["problems"])
    problem = assert_problem(
        await harness.http.post("/api/v1/kyc/case/submit", headers=headers),
        422,
        "application_invalid",
    )
    assert problem["details"]["problems"]  # type: ignore[index]
    bad_ssn = await harness.http.put(
        "/api/v1/kyc/case/application",
        headers=headers,
        json=application(
            tax_id_kind="ssn",
            tax_id="666-12-3456",
            residence_country="US",
            nationality="US",
            address={**application()["address"], "country": "US"},
        ),
    )
    assert_problem(bad_ssn, 422, "invalid_tax_id")


async def test_documents_are_checked_by_content_and_kept_private(harness: Harness) -> None:
    today = harness.clock.now().date()
    customer = await customer_with_case(harness, "emil@example.com", mrz=passport_mrz(today))
    headers = bearer(customer["access_token"])
    fake = await harness.http.post(
        "/api/v1/kyc/case/documents",
        headers=headers,
        data={"kind": "passport"},
        files={"file": ("passport.png", b"MZ\x90\x00 not an image", "image/png")},
    )
    assert_problem(fake, 422, "unsupported_document_type")
    document = (await _case(harness, customer))["documents"][0]  # type: ignore[index]
    own = await harness.http.get(
        f"/api/v1/kyc/case/documents/{document['id']}/content", headers=headers
    )
    assert own.status_code == 200
    assert own.content == PNG
    other = await customer_with_case(harness, "fern@example.com", mrz=None)
    stolen = await harness.http.get(
        f"/api/v1/kyc/case/documents/{document['id']}/content",
        headers=bearer(other["access_token"]),
    )
    assert_problem(stolen, 404, "document_not_found")

    officer = await compliance_officer(harness, "auditor@example.com")
    case_id = (await _case(harness, customer))["id"]
    staff = await harness.http.get(
        f"/api/v1/compliance/kyc/cases/{case_id}/documents/{document['id']}/content",
        headers=bearer(officer["access_token"]),
    )
    assert staff.status_code == 200
    actions = [entry.action async for entry in iter_audit(harness.platform.database)]
    assert "kyc.document_viewed" in actions


async def test_reject_then_resubmit(harness: Harness) -> None:
    today = harness.clock.now().date()
    customer = await customer_with_case(harness, "gail@example.com", mrz=passport_mrz(today))
    await _submit(harness, customer)
    officer = await compliance_officer(harness, "officer2@example.com")
    case_id = (await _case(harness, customer))["id"]
    asked = await harness.http.post(
        f"/api/v1/compliance/kyc/cases/{case_id}/request-info",
        headers=bearer(officer["access_token"]),
        json={"message": "Please add a proof of address."},
    )
    assert asked.status_code == 200
    assert (await _case(harness, customer))["message"] == "Please add a proof of address."
    await _submit(harness, customer)
    detail = await harness.http.get(
        f"/api/v1/compliance/kyc/cases/{case_id}", headers=bearer(officer["access_token"])
    )
    assert detail.json()["risk_rating"] == "medium"  # no list loaded: screening not done
    assert "no sanctions list" in str(detail.json()["risk_factors"])
    rejected = await harness.http.post(
        f"/api/v1/compliance/kyc/cases/{case_id}/reject",
        headers=bearer(officer["access_token"]),
        json={"message": "We cannot offer accounts in this case."},
    )
    assert rejected.json()["status"] == "rejected"
    customer_view = await _case(harness, customer)
    assert customer_view["status"] == "rejected"
    assert customer_view["message"] == "We cannot offer accounts in this case."
    reopened = await harness.http.post(
        "/api/v1/kyc/case/reopen", headers=bearer(customer["access_token"])
    )
    assert reopened.json()["status"] == "draft"
    assert reopened.json()["version"] == 2
    # a customer cannot approve or reach the compliance queue
    assert_problem(
        await harness.http.get(
            "/api/v1/compliance/kyc/cases", headers=bearer(customer["access_token"])
        ),
        403,
        "permission_denied",
    )


async def test_high_risk_needs_a_second_approver(harness: Harness) -> None:
    today = harness.clock.now().date()
    customer = await customer_with_case(
        harness,
        "hugo@example.com",
        mrz=passport_mrz(today),
        pep_declared=True,
        pep_details="Member of parliament",
    )
    await _submit(harness, customer)
    maker = await compliance_officer(harness, "maker@example.com")
    checker = await compliance_officer(harness, "checker@example.com")
    case_id = (await _case(harness, customer))["id"]
    answer = await harness.http.post(
        f"/api/v1/compliance/kyc/cases/{case_id}/approve",
        headers=bearer(maker["access_token"]),
        json={"note": "EDD done: source of wealth documented"},
    )
    assert answer.status_code == 202, answer.text
    approval_id = answer.json()["approval_id"]
    assert (await _case(harness, customer))["status"] == "in_review"
    own = await harness.http.post(
        f"/api/v1/admin/approvals/{approval_id}/approve", headers=bearer(maker["access_token"])
    )
    assert_problem(own, 403, "four_eyes_required")
    second = await harness.http.post(
        f"/api/v1/admin/approvals/{approval_id}/approve", headers=bearer(checker["access_token"])
    )
    assert second.status_code == 200, second.text
    assert (await _case(harness, customer))["status"] == "approved"
