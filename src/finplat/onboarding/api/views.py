"""Turning records into response bodies (shared by the customer and compliance routes)."""

from __future__ import annotations

from finplat.onboarding.api.schemas import ApplicationOut, DocumentOut, HitOut
from finplat.onboarding.application_codec import masked_tax_id
from finplat.onboarding.documents import DocumentView
from finplat.onboarding.domain import Application
from finplat.onboarding.screening_service import HitView


def application_out(application: Application | None) -> ApplicationOut | None:
    if application is None:
        return None
    return ApplicationOut(
        legal_given_names=application.legal_given_names,
        legal_surname=application.legal_surname,
        birth_date=application.birth_date,
        sex=application.sex,
        nationality=application.nationality,
        residence_country=application.residence_country,
        address=vars(application.address),
        tax_id_kind=application.tax_id_kind,
        tax_id_masked=masked_tax_id(application),
        employment_status=application.employment_status,
        occupation=application.occupation,
        employer=application.employer,
        source_of_funds=application.source_of_funds,
        annual_income_band=application.annual_income_band,
        investment_experience=application.investment_experience,
        objectives=list(application.objectives),
        pep_declared=application.pep_declared,
        pep_details=application.pep_details,
    )


def document_out(view: DocumentView) -> DocumentOut:
    return DocumentOut(
        id=view.id,
        kind=view.kind,
        content_type=view.content_type,
        size=view.size,
        sha256=view.sha256,
        has_mrz=view.has_mrz,
        verification_status=view.verification_status,
        verification_reasons=view.verification_reasons,
        uploaded_at=view.uploaded_at,
    )


def hit_out(view: HitView) -> HitOut:
    return HitOut(
        id=view.id,
        source=view.source,
        entry_id=view.entry_id,
        kind=view.kind,
        score=view.score,
        matched_name=view.matched_name,
        explanation=view.explanation,
        status=view.status,
        created_at=view.created_at,
        decided_by=view.decided_by,
        decided_at=view.decided_at,
        decision_reason=view.decision_reason,
    )
