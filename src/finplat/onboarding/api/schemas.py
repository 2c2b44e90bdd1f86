"""Request and response bodies of onboarding's API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from finplat.onboarding.domain import (
    CaseStatus,
    EmploymentStatus,
    Experience,
    Objective,
    RiskRating,
    SourceOfFunds,
    TaxIdKind,
)
from finplat.platform.http import StrictModel

Country = str


class AddressIn(StrictModel):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: Country = Field(min_length=2, max_length=2, pattern="^[A-Z]{2}$")


class ApplicationIn(StrictModel):
    legal_given_names: str = Field(min_length=1, max_length=100)
    legal_surname: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Literal["M", "F", "X"] | None = None
    nationality: Country = Field(pattern="^[A-Z]{2}$")
    residence_country: Country = Field(pattern="^[A-Z]{2}$")
    address: AddressIn
    tax_id_kind: TaxIdKind
    tax_id: str = Field(min_length=4, max_length=40)
    employment_status: EmploymentStatus
    occupation: str | None = Field(default=None, max_length=100)
    employer: str | None = Field(default=None, max_length=200)
    source_of_funds: SourceOfFunds
    annual_income_band: Literal["under_25k", "25k_50k", "50k_100k", "100k_250k", "over_250k"]
    investment_experience: Experience
    objectives: list[Objective] = Field(min_length=1, max_length=4)
    pep_declared: bool
    pep_details: str | None = Field(default=None, max_length=500)


class ApplicationOut(BaseModel):
    legal_given_names: str
    legal_surname: str
    birth_date: date
    sex: str | None
    nationality: str
    residence_country: str
    address: dict[str, Any]
    tax_id_kind: TaxIdKind
    tax_id_masked: str
    employment_status: EmploymentStatus
    occupation: str | None
    employer: str | None
    source_of_funds: SourceOfFunds
    annual_income_band: str
    investment_experience: Experience
    objectives: list[Objective]
    pep_declared: bool
    pep_details: str | None


class DocumentOut(BaseModel):
    id: uuid.UUID
    kind: str
    content_type: str
    size: int
    sha256: str
    has_mrz: bool
    verification_status: str
    verification_reasons: list[dict[str, str]]
    uploaded_at: datetime


class MrzIn(StrictModel):
    mrz: str = Field(min_length=60, max_length=120)


class CaseOut(BaseModel):
    id: uuid.UUID
    status: CaseStatus
    version: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    message: str | None = Field(description="What the customer should do or know, if anything")
    application: ApplicationOut | None
    problems: list[dict[str, str]] = Field(description="What is missing before submission")
    documents: list[DocumentOut]


class QueueItemOut(BaseModel):
    case_id: uuid.UUID
    user_id: uuid.UUID
    status: CaseStatus
    legal_name: str | None
    risk_rating: RiskRating | None
    open_hits: int
    submitted_at: datetime | None
    updated_at: datetime
    awaiting_second_approval: bool


class HitOut(BaseModel):
    id: uuid.UUID
    source: str
    entry_id: str
    kind: str
    score: float
    matched_name: str
    explanation: dict[str, Any]
    status: str
    created_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_reason: str | None


class CaseDetailOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    status: CaseStatus
    version: int
    risk_rating: RiskRating | None
    risk_factors: list[dict[str, Any]]
    message: str | None
    pending_approval_id: uuid.UUID | None
    application: ApplicationOut | None
    documents: list[DocumentOut]
    screening_hits: list[HitOut]
    history: list[dict[str, Any]]


class MessageIn(StrictModel):
    message: str = Field(min_length=3, max_length=2000)


class ApproveIn(StrictModel):
    note: str | None = Field(default=None, max_length=2000)


class ApproveOut(BaseModel):
    case: QueueItemOut | None = None
    status: CaseStatus
    approval_id: uuid.UUID | None = Field(
        default=None, description="Set when a second staff member must approve (high risk)"
    )


class HitDecisionIn(StrictModel):
    decision: Literal["true_match", "false_positive"]
    reason: str = Field(min_length=3, max_length=2000)
