"""What other domains ask onboarding: may this customer trade and move money?"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from finplat.onboarding.domain import CaseStatus
from finplat.onboarding.store import cases
from finplat.platform.db import UnitOfWork


async def kyc_status(uow: UnitOfWork, user_id: uuid.UUID) -> CaseStatus | None:
    status = await uow.session.scalar(select(cases.c.status).where(cases.c.user_id == user_id))
    return CaseStatus(status) if status else None


async def is_kyc_approved(uow: UnitOfWork, user_id: uuid.UUID) -> bool:
    """Trading and withdrawals require an approved case."""
    return await kyc_status(uow, user_id) is CaseStatus.APPROVED
