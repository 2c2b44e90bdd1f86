"""Onboarding's pure model: the KYC case state machine, the application and its validation,
and the customer risk rating. Standard library and kernel only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from finplat.kernel import BusinessRuleViolation, InvalidInput


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHECKS_RUNNING = "checks_running"
    NEEDS_INFO = "needs_info"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class CaseEvent(StrEnum):
    SUBMIT = "submit"
    START_CHECKS = "start_checks"
    CHECKS_PASSED = "checks_passed"
    CHECKS_FOUND_PROBLEMS = "checks_found_problems"
    REQUEST_INFO = "request_info"
    APPROVE = "approve"
    REJECT = "reject"
    REOPEN = "reopen"


S, E = CaseStatus, CaseEvent

#: Every legal move of a KYC case. Anything else is an error.
TRANSITIONS: dict[tuple[CaseStatus, CaseEvent], CaseStatus] = {
    (S.DRAFT, E.SUBMIT): S.SUBMITTED,
    (S.NEEDS_INFO, E.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, E.START_CHECKS): S.CHECKS_RUNNING,
    (S.CHECKS_RUNNING, E.CHECKS_PASSED): S.IN_REVIEW,
    (S.CHECKS_RUNNING, E.CHECKS_FOUND_PROBLEMS): S.NEEDS_INFO,
    (S.IN_REVIEW, E.REQUEST_INFO): S.NEEDS_INFO,
    (S.IN_REVIEW, E.APPROVE): S.APPROVED,
    (S.IN_REVIEW, E.REJECT): S.REJECTED,
    (S.REJECTED, E.REOPEN): S.DRAFT,
}

#: States in which the customer may edit the application and documents.
EDITABLE = frozenset({S.DRAFT, S.NEEDS_INFO})


def next_status(current: CaseStatus, event: CaseEvent) -> CaseStatus:
    try:
        return TRANSITIONS[(current, event)]
    except KeyError:
        raise BusinessRuleViolation(
            f"a case that is {current.value} cannot {event.value.replace('_', ' ')}",
            code="invalid_case_transition",
            details={"status": current.value, "event": event.value},
        ) from None


class EmploymentStatus(StrEnum):
    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    UNEMPLOYED = "unemployed"
    RETIRED = "retired"
    STUDENT = "student"


class SourceOfFunds(StrEnum):
    SALARY = "salary"
    SAVINGS = "savings"
    INVESTMENTS = "investments"
    PENSION = "pension"
    INHERITANCE = "inheritance"
    BUSINESS_INCOME = "business_income"
    SALE_OF_PROPERTY = "sale_of_property"
    GIFT = "gift"
    OTHER = "other"


class Experience(StrEnum):
    NONE = "none"
    LIMITED = "limited"
    GOOD = "good"
    EXTENSIVE = "extensive"


class Objective(StrEnum):
    PRESERVATION = "capital_preservation"
    INCOME = "income"
    GROWTH = "growth"
    SPECULATION = "speculation"


class TaxIdKind(StrEnum):
    SSN = "ssn"
    ITIN = "itin"
    FOREIGN = "foreign"


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Application:
    """What the customer tells us. Kept encrypted at rest as a whole."""

    legal_given_names: str
    legal_surname: str
    birth_date: date
    nationality: str
    residence_country: str
    address: Address
    tax_id_kind: TaxIdKind
    tax_id: str
    employment_status: EmploymentStatus
    occupation: str | None
    employer: str | None
    source_of_funds: SourceOfFunds
    annual_income_band: str
    investment_experience: Experience
    objectives: tuple[Objective, ...]
    pep_declared: bool
    pep_details: str | None = None
    sex: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.legal_given_names} {self.legal_surname}"


_SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
_ITIN = re.compile(r"^(9\d{2})-?(\d{2})-?(\d{4})$")
_ITIN_GROUPS = set(range(50, 66)) | set(range(70, 89)) | {90, 91, 92} | set(range(94, 100))


def normalize_tax_id(kind: TaxIdKind, value: str) -> str:
    """The canonical form of a tax id (digits only for US ids); InvalidInput if malformed."""
    text = value.strip()
    if kind is TaxIdKind.SSN:
        match = _SSN.match(text)
        if not match:
            raise InvalidInput("an SSN has nine digits, as 123-45-6789", code="invalid_tax_id")
        area, group, serial = match.groups()
        if area in {"000", "666"} or area.startswith("9") or group == "00" or serial == "0000":
            raise InvalidInput("this is not a number the SSA issues", code="invalid_tax_id")
        return area + group + serial
    if kind is TaxIdKind.ITIN:
        match = _ITIN.match(text)
        if not match or int(match.group(2)) not in _ITIN_GROUPS:
            raise InvalidInput(
                "an ITIN has nine digits, starts with 9, with a middle group of 50-65, 70-88, "
                "90-92 or 94-99",
                code="invalid_tax_id",
            )
        return "".join(match.groups())
    cleaned = re.sub(r"[\s\-./]", "", text).upper()
    if not 4 <= len(cleaned) <= 32 or not cleaned.isalnum():
        raise InvalidInput("a foreign tax id has 4 to 32 letters and digits", code="invalid_tax_id")
    return cleaned


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def validate_application(
    application: Application, *, today: date, minimum_age: int, is_country: Callable[[str], bool]
) -> list[dict[str, str]]:
    """Every problem with the application (empty when it can be submitted)."""
    problems: list[dict[str, str]] = []

    def problem(field_name: str, message: str) -> None:
        problems.append({"field": field_name, "message": message})

    if application.birth_date > today:
        problem("birth_date", "the date of birth is in the future")
    elif age_on(application.birth_date, today) < minimum_age:
        problem("birth_date", f"you must be at least {minimum_age} years old")
    elif age_on(application.birth_date, today) > 120:
        problem("birth_date", "the date of birth is not plausible")
    for name, code in (
        ("nationality", application.nationality),
        ("residence_country", application.residence_country),
        ("address.country", application.address.country),
    ):
        if not is_country(code):
            problem(name, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    working = {EmploymentStatus.EMPLOYED, EmploymentStatus.SELF_EMPLOYED}
    if application.employment_status in working and not application.occupation:
        problem("occupation", "tell us your occupation")
    if application.pep_declared and not application.pep_details:
        problem("pep_details", "describe the public function (yours or your relative's)")
    if not application.objectives:
        problem("objectives", "choose at least one investment objective")
    us_person = "US" in {application.residence_country, application.nationality}
    if application.tax_id_kind in {TaxIdKind.SSN, TaxIdKind.ITIN} and not us_person:
        problem("tax_id_kind", "SSNs and ITINs are for US persons; choose foreign")
    return problems


class RiskRating(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: FATF "black list" (call for action) and a selection of the "grey list" (increased
#: monitoring), public facts as of 2025; update with each FATF plenary.
HIGH_RISK_COUNTRIES = frozenset({"KP", "IR", "MM"})
ELEVATED_RISK_COUNTRIES = frozenset(
    {
        "DZ",
        "AO",
        "BG",
        "BF",
        "CM",
        "CI",
        "HR",
        "CD",
        "HT",
        "KE",
        "LA",
        "LB",
        "MC",
        "MZ",
        "NA",
        "NP",
        "NG",
        "ZA",
        "SS",
        "SY",
        "TZ",
        "VE",
        "VN",
        "YE",
    }
)
_CASH_INTENSIVE = (
    "casino",
    "gambling",
    "money service",
    "exchange",
    "precious metal",
    "jewel",
    "arms",
    "defen",
    "crypto",
    "pawn",
    "art dealer",
    "car dealer",
)


@dataclass(frozen=True)
class RiskFactor:
    name: str
    points: int
    reason: str


@dataclass(frozen=True)
class RiskAssessment:
    rating: RiskRating
    score: int
    factors: tuple[RiskFactor, ...] = field(default_factory=tuple)

    @property
    def needs_enhanced_due_diligence(self) -> bool:
        return self.rating is RiskRating.HIGH


def assess_risk(application: Application, *, pep_hits: int, sanctions_hits: int) -> RiskAssessment:
    """A points model: each factor adds points; 0-2 low, 3-5 medium, 6+ high. A PEP, a
    sanctions hit or a high-risk country is high on its own."""
    factors: list[RiskFactor] = []
    countries = {
        application.nationality,
        application.residence_country,
        application.address.country,
    }
    if countries & HIGH_RISK_COUNTRIES:
        factors.append(RiskFactor("country", 6, "a FATF call-for-action country is involved"))
    elif countries & ELEVATED_RISK_COUNTRIES:
        factors.append(RiskFactor("country", 3, "a FATF increased-monitoring country is involved"))
    if application.pep_declared or pep_hits:
        factors.append(RiskFactor("pep", 6, "politically exposed person"))
    if sanctions_hits:
        factors.append(RiskFactor("screening", 6, "an open sanctions screening hit"))
    occupation = (application.occupation or "").lower()
    if any(word in occupation for word in _CASH_INTENSIVE):
        factors.append(RiskFactor("occupation", 3, "a cash-intensive or high-risk occupation"))
    if application.source_of_funds in {SourceOfFunds.OTHER, SourceOfFunds.GIFT}:
        factors.append(RiskFactor("source_of_funds", 2, "source of funds hard to evidence"))
    elif application.source_of_funds in {
        SourceOfFunds.BUSINESS_INCOME,
        SourceOfFunds.INHERITANCE,
        SourceOfFunds.SALE_OF_PROPERTY,
    }:
        factors.append(RiskFactor("source_of_funds", 1, "source of funds needs documents"))
    if application.residence_country != application.nationality:
        factors.append(RiskFactor("residence", 1, "lives outside the country of nationality"))
    score = sum(f.points for f in factors)
    rating = RiskRating.HIGH if score >= 6 else RiskRating.MEDIUM if score >= 3 else RiskRating.LOW
    return RiskAssessment(rating, score, tuple(factors))


def worst(ratings: Iterable[RiskRating]) -> RiskRating:
    order = [RiskRating.LOW, RiskRating.MEDIUM, RiskRating.HIGH]
    return max(ratings, key=order.index, default=RiskRating.LOW)
