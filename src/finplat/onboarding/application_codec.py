"""The application as JSON (encrypted as a whole at rest) and back."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

from finplat.onboarding.domain import (
    Address,
    Application,
    EmploymentStatus,
    Experience,
    Objective,
    SourceOfFunds,
    TaxIdKind,
)


def to_json(application: Application) -> str:
    data = asdict(application)
    data["birth_date"] = application.birth_date.isoformat()
    data["objectives"] = [objective.value for objective in application.objectives]
    return json.dumps(data, sort_keys=True, default=str)


def from_json(text: str) -> Application:
    data: dict[str, Any] = json.loads(text)
    return Application(
        legal_given_names=data["legal_given_names"],
        legal_surname=data["legal_surname"],
        birth_date=date.fromisoformat(data["birth_date"]),
        nationality=data["nationality"],
        residence_country=data["residence_country"],
        address=Address(**data["address"]),
        tax_id_kind=TaxIdKind(data["tax_id_kind"]),
        tax_id=data["tax_id"],
        employment_status=EmploymentStatus(data["employment_status"]),
        occupation=data.get("occupation"),
        employer=data.get("employer"),
        source_of_funds=SourceOfFunds(data["source_of_funds"]),
        annual_income_band=data["annual_income_band"],
        investment_experience=Experience(data["investment_experience"]),
        objectives=tuple(Objective(o) for o in data["objectives"]),
        pep_declared=bool(data["pep_declared"]),
        pep_details=data.get("pep_details"),
        sex=data.get("sex"),
    )


def masked_tax_id(application: Application) -> str:
    digits = application.tax_id
    return ("*" * max(0, len(digits) - 4)) + digits[-4:]
