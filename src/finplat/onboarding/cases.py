"""The customer's side of a KYC case: fill in, upload, submit, see what is missing, resubmit."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from finplat.identity import Principal, record_audit
from finplat.kernel import BusinessRuleViolation, InvalidInput, NotFound, new_id
from finplat.onboarding import application_codec
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.countries import is_country
from finplat.onboarding.domain import (
    EDITABLE,
    Application,
    CaseEvent,
    CaseStatus,
    RiskRating,
    next_status,
    normalize_tax_id,
    validate_application,
)
from finplat.onboarding.store import APPLICATION_CONTEXT, TAX_ID_INDEX_CONTEXT, case_events, cases
from finplat.platform.db import UnitOfWork


@dataclass(frozen=True)
class CaseRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    status: CaseStatus
    version: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    application_encrypted: str | None
    tax_id_index: str | None
    risk_rating: RiskRating | None
    risk_factors: list[dict[str, object]]
    customer_message: str | None
    pending_approval_id: uuid.UUID | None


def _record(row: object) -> CaseRecord:
    r = row
    return CaseRecord(
        id=r.id,  # type: ignore[attr-defined]
        user_id=r.user_id,  # type: ignore[attr-defined]
        status=CaseStatus(r.status),  # type: ignore[attr-defined]
        version=r.version,  # type: ignore[attr-defined]
        created_at=r.created_at,  # type: ignore[attr-defined]
        updated_at=r.updated_at,  # type: ignore[attr-defined]
        submitted_at=r.submitted_at,  # type: ignore[attr-defined]
        decided_at=r.decided_at,  # type: ignore[attr-defined]
        application_encrypted=r.application_encrypted,  # type: ignore[attr-defined]
        tax_id_index=r.tax_id_index,  # type: ignore[attr-defined]
        risk_rating=RiskRating(r.risk_rating) if r.risk_rating else None,  # type: ignore[attr-defined]
        risk_factors=list(r.risk_factors or []),  # type: ignore[attr-defined]
        customer_message=r.customer_message,  # type: ignore[attr-defined]
        pending_approval_id=r.pending_approval_id,  # type: ignore[attr-defined]
    )


async def case_by_id(
    uow: UnitOfWork, case_id: uuid.UUID, *, for_update: bool = False
) -> CaseRecord:
    query = select(cases).where(cases.c.id == case_id)
    if for_update:
        query = query.with_for_update()
    row = (await uow.session.execute(query)).one_or_none()
    if row is None:
        raise NotFound("no such KYC case", code="case_not_found")
    return _record(row)


async def case_of_user(uow: UnitOfWork, user_id: uuid.UUID) -> CaseRecord | None:
    row = (await uow.session.execute(select(cases).where(cases.c.user_id == user_id))).one_or_none()
    return _record(row) if row is not None else None


async def load_case_for_update(
    kit: OnboardingKit, uow: UnitOfWork, user_id: uuid.UUID, *, create: bool
) -> CaseRecord:
    row = (
        await uow.session.execute(select(cases).where(cases.c.user_id == user_id).with_for_update())
    ).one_or_none()
    if row is not None:
        return _record(row)
    if not create:
        raise NotFound("you have no KYC case yet", code="case_not_found")
    now = uow.clock.now()
    case_id = new_id()
    await uow.session.execute(
        insert(cases).values(
            id=case_id,
            user_id=user_id,
            status=CaseStatus.DRAFT.value,
            version=1,
            created_at=now,
            updated_at=now,
            risk_factors=[],
        )
    )
    return await case_by_id(uow, case_id, for_update=True)


async def move(
    uow: UnitOfWork,
    case: CaseRecord,
    event: CaseEvent,
    *,
    actor_id: uuid.UUID | None,
    reason: str | None = None,
    **changes: object,
) -> CaseRecord:
    """Apply one transition of the declared table and record it in the case history."""
    target = next_status(case.status, event)
    now = uow.clock.now()
    await uow.session.execute(
        update(cases)
        .where(cases.c.id == case.id)
        .values(status=target.value, updated_at=now, **changes)
    )
    await uow.session.execute(
        insert(case_events).values(
            case_id=case.id,
            event=event.value,
            from_status=case.status.value,
            to_status=target.value,
            actor_id=actor_id,
            reason=reason,
            occurred_at=now,
        )
    )
    return await case_by_id(uow, case.id)


def read_application(kit: OnboardingKit, case: CaseRecord) -> Application | None:
    if case.application_encrypted is None:
        return None
    return application_codec.from_json(
        kit.cipher.decrypt_text(case.application_encrypted, context=APPLICATION_CONTEXT)
    )


async def save_application(
    kit: OnboardingKit,
    uow: UnitOfWork,
    principal: Principal,
    application: Application,
    *,
    ip: str | None,
) -> CaseRecord:
    """Store the (whole) application of the caller's draft; validated at submission."""
    case = await load_case_for_update(kit, uow, principal.user_id, create=True)
    if case.status not in EDITABLE:
        raise BusinessRuleViolation(
            f"the application cannot be changed while the case is {case.status.value}",
            code="case_not_editable",
        )
    canonical_tax_id = normalize_tax_id(application.tax_id_kind, application.tax_id)
    stored = dataclasses.replace(application, tax_id=canonical_tax_id)
    await uow.session.execute(
        update(cases)
        .where(cases.c.id == case.id)
        .values(
            application_encrypted=kit.cipher.encrypt(
                application_codec.to_json(stored), context=APPLICATION_CONTEXT
            ),
            legal_name_hint=stored.full_name[:200],
            tax_id_index=kit.blind_index.digest(
                f"{stored.tax_id_kind.value}:{canonical_tax_id}", context=TAX_ID_INDEX_CONTEXT
            ),
            updated_at=uow.clock.now(),
        )
    )
    await record_audit(
        uow,
        action="kyc.application_saved",
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="kyc_case",
        target_id=str(case.id),
        ip=ip,
    )
    return await case_by_id(uow, case.id)


def application_problems(
    kit: OnboardingKit, application: Application | None
) -> list[dict[str, str]]:
    if application is None:
        return [{"field": "application", "message": "fill in the application first"}]
    return validate_application(
        application, today=kit.today(), minimum_age=kit.policy.minimum_age, is_country=is_country
    )


async def reopen(
    kit: OnboardingKit, uow: UnitOfWork, principal: Principal, *, ip: str | None
) -> CaseRecord:
    """After a rejection the customer may correct the application and submit again."""
    case = await load_case_for_update(kit, uow, principal.user_id, create=False)
    moved = await move(
        uow,
        case,
        CaseEvent.REOPEN,
        actor_id=principal.user_id,
        version=case.version + 1,
        customer_message=None,
    )
    await record_audit(
        uow,
        action="kyc.case_reopened",
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="kyc_case",
        target_id=str(case.id),
        ip=ip,
    )
    return moved


def own_case(case: CaseRecord | None) -> CaseRecord:
    if case is None:
        raise NotFound("you have no KYC case yet", code="case_not_found")
    return case


def require_invalid(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidInput(
            "the application is incomplete or invalid",
            code="application_invalid",
            details={"problems": problems},
        )
