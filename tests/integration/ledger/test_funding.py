"""Deposits and withdrawals through HTTP, as a customer and as compliance staff."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from finplat.ledger import is_restricted
from finplat.ledger.accounts import by_id
from tests.support.http import assert_problem
from tests.support.identity import Harness, bearer
from tests.support.kyc import approved_customer, compliance_officer, customer_with_case


async def _post(
    harness: Harness, path: str, token: str, body: dict[str, Any], key: str | None = None
) -> Any:
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await harness.http.post(path, headers=headers, json=body)


async def _cash(harness: Harness, token: str) -> dict[str, Any]:
    accounts = (await harness.http.get("/api/v1/accounts", headers=bearer(token))).json()
    return next(a for a in accounts if a["kind"] == "customer_cash")


async def test_deposit_is_idempotent_and_exact(harness: Harness) -> None:
    officer = await compliance_officer(harness, "ops1@example.com")
    customer = await approved_customer(harness, "ann@example.com", officer)
    token = customer["access_token"]
    first = await _post(harness, "/api/v1/funding/deposits", token, {"amount": "1234.56"}, "d-1")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "settled"
    assert first.json()["amount"] == "1234.56"
    retry = await _post(harness, "/api/v1/funding/deposits", token, {"amount": "1234.56"}, "d-1")
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    reused = await _post(harness, "/api/v1/funding/deposits", token, {"amount": "1.00"}, "d-1")
    assert_problem(reused, 409, "idempotency_key_reused")
    assert_problem(
        await _post(harness, "/api/v1/funding/deposits", token, {"amount": 10.5}, "d-2"),
        422,
        "validation_error",
    )
    too_precise = await _post(
        harness, "/api/v1/funding/deposits", token, {"amount": "0.001"}, "d-3"
    )
    assert_problem(too_precise, 422, "invalid_amount")
    missing_key = await _post(harness, "/api/v1/funding/deposits", token, {"amount": "5.00"})
    assert_problem(missing_key, 422, "validation_error")
    cash = await _cash(harness, token)
    assert (cash["balance"], cash["available"]) == ("1234.56", "1234.56")


async def test_withdrawals_need_kyc_and_mfa(harness: Harness) -> None:
    pending = await customer_with_case(harness, "bo@example.com", mrz=None)
    no_kyc = await _post(
        harness, "/api/v1/funding/deposits", pending["access_token"], {"amount": "5.00"}, "x"
    )
    assert_problem(no_kyc, 403, "kyc_not_approved")
    no_mfa = await _post(
        harness, "/api/v1/funding/withdrawals", pending["access_token"], {"amount": "5.00"}, "y"
    )
    assert_problem(no_mfa, 403, "mfa_required")


async def test_small_withdrawal_settles_and_shows_in_activity(harness: Harness) -> None:
    officer = await compliance_officer(harness, "ops2@example.com")
    customer = await approved_customer(harness, "cy@example.com", officer)
    token = customer["access_token"]
    await _post(harness, "/api/v1/funding/deposits", token, {"amount": "500.00"}, "d")
    out = await _post(harness, "/api/v1/funding/withdrawals", token, {"amount": "120.25"}, "w")
    assert out.status_code == 201, out.text
    assert out.json()["status"] == "settled"
    cash = await _cash(harness, token)
    assert (cash["balance"], cash["available"]) == ("379.75", "379.75")
    activity = (
        await harness.http.get(f"/api/v1/accounts/{cash['id']}/activities", headers=bearer(token))
    ).json()
    posted = [(a["kind"], a["amount"], a["pending"]) for a in activity]
    assert posted == [
        ("post", "-120.25", False),
        ("hold", "-120.25", True),
        ("entry", "500.00", False),
    ]
    assert all(a["reference"] for a in activity)
    too_much = await _post(
        harness, "/api/v1/funding/withdrawals", token, {"amount": "400.00"}, "w2"
    )
    assert_problem(too_much, 422, "insufficient_funds")


async def test_large_withdrawal_needs_two_staff_approvals(harness: Harness) -> None:
    officer = await compliance_officer(harness, "ops3@example.com")
    second = await compliance_officer(harness, "ops4@example.com")
    customer = await approved_customer(harness, "di@example.com", officer)
    token = customer["access_token"]
    await _post(harness, "/api/v1/funding/deposits", token, {"amount": "4000.00"}, "d")
    big = await _post(harness, "/api/v1/funding/withdrawals", token, {"amount": "2500.00"}, "w")
    assert big.json()["status"] == "approval_required"
    cash = await _cash(harness, token)
    assert (cash["balance"], cash["available"], cash["held"]) == ("4000.00", "1500.00", "2500.00")

    first = await harness.http.post(
        f"/api/v1/compliance/withdrawals/{big.json()['id']}/approve",
        headers=bearer(officer["access_token"]),
    )
    assert first.status_code == 202, first.text
    approval_id = first.json()["approval_id"]
    same = await harness.http.post(
        f"/api/v1/admin/approvals/{approval_id}/approve", headers=bearer(officer["access_token"])
    )
    assert_problem(same, 403, "four_eyes_required")
    confirmed = await harness.http.post(
        f"/api/v1/admin/approvals/{approval_id}/approve", headers=bearer(second["access_token"])
    )
    assert confirmed.status_code == 200, confirmed.text
    cash = await _cash(harness, token)
    assert (cash["balance"], cash["available"]) == ("1500.00", "1500.00")

    over_daily = await _post(
        harness, "/api/v1/funding/withdrawals", token, {"amount": "900.00"}, "w3"
    )
    assert over_daily.status_code == 201  # 2500 + 900 is within the 5000 daily limit
    blocked = await _post(
        harness, "/api/v1/funding/withdrawals", token, {"amount": "1700.00"}, "w4"
    )
    assert_problem(blocked, 422, "daily_limit_exceeded")


async def test_a_rejected_withdrawal_releases_the_hold(harness: Harness) -> None:
    officer = await compliance_officer(harness, "ops5@example.com")
    customer = await approved_customer(harness, "ed@example.com", officer)
    token = customer["access_token"]
    await _post(harness, "/api/v1/funding/deposits", token, {"amount": "3000.00"}, "d")
    big = await _post(harness, "/api/v1/funding/withdrawals", token, {"amount": "2000.00"}, "w")
    rejected = await harness.http.post(
        f"/api/v1/compliance/withdrawals/{big.json()['id']}/reject",
        headers=bearer(officer["access_token"]),
        json={"reason": "beneficiary account does not match the customer"},
    )
    assert rejected.json()["status"] == "rejected"
    cash = await _cash(harness, token)
    assert (cash["balance"], cash["available"]) == ("3000.00", "3000.00")


async def test_a_returned_deposit_can_push_the_account_negative_and_restrict_it(
    harness: Harness,
) -> None:
    officer = await compliance_officer(harness, "ops6@example.com")
    customer = await approved_customer(harness, "flo@example.com", officer)
    token = customer["access_token"]
    dep = await _post(harness, "/api/v1/funding/deposits", token, {"amount": "300.00"}, "d")
    await _post(harness, "/api/v1/funding/withdrawals", token, {"amount": "250.00"}, "w")
    returned = await harness.http.post(
        f"/api/v1/admin/funding/deposits/{dep.json()['id']}/return",
        headers=bearer(officer["access_token"]),
        json={"reason": "R01 insufficient funds at the sending bank"},
    )
    assert returned.status_code == 200, returned.text
    cash = await _cash(harness, token)
    assert (cash["balance"], cash["restricted"]) == ("-250.00", True)
    async with harness.platform.uows(read_only=True) as uow:
        owner = (await by_id(uow, uuid.UUID(cash["id"]))).owner_id
        assert owner is not None
        assert await is_restricted(uow, owner)
    blocked = await _post(harness, "/api/v1/funding/withdrawals", token, {"amount": "1.00"}, "w2")
    assert_problem(blocked, 422, "account_restricted")
    await _post(harness, "/api/v1/funding/deposits", token, {"amount": "260.00"}, "d2")
    cash = await _cash(harness, token)
    assert (cash["balance"], cash["restricted"]) == ("10.00", False)


async def test_concurrent_withdrawals_cannot_both_pass_the_daily_limit(harness: Harness) -> None:
    officer = await compliance_officer(harness, "ops7@example.com")
    customer = await approved_customer(harness, "gus@example.com", officer)
    token = customer["access_token"]
    await _post(harness, "/api/v1/funding/deposits", token, {"amount": "9000.00"}, "d")
    answers = await asyncio.gather(
        *(
            _post(harness, "/api/v1/funding/withdrawals", token, {"amount": "900.00"}, f"w{n}")
            for n in range(8)
        )
    )
    accepted = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 422]
    assert len(accepted) == 5  # 5 x 900 = 4500 fits the 5000 daily limit; a sixth would not
    assert len(refused) == 3
    assert {a.json()["code"] for a in refused} == {"daily_limit_exceeded"}
