"""Submitting a case: validate, then run the checks (documents, screening, duplicates, risk)
and route the case to review, or back to the customer with what is missing."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from finplat.identity import Principal, record_audit
from finplat.kernel import BusinessRuleViolation
from finplat.onboarding.cases import (
    CaseRecord,
    application_problems,
    case_by_id,
    load_case_for_update,
    move,
    read_application,
    require_invalid,
)
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.document_check import ApplicantFacts
from finplat.onboarding.domain import Application, CaseEvent, CaseStatus, RiskRating, assess_risk
from finplat.onboarding.events import CaseSubmitted, RiskRatingChanged
from finplat.onboarding.screening_service import lists_loaded, screen_user
from finplat.onboarding.store import MRZ_CONTEXT, cases, documents, screening_hits
from finplat.onboarding.verification import IDENTITY_DOCUMENTS, DocumentToVerify
from finplat.platform.db import UnitOfWork

_RATING_ORDER = [RiskRating.LOW, RiskRating.MEDIUM, RiskRating.HIGH]


def applicant_facts(application: Application) -> ApplicantFacts:
    sex = application.sex if application.sex in {"M", "F", "X"} else None
    return ApplicantFacts(
        legal_given_names=application.legal_given_names,
        legal_surname=application.legal_surname,
        birth_date=application.birth_date,
        nationality_alpha2=application.nationality,
        sex=sex,  # type: ignore[arg-type]
    )


async def submit(
    kit: OnboardingKit, uow: UnitOfWork, principal: Principal, *, ip: str | None
) -> CaseRecord:
    case = await load_case_for_update(kit, uow, principal.user_id, create=False)
    application = read_application(kit, case)
    require_invalid(application_problems(kit, application))
    assert application is not None  # noqa: S101 - checked just above
    identity_documents = await uow.session.scalar(
        select(func.count())
        .select_from(documents)
        .where(documents.c.case_id == case.id)
        .where(documents.c.kind.in_(IDENTITY_DOCUMENTS))
    )
    if not identity_documents:
        raise BusinessRuleViolation(
            "upload a passport or national identity card first", code="identity_document_missing"
        )
    case = await move(
        uow, case, CaseEvent.SUBMIT, actor_id=principal.user_id, submitted_at=uow.clock.now()
    )
    await uow.publish(
        CaseSubmitted(case_id=str(case.id), user_id=str(case.user_id), case_version=case.version)
    )
    await record_audit(
        uow,
        action="kyc.case_submitted",
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="kyc_case",
        target_id=str(case.id),
        ip=ip,
        details={"version": case.version},
    )
    case = await move(uow, case, CaseEvent.START_CHECKS, actor_id=None)
    return await run_checks(kit, uow, case, application)


async def run_checks(
    kit: OnboardingKit, uow: UnitOfWork, case: CaseRecord, application: Application
) -> CaseRecord:
    await _verify_documents(kit, uow, case, application)
    await screen_user(kit, uow, case.user_id, case.id, application)
    await rate_risk(kit, uow, case, application)
    return await conclude_checks(uow, case.id)


async def conclude_checks(uow: UnitOfWork, case_id: uuid.UUID) -> CaseRecord:
    """Leave `checks_running` once no document awaits an outside verifier."""
    case = await case_by_id(uow, case_id, for_update=True)
    if case.status is not CaseStatus.CHECKS_RUNNING:
        return case
    rows = (
        await uow.session.execute(
            select(
                documents.c.kind, documents.c.verification_status, documents.c.verification_reasons
            )
            .where(documents.c.case_id == case_id)
            .where(documents.c.kind.in_(IDENTITY_DOCUMENTS))
        )
    ).all()
    if any(row.verification_status == "pending" for row in rows):
        return case
    passed = [row for row in rows if row.verification_status == "passed"]
    reasons = [reason for row in rows for reason in (row.verification_reasons or [])]
    if not passed:
        message = "; ".join(reason["message"] for reason in reasons) or "documents failed checks"
        return await move(
            uow,
            case,
            CaseEvent.CHECKS_FOUND_PROBLEMS,
            actor_id=None,
            reason=message,
            customer_message=message,
        )
    return await move(uow, case, CaseEvent.CHECKS_PASSED, actor_id=None, customer_message=None)


async def _verify_documents(
    kit: OnboardingKit, uow: UnitOfWork, case: CaseRecord, application: Application
) -> None:
    rows = (
        await uow.session.execute(
            select(documents)
            .where(documents.c.case_id == case.id)
            .where(documents.c.kind.in_(IDENTITY_DOCUMENTS))
            .where(documents.c.verification_status != "passed")
        )
    ).all()
    facts = applicant_facts(application)
    for row in rows:
        mrz = (
            kit.cipher.decrypt_text(row.mrz_encrypted, context=MRZ_CONTEXT)
            if row.mrz_encrypted
            else None
        )
        outcome = await kit.verifier.verify(
            DocumentToVerify(
                case_id=str(case.id),
                document_id=str(row.id),
                kind=row.kind,
                sha256=row.sha256,
                mrz=mrz,
                facts=facts,
                today=kit.today(),
            )
        )
        await uow.session.execute(
            update(documents)
            .where(documents.c.id == row.id)
            .values(
                verification_status=outcome.status,
                verification_reasons=list(outcome.reasons),
                provider=kit.verifier.name,
                provider_request_id=outcome.request_id,
            )
        )


async def rate_risk(
    kit: OnboardingKit, uow: UnitOfWork, case: CaseRecord, application: Application
) -> RiskRating:
    open_hits = (
        await uow.session.execute(
            select(screening_hits.c.kind, func.count())
            .where(screening_hits.c.user_id == case.user_id)
            .where(screening_hits.c.status.in_(["open", "true_match"]))
            .group_by(screening_hits.c.kind)
        )
    ).all()
    counts = {kind: int(count) for kind, count in open_hits}
    duplicates = await uow.session.scalar(
        select(func.count())
        .select_from(cases)
        .where(cases.c.tax_id_index == case.tax_id_index)
        .where(cases.c.user_id != case.user_id)
    )
    assessment = assess_risk(
        application, pep_hits=counts.get("pep", 0), sanctions_hits=counts.get("sanctions", 0)
    )
    factors: list[dict[str, object]] = [
        {"name": f.name, "points": f.points, "reason": f.reason} for f in assessment.factors
    ]
    rating = assessment.rating
    if not lists_loaded(kit):
        factors.append(
            {"name": "screening", "points": 3, "reason": "no sanctions list was loaded to screen"}
        )
        rating = max(rating, RiskRating.MEDIUM, key=_RATING_ORDER.index)
    if duplicates:
        factors.append(
            {"name": "duplicate_tax_id", "points": 6, "reason": "another customer has this tax id"}
        )
        rating = RiskRating.HIGH
    await uow.session.execute(
        update(cases)
        .where(cases.c.id == case.id)
        .values(risk_rating=rating.value, risk_factors=factors)
    )
    if case.risk_rating is not rating:
        await uow.publish(
            RiskRatingChanged(
                user_id=str(case.user_id),
                previous=case.risk_rating.value if case.risk_rating else None,
                current=rating.value,
            )
        )
    return rating
