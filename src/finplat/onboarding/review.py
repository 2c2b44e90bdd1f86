"""Compliance's side: the work queue, case detail, and the decisions (request information,
approve, reject). A high-risk case needs a second approver (maker-checker)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update

from finplat.identity import (
    Approval,
    IdentityKit,
    Origin,
    Principal,
    SensitiveAction,
    record_audit,
    request_approval,
)
from finplat.kernel import BusinessRuleViolation, NotFound
from finplat.onboarding.cases import CaseRecord, case_by_id, move, read_application
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.domain import Application, CaseEvent, CaseStatus, RiskRating
from finplat.onboarding.events import CaseApproved, CaseRejected
from finplat.onboarding.store import case_events, cases, screening_hits
from finplat.platform.db import UnitOfWork


@dataclass(frozen=True)
class QueueItem:
    case_id: uuid.UUID
    user_id: uuid.UUID
    status: CaseStatus
    legal_name: str | None
    risk_rating: RiskRating | None
    open_hits: int
    submitted_at: datetime | None
    updated_at: datetime
    awaiting_second_approval: bool


async def queue(
    uow: UnitOfWork,
    *,
    statuses: list[CaseStatus] | None,
    risk: RiskRating | None,
    with_open_hits: bool | None,
    limit: int,
    before: datetime | None,
    case_id: uuid.UUID | None = None,
) -> list[QueueItem]:
    """Cases to work, oldest activity last; page with the last `updated_at` as `before`."""
    open_hits = (
        select(func.count())
        .select_from(screening_hits)
        .where(screening_hits.c.user_id == cases.c.user_id)
        .where(screening_hits.c.status == "open")
        .scalar_subquery()
    )
    query = (
        select(cases, open_hits.label("open_hits")).order_by(cases.c.updated_at.desc()).limit(limit)
    )
    if case_id is not None:
        query = query.where(cases.c.id == case_id)
    else:
        chosen = statuses or [
            CaseStatus.IN_REVIEW,
            CaseStatus.CHECKS_RUNNING,
            CaseStatus.NEEDS_INFO,
        ]
        query = query.where(cases.c.status.in_([s.value for s in chosen]))
    if risk is not None:
        query = query.where(cases.c.risk_rating == risk.value)
    has_open = (
        exists()
        .where(screening_hits.c.user_id == cases.c.user_id)
        .where(screening_hits.c.status == "open")
    )
    if with_open_hits is True:
        query = query.where(has_open)
    elif with_open_hits is False:
        query = query.where(~has_open)
    if before is not None:
        query = query.where(cases.c.updated_at < before)
    return [
        QueueItem(
            case_id=row.id,
            user_id=row.user_id,
            status=CaseStatus(row.status),
            legal_name=row.legal_name_hint,
            risk_rating=RiskRating(row.risk_rating) if row.risk_rating else None,
            open_hits=int(row.open_hits or 0),
            submitted_at=row.submitted_at,
            updated_at=row.updated_at,
            awaiting_second_approval=row.pending_approval_id is not None,
        )
        for row in await uow.session.execute(query)
    ]


@dataclass(frozen=True)
class CaseDetail:
    case: CaseRecord
    application: Application | None
    history: list[dict[str, Any]]


async def detail(kit: OnboardingKit, uow: UnitOfWork, case_id: uuid.UUID) -> CaseDetail:
    case = await case_by_id(uow, case_id)
    history = [
        {
            "event": row.event,
            "from": row.from_status,
            "to": row.to_status,
            "actor_id": str(row.actor_id) if row.actor_id else None,
            "reason": row.reason,
            "occurred_at": row.occurred_at.isoformat(),
        }
        for row in await uow.session.execute(
            select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.seq)
        )
    ]
    return CaseDetail(case, read_application(kit, case), history)


async def _audit(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    case: CaseRecord,
    origin: Origin,
    **details: Any,
) -> None:
    await record_audit(
        uow,
        action=action,
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="kyc_case",
        target_id=str(case.id),
        ip=origin.ip,
        details=details,
    )


async def request_info(
    uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, message: str, origin: Origin
) -> CaseRecord:
    case = await case_by_id(uow, case_id, for_update=True)
    moved = await move(
        uow,
        case,
        CaseEvent.REQUEST_INFO,
        actor_id=principal.user_id,
        reason=message,
        customer_message=message,
    )
    await _audit(uow, principal, "kyc.info_requested", case, origin, message=message)
    return moved


async def _open_hits(uow: UnitOfWork, user_id: uuid.UUID) -> int:
    return int(
        await uow.session.scalar(
            select(func.count())
            .select_from(screening_hits)
            .where(screening_hits.c.user_id == user_id)
            .where(screening_hits.c.status.in_(["open", "true_match"]))
        )
        or 0
    )


@dataclass(frozen=True)
class ApproveResult:
    case: CaseRecord
    approval_id: uuid.UUID | None  # set when a second approver must confirm


async def approve(
    identity_kit: IdentityKit,
    uow: UnitOfWork,
    principal: Principal,
    case_id: uuid.UUID,
    note: str | None,
    origin: Origin,
) -> ApproveResult:
    case = await case_by_id(uow, case_id, for_update=True)
    if case.status is not CaseStatus.IN_REVIEW:
        raise BusinessRuleViolation(
            f"only a case in review can be approved (this one is {case.status.value})",
            code="invalid_case_transition",
        )
    if await _open_hits(uow, case.user_id):
        raise BusinessRuleViolation(
            "decide every screening hit first; a true match cannot be approved",
            code="open_screening_hits",
        )
    if case.risk_rating is RiskRating.HIGH:
        if case.pending_approval_id is not None:
            raise BusinessRuleViolation(
                "a second approval is already pending", code="approval_pending"
            )
        approval = await request_approval(
            identity_kit,
            uow,
            principal,
            SensitiveAction.KYC_HIGH_RISK_APPROVAL,
            str(case.id),
            {"note": note or "", "enhanced_due_diligence": "done"},
            origin,
        )
        await uow.session.execute(
            update(cases).where(cases.c.id == case.id).values(pending_approval_id=approval.id)
        )
        await _audit(
            uow, principal, "kyc.approval_requested", case, origin, approval=str(approval.id)
        )
        return ApproveResult(await case_by_id(uow, case.id), approval.id)
    return ApproveResult(await _approve(uow, case, principal.user_id, note), None)


async def _approve(
    uow: UnitOfWork, case: CaseRecord, approver: uuid.UUID, note: str | None
) -> CaseRecord:
    moved = await move(
        uow,
        case,
        CaseEvent.APPROVE,
        actor_id=approver,
        reason=note,
        decided_at=uow.clock.now(),
        decided_by=approver,
        customer_message=None,
        pending_approval_id=None,
    )
    await uow.publish(
        CaseApproved(
            case_id=str(case.id),
            user_id=str(case.user_id),
            risk_rating=(case.risk_rating or RiskRating.LOW).value,
            approved_by=str(approver),
        )
    )
    await record_audit(
        uow,
        action="kyc.case_approved",
        actor_id=str(approver),
        actor_type="user",
        target_type="kyc_case",
        target_id=str(case.id),
        details={"risk_rating": (case.risk_rating or RiskRating.LOW).value},
    )
    return moved


async def approve_high_risk(uow: UnitOfWork, approval: Approval, checker: uuid.UUID) -> None:
    """The maker-checker handler: runs when a second staff member approves the request."""
    case = await case_by_id(uow, uuid.UUID(approval.target_id), for_update=True)
    if case.pending_approval_id != approval.id or case.status is not CaseStatus.IN_REVIEW:
        raise BusinessRuleViolation(
            "the case changed since approval was asked", code="case_changed"
        )
    if await _open_hits(uow, case.user_id):
        raise BusinessRuleViolation("the case has open screening hits", code="open_screening_hits")
    await _approve(uow, case, checker, approval.payload.get("note") or None)


async def reject(
    uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, reason: str, origin: Origin
) -> CaseRecord:
    case = await case_by_id(uow, case_id, for_update=True)
    moved = await move(
        uow,
        case,
        CaseEvent.REJECT,
        actor_id=principal.user_id,
        reason=reason,
        decided_at=uow.clock.now(),
        decided_by=principal.user_id,
        customer_message=reason,
        pending_approval_id=None,
    )
    await uow.publish(
        CaseRejected(
            case_id=str(case.id), user_id=str(case.user_id), rejected_by=str(principal.user_id)
        )
    )
    await _audit(uow, principal, "kyc.case_rejected", case, origin, reason=reason)
    return moved


async def queue_item(uow: UnitOfWork, case_id: uuid.UUID) -> QueueItem:
    found = await queue(
        uow, statuses=None, risk=None, with_open_hits=None, limit=1, before=None, case_id=case_id
    )
    if not found:
        raise NotFound("no such KYC case", code="case_not_found")
    return found[0]
