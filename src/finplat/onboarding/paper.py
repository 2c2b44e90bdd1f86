"""Paper trading accounts: a sandbox customer gets an approved case without identity
documents, marked as paper so that no one mistakes it for a verified customer. Such a case
never admits real money (trading keeps paper accounts on the ledger's paper book)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from finplat.kernel import Conflict, new_id
from finplat.onboarding.cases import CaseRecord, case_of_user
from finplat.onboarding.domain import CaseStatus, RiskRating
from finplat.onboarding.store import case_events, cases
from finplat.platform.db import UnitOfWork

PAPER_HINT = "paper trading account (no identity verified)"
PAPER_FACTOR = {
    "name": "paper_account",
    "points": 0,
    "reason": "paper trading: no identity verified",
}


def _paper(case: CaseRecord) -> bool:
    return any(factor.get("name") == "paper_account" for factor in case.risk_factors)


async def approve_paper_case(uow: UnitOfWork, user_id: uuid.UUID) -> bool:
    """Give `user_id` an approved paper case; True when it was created now. A customer with
    a real case (of any status) cannot become a paper account."""
    existing = await case_of_user(uow, user_id)
    if existing is not None:
        if _paper(existing) and existing.status is CaseStatus.APPROVED:
            return False
        raise Conflict(
            "this customer has a real KYC case; paper accounts are separate customers",
            code="not_a_paper_customer",
        )
    now = uow.clock.now()
    case_id = new_id()
    await uow.session.execute(
        insert(cases).values(
            id=case_id,
            user_id=user_id,
            status=CaseStatus.APPROVED.value,
            version=1,
            created_at=now,
            updated_at=now,
            submitted_at=now,
            decided_at=now,
            decided_by=None,
            legal_name_hint=PAPER_HINT,
            risk_rating=RiskRating.LOW.value,
            risk_factors=[PAPER_FACTOR],
            customer_message="Paper trading account: trades and money are simulated.",
        )
    )
    await uow.session.execute(
        insert(case_events).values(
            case_id=case_id,
            event="paper_approved",
            from_status=CaseStatus.DRAFT.value,
            to_status=CaseStatus.APPROVED.value,
            actor_id=None,
            reason="paper account created by an operator",
            occurred_at=now,
        )
    )
    return True


async def is_paper_case(uow: UnitOfWork, user_id: uuid.UUID) -> bool:
    case = await case_of_user(uow, user_id)
    return case is not None and _paper(case)
