"""Checking an identity document's MRZ against what the applicant told us.

A verdict lists every reason the document fails, each written for the customer to read, so
that one attempt tells them everything to fix. No reasons means "passed".

Names are compared the way ICAO Doc 9303 writes them into an MRZ: the applicant's names are
transliterated (diacritics dropped; Ä, Ö, Ü and Å accepted as either AE/OE/UE/AA or A/O/U/A,
and Ñ as N or NXX, as Doc 9303 allows; Æ, Ø, Œ, ß, Þ written AE, OE, OE, SS, TH), upper-cased,
apostrophes and other punctuation dropped, and split into parts at spaces and hyphens. Then:

- surname: the parts joined must equal the MRZ surname's parts joined (so "Smith-Jones",
  "Smith Jones" and "SMITHJONES" agree);
- given names: the MRZ may hold fewer than the applicant has (issuers often print only the
  first one or two, and Doc 9303 drops the last ones when the name does not fit), so each MRZ
  given name must equal the applicant's given name at the same place; the applicant's later
  names may be missing. Holding more than the applicant gave fails: the application must carry
  the full legal name. The same full names in another order also pass;
- truncation: when the MRZ name field is full to its last character (Doc 9303's sign that the
  name may have been cut to fit), each MRZ name part, the surname included, may be a prefix of
  the applicant's (an initial, or the last name cut short), and the given names may be absent.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from finplat.kernel import InvalidInput
from finplat.onboarding.countries import alpha3_to_alpha2, country_name, mrz_code_name
from finplat.onboarding.mrz import (
    BIRTH_DATE,
    COMPOSITE,
    DOCUMENT_NUMBER,
    EXPIRY_DATE,
    PERSONAL_NUMBER,
    MrzReading,
    Sex,
)

#: Document codes accepted as proof of identity: passports (P, PP, PD, PO...) and identity
#: cards (I, A and C families) in the TD1, TD2 and TD3 layouts. Not visas (they rest on a
#: passport and prove nothing alone) and not crew member certificates (AC).
_ACCEPTED_FIRST_LETTERS: Final = frozenset("PIAC")
_REFUSED_CODES: Final = frozenset({"AC"})

_CHECK_LABELS: Final = {
    DOCUMENT_NUMBER: "document number",
    BIRTH_DATE: "date of birth",
    EXPIRY_DATE: "expiry date",
    PERSONAL_NUMBER: "personal number",
    COMPOSITE: "machine-readable zone as a whole",
}

#: Letters that Doc 9303 transliterates in more than one way, or not by dropping an accent.
_TRANSLITERATIONS: Final[dict[str, tuple[str, ...]]] = {
    "Ä": ("AE", "A"),
    "Ö": ("OE", "O"),
    "Ü": ("UE", "U"),
    "Å": ("AA", "A"),
    "Ñ": ("N", "NXX"),
    "Æ": ("AE",),
    "Ø": ("OE",),
    "Œ": ("OE",),
    "ẞ": ("SS",),
    "Þ": ("TH",),
    "Ð": ("D",),
    "Đ": ("D",),
    "Ħ": ("H",),
    "Ł": ("L",),
    "Ŋ": ("N",),
    "Ĳ": ("IJ",),
    "İ": ("I",),
}
_SEPARATORS: Final = frozenset("-‐‑‒–—<")  # noqa: RUF001 - the dashes are meant
_MAX_VARIANTS: Final = 256


@dataclass(frozen=True)
class ApplicantFacts:
    """What the application says about the person the document must belong to."""

    legal_given_names: str
    legal_surname: str
    birth_date: date
    nationality_alpha2: str
    sex: Literal["M", "F", "X"] | None

    def __post_init__(self) -> None:
        if not self.legal_surname.strip():
            raise InvalidInput("the legal surname is empty", code="surname_missing")
        if country_name(self.nationality_alpha2) is None:
            raise InvalidInput(
                f"{self.nationality_alpha2!r} is not a country code", code="country_unknown"
            )
        if self.sex not in ("M", "F", "X", None):
            raise InvalidInput(f"{self.sex!r} is not a sex code", code="sex_invalid")


@dataclass(frozen=True)
class Reason:
    """One reason a document fails; `field` names what it concerns, when one thing does."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: Literal["passed", "failed"]
    reasons: tuple[Reason, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @classmethod
    def of(cls, reasons: Iterable[Reason]) -> Verdict:
        found = tuple(reasons)
        return cls("failed" if found else "passed", found)


def is_identity_document(reading: MrzReading) -> bool:
    """Whether the document type is one we accept as proof of identity."""
    if reading.format is None or reading.format.is_visa:
        return False
    code = reading.document_code
    return code[:1] in _ACCEPTED_FIRST_LETTERS and code not in _REFUSED_CODES


def check_document(reading: MrzReading, facts: ApplicantFacts, *, today: date) -> Verdict:
    """Every reason `reading` fails as proof that the applicant described by `facts` is who
    they say: document type, structure, check digits, expiry, name, date of birth,
    nationality and sex."""
    if not isinstance(today, date) or isinstance(today, datetime):
        raise TypeError("today must be a date (not a datetime)")
    if reading.format is None:
        return Verdict.of(_structural(reading))
    if not is_identity_document(reading):
        return Verdict.of([_unsupported(reading)])
    reasons = [
        *_structural(reading),
        *_check_digits(reading),
        *_expiry(reading, today),
        *_names(reading, facts),
        *_birth_date(reading, facts),
        *_nationality(reading, facts),
        *_sex(reading, facts),
    ]
    return Verdict.of(reasons)


def _unsupported(reading: MrzReading) -> Reason:
    if reading.format is not None and reading.format.is_visa:
        message = (
            "A visa is not an identity document. Please upload your passport or national "
            "identity card instead."
        )
    else:
        message = (
            f"We cannot accept this type of document (code {reading.document_code or '?'}) "
            "as proof of identity. Please upload your passport or national identity card."
        )
    return Reason("unsupported_document", message, "document_code")


def _structural(reading: MrzReading) -> list[Reason]:
    return [Reason(problem.code, problem.message, problem.field) for problem in reading.problems]


def _check_digits(reading: MrzReading) -> list[Reason]:
    return [
        Reason(
            "check_digit_invalid",
            f"The check digit of the {_CHECK_LABELS.get(check.name, check.name)} does not "
            "match. Please check that you copied the machine-readable zone exactly, or "
            "upload a sharper photo.",
            check.name,
        )
        for check in reading.failed_checks
    ]


def _expiry(reading: MrzReading, today: date) -> list[Reason]:
    expiry = reading.expiry_date
    if expiry is None:
        if any(problem.field == EXPIRY_DATE for problem in reading.problems):
            return []  # already reported as an unreadable date
        return [
            Reason(
                "expiry_unknown",
                "Your document shows no expiry date, so we cannot tell whether it is still "
                "valid. Please use a document that shows one.",
                EXPIRY_DATE,
            )
        ]
    # a partial date counts as expired only once the last day it may stand for has passed
    if expiry.latest() < today:
        return [
            Reason(
                "document_expired",
                f"Your document expired on {expiry}. Please use a document that is still valid.",
                EXPIRY_DATE,
            )
        ]
    return []


def _birth_date(reading: MrzReading, facts: ApplicantFacts) -> list[Reason]:
    birth = reading.birth_date
    if birth is None or birth.matches(facts.birth_date):
        return []
    return [
        Reason(
            "birth_date_mismatch",
            f"The date of birth on your document ({birth}) does not match the one in your "
            f"application ({facts.birth_date.isoformat()}).",
            BIRTH_DATE,
        )
    ]


def _nationality(reading: MrzReading, facts: ApplicantFacts) -> list[Reason]:
    code = reading.nationality
    alpha2 = alpha3_to_alpha2(code)
    if alpha2 == facts.nationality_alpha2:
        return []
    stated = country_name(facts.nationality_alpha2) or facts.nationality_alpha2
    if alpha2 is None:
        shown = mrz_code_name(code)
        described = f"{shown} ({code})" if shown else f"the code {code!r}, which we do not know"
        message = (
            f"Your document records your nationality as {described}, which does not match "
            f"the nationality in your application ({stated})."
        )
    else:
        message = (
            f"Your document records your nationality as {country_name(alpha2) or alpha2}, "
            f"but your application says {stated}."
        )
    return [Reason("nationality_mismatch", message, "nationality")]


def _sex(reading: MrzReading, facts: ApplicantFacts) -> list[Reason]:
    if reading.sex is None or facts.sex is None or reading.sex == facts.sex:
        return []
    return [
        Reason(
            "sex_mismatch",
            f"The sex on your document ({_sex_word(reading.sex)}) does not match the one in "
            f"your application ({_sex_word(facts.sex)}).",
            "sex",
        )
    ]


def _sex_word(sex: Sex) -> str:
    return {"M": "male", "F": "female", "X": "unspecified"}[sex]


# -- names -----------------------------------------------------------------------------------


class _Untransliterable(Exception):
    """The applicant's name has letters with no Latin transliteration here."""


def _names(reading: MrzReading, facts: ApplicantFacts) -> list[Reason]:
    try:
        surname = [_variants(part) for part in _parts(facts.legal_surname)]
        given = [_variants(part) for part in _parts(facts.legal_given_names)]
    except _Untransliterable:
        return [
            Reason(
                "name_mismatch",
                "Your name in the application contains letters we cannot compare with your "
                "document. Please enter it in Latin letters, as printed on your document.",
                "name",
            )
        ]
    reasons = []
    truncated = reading.name_truncated
    mrz_surname = reading.surname.replace(" ", "")
    joined = _joined(surname)
    surname_ok = mrz_surname in joined or (
        truncated and any(variant.startswith(mrz_surname) for variant in joined)
    )
    if not surname_ok or not mrz_surname:
        reasons.append(
            Reason(
                "name_mismatch",
                f"The surname on your document ({reading.surname}) does not match the one in "
                f"your application ({facts.legal_surname}). Please enter your surname exactly "
                "as printed on your document.",
                "surname",
            )
        )
    if not _given_names_match(reading.given_names, given, truncated=truncated):
        shown = " ".join(reading.given_names) or "none"
        stated = facts.legal_given_names.strip() or "none"
        reasons.append(
            Reason(
                "name_mismatch",
                f"The given names on your document ({shown}) do not match those in your "
                f"application ({stated}). Please enter all your given names, in order, as "
                "printed on your document.",
                "given_names",
            )
        )
    return reasons


def _given_names_match(
    mrz: tuple[str, ...], applicant: list[frozenset[str]], *, truncated: bool
) -> bool:
    if len(mrz) > len(applicant):
        return False
    if not mrz:
        return not applicant or truncated
    in_order = all(
        name in variants or (truncated and any(v.startswith(name) for v in variants))
        for name, variants in zip(mrz, applicant, strict=False)
    )
    return in_order or (len(mrz) == len(applicant) and _same_names_reordered(mrz, applicant))


def _same_names_reordered(mrz: tuple[str, ...], applicant: list[frozenset[str]]) -> bool:
    """Whether the names can be paired one to one in some order (few names: try them all)."""
    if len(mrz) > 6:
        return False
    return any(
        all(name in variants for name, variants in zip(mrz, order, strict=True))
        for order in itertools.permutations(applicant)
    )


def _parts(name: str) -> list[str]:
    """Split a name as ICAO does: spaces and hyphens separate parts, other punctuation goes."""
    parts: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", name):
        if char.isspace() or char in _SEPARATORS:
            if current:
                parts.append("".join(current))
            current = []
        elif not unicodedata.category(char).startswith("P"):
            current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def _variants(part: str) -> frozenset[str]:
    """Every Doc 9303 spelling of one name part (bounded, in case of a pathological name)."""
    spellings = [""]
    for char in part:
        options = _letter(char)
        if len(spellings) * len(options) > _MAX_VARIANTS:
            options = options[:1]
        spellings = [spelling + option for spelling in spellings for option in options]
    return frozenset(spellings)


def _letter(char: str) -> tuple[str, ...]:
    upper = char.upper()
    if upper in _TRANSLITERATIONS:
        return _TRANSLITERATIONS[upper]
    if char == "ß":
        return ("SS",)
    base = "".join(
        c for c in unicodedata.normalize("NFKD", upper) if not unicodedata.combining(c)
    ).upper()
    if not base or not all("A" <= c <= "Z" for c in base):
        raise _Untransliterable(char)
    return (base,)


def _joined(parts: list[frozenset[str]]) -> frozenset[str]:
    spellings = [""]
    for variants in parts:
        ordered = sorted(variants)
        if len(spellings) * len(ordered) > _MAX_VARIANTS:
            ordered = ordered[:1]
        spellings = [spelling + variant for spelling in spellings for variant in ordered]
    return frozenset(spellings)
