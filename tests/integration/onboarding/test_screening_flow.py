"""Screening in the KYC flow: a listed person is caught, explained, decided, not raised again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from finplat.onboarding import load_list, rescreen_all
from tests.support.http import assert_problem
from tests.support.identity import Harness, bearer
from tests.support.kyc import compliance_officer, customer_with_case, passport_mrz

UN_LIST = Path(__file__).resolve().parents[3] / "data" / "sanctions" / "un" / "UN_consolidated.xml"

LISTED = {
    "legal_given_names": "Callixte",
    "legal_surname": "Mbarushimanna",  # one letter off the UN entry
    "birth_date": "1963-07-24",
    "sex": "M",
    "nationality": "RW",
    "residence_country": "FR",
    "address": {
        "line1": "1 rue de la Paix",
        "city": "Paris",
        "postal_code": "75002",
        "country": "FR",
    },
    "tax_id": "RW-1963-0724",
}


async def test_a_listed_person_is_caught_explained_and_decided_once(harness: Harness) -> None:
    summary = await load_list(harness.platform.onboarding, UN_LIST)
    assert summary.source == "un"
    assert summary.entries > 900
    today = harness.clock.now().date()
    mrz = passport_mrz(
        today,
        surname="MBARUSHIMANNA",
        given_names="CALLIXTE",
        nationality="RWA",
        birth=date(1963, 7, 24),
        sex="M",
    )
    customer = await customer_with_case(harness, "cm@example.com", mrz=mrz, **LISTED)
    submitted = await harness.http.post(
        "/api/v1/kyc/case/submit", headers=bearer(customer["access_token"])
    )
    assert submitted.json()["status"] == "in_review", submitted.text

    officer = await compliance_officer(harness, "screen@example.com")
    queue = await harness.http.get(
        "/api/v1/compliance/kyc/cases",
        params={"open_hits": "true"},
        headers=bearer(officer["access_token"]),
    )
    assert len(queue.json()) == 1
    item = queue.json()[0]
    assert item["open_hits"] == 1
    assert item["risk_rating"] == "high"
    detail = (
        await harness.http.get(
            f"/api/v1/compliance/kyc/cases/{item['case_id']}",
            headers=bearer(officer["access_token"]),
        )
    ).json()
    hit = detail["screening_hits"][0]
    assert hit["source"] == "un"
    assert "MBARUSHIMANA" in hit["matched_name"].upper()
    assert hit["explanation"]["summary"]
    assert any(f["name"] == "screening" for f in detail["risk_factors"])

    blocked = await harness.http.post(
        f"/api/v1/compliance/kyc/cases/{item['case_id']}/approve",
        headers=bearer(officer["access_token"]),
        json={},
    )
    assert_problem(blocked, 422, "open_screening_hits")

    decided = await harness.http.post(
        f"/api/v1/compliance/screening/hits/{hit['id']}/decision",
        headers=bearer(officer["access_token"]),
        json={"decision": "false_positive", "reason": "different person: passport photo checked"},
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "false_positive"
    again = await harness.http.post(
        f"/api/v1/compliance/screening/hits/{hit['id']}/decision",
        headers=bearer(officer["access_token"]),
        json={"decision": "true_match", "reason": "changed my mind"},
    )
    assert_problem(again, 422, "hit_decided")

    screened, new_hits = await rescreen_all(harness.platform.onboarding)
    assert (screened, new_hits) == (1, 0)


async def test_common_names_are_not_flagged(harness: Harness) -> None:
    await load_list(harness.platform.onboarding, UN_LIST)
    today = harness.clock.now().date()
    customer = await customer_with_case(harness, "plain@example.com", mrz=passport_mrz(today))
    await harness.http.post("/api/v1/kyc/case/submit", headers=bearer(customer["access_token"]))
    screened, new_hits = await rescreen_all(harness.platform.onboarding)
    assert (screened, new_hits) == (1, 0)
