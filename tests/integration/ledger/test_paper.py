"""Paper money: instant funding from the paper book's omnibus account, never mixed with real
money, on both databases."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from finplat.kernel import Asset, BusinessRuleViolation, Conflict, InvalidInput
from finplat.ledger import (
    PAPER_BOOK,
    AccountKind,
    account_balances,
    currency,
    customer_account,
    fund_paper,
    open_account,
)
from finplat.ledger.accounts import by_code
from finplat.ledger.reconcile import check_ledger
from finplat.ledger.store import accounts, funding
from finplat.platform.db import Database, UnitOfWorkFactory
from tests.support.http import assert_problem
from tests.support.identity import Harness, bearer
from tests.support.kyc import approved_customer, compliance_officer, customer_with_case

USD = currency("USD")
PAPER_USER = uuid.UUID(int=42)


async def test_paper_funding_credits_the_customer_from_the_paper_omnibus_once(
    uows: UnitOfWorkFactory, database: Database
) -> None:
    async with uows() as uow:
        first = await fund_paper(
            uow, user_id=PAPER_USER, asset=USD, amount=Decimal("100000"), key="create"
        )
    async with uows() as uow:  # the CLI ran again with the same key: nothing more
        again = await fund_paper(
            uow, user_id=PAPER_USER, asset=USD, amount=Decimal("100000"), key="create"
        )
        top_up = await fund_paper(
            uow, user_id=PAPER_USER, asset=USD, amount=Decimal("250.50"), key="top-up"
        )
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    assert top_up.id != first.id
    with pytest.raises(Conflict) as conflict:
        async with uows() as uow:
            await fund_paper(uow, user_id=PAPER_USER, asset=USD, amount=Decimal("1"), key="create")
    assert conflict.value.code == "idempotency_key_reused"

    async with uows(read_only=True) as uow:
        cash = await customer_account(uow, PAPER_USER, AccountKind.CUSTOMER_CASH, USD)
        omnibus = await by_code(uow, f"platform:{PAPER_BOOK}:omnibus_bank:USD")
        assert cash is not None
        assert omnibus is not None
        assert await account_balances(uow, cash.id) == (100_250_50, 100_250_50)
        assert await account_balances(uow, omnibus.id) == (100_250_50, 100_250_50)
        # only the paper omnibus and the customer's cash exist: no live account was touched
        codes = sorted((await uow.session.execute(select(accounts.c.code))).scalars())
        rows = (
            await uow.session.execute(
                select(funding.c.direction, funding.c.status, funding.c.amount).order_by(
                    funding.c.amount
                )
            )
        ).all()
    assert codes == [
        f"customer:{PAPER_USER}:customer_cash:USD",
        "platform:paper:omnibus_bank:USD",
    ]
    assert [tuple(r) for r in rows] == [
        ("paper", "settled", 250_50),
        ("paper", "settled", 100_000_00),
    ]
    assert first.postings[0].account_id == omnibus.id
    assert first.meta["book"] == "paper"
    assert "bank_reference" not in first.meta  # bank reconciliation never sees paper money
    assert (await check_ledger(database)).problems == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Decimal("0"), "invalid_amount"),
        (Decimal("-5"), "invalid_amount"),
        (Decimal("0.001"), "invalid_amount"),
    ],
)
async def test_paper_funding_takes_a_positive_exact_amount(
    uows: UnitOfWorkFactory, amount: Decimal, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with uows() as uow:
            await fund_paper(uow, user_id=PAPER_USER, asset=USD, amount=amount, key="k")
    assert caught.value.code == code


async def test_a_yen_paper_account_counts_whole_yen(uows: UnitOfWorkFactory) -> None:
    yen = Asset("JPY", 0)
    async with uows() as uow:
        entry = await fund_paper(
            uow, user_id=PAPER_USER, asset=yen, amount=Decimal("1000000"), key="jpy"
        )
        cash = await open_account(
            uow, kind=AccountKind.CUSTOMER_CASH, asset=yen, owner_id=PAPER_USER
        )
        assert await account_balances(uow, cash.id) == (1_000_000, 1_000_000)
    assert sorted(p.amount for p in entry.postings) == [-1_000_000, 1_000_000]


async def _user_id(harness: Harness, token: str) -> uuid.UUID:
    me = await harness.http.get("/api/v1/me", headers=bearer(token))
    return uuid.UUID(me.json()["id"])


async def _deposit(harness: Harness, token: str, amount: str, key: str) -> Any:
    return await harness.http.post(
        "/api/v1/funding/deposits",
        headers={**bearer(token), "Idempotency-Key": key},
        json={"amount": amount},
    )


async def test_paper_and_real_money_never_share_a_customer(harness: Harness) -> None:
    officer = await compliance_officer(harness, "ops-paper@example.com")
    live = await approved_customer(harness, "live@example.com", officer)
    # a paper customer's KYC is approved by the paper-account CLI; the guard comes first anyway
    paper = await customer_with_case(harness, "paper@example.com", mrz=None)
    live_id = await _user_id(harness, live["access_token"])
    paper_id = await _user_id(harness, paper["access_token"])

    assert (await _deposit(harness, live["access_token"], "50.00", "d1")).status_code == 201
    with pytest.raises(BusinessRuleViolation) as refused:
        async with harness.platform.uows() as uow:
            await fund_paper(uow, user_id=live_id, asset=USD, amount=Decimal("1000"), key="p")
    assert refused.value.code == "live_account"

    async with harness.platform.uows() as uow:
        await fund_paper(uow, user_id=paper_id, asset=USD, amount=Decimal("1000"), key="p")
    assert_problem(
        await _deposit(harness, paper["access_token"], "50.00", "d1"), 422, "paper_account"
    )
    accounts_ = (
        await harness.http.get("/api/v1/accounts", headers=bearer(paper["access_token"]))
    ).json()
    assert [(a["kind"], a["balance"], a["available"]) for a in accounts_] == [
        ("customer_cash", "1000.00", "1000.00")
    ]
