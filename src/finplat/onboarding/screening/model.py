"""The screening engine's values: list entries as loaded, the subject being screened, and hits
with the explanation a compliance analyst reads. Plain frozen dataclasses, standard library
and kernel only, so the caller can store, compare and serialise them freely."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Literal

from finplat.kernel import InvalidInput

EntryKind = Literal["person", "entity", "vessel", "aircraft"]
Outcome = Literal["supports", "contradicts", "absent"]

ENTRY_KINDS: frozenset[str] = frozenset({"person", "entity", "vessel", "aircraft"})
_MIN_YEAR, _MAX_YEAR = 1800, 2100


class DateAgreement(StrEnum):
    """How a given date of birth compares with a listed one, strongest first."""

    EXACT = "exact"  # the same day
    CONSISTENT = "consistent"  # agrees at the precision the list gives (year, month, range)
    NEAR = "near"  # differs, but like a typo or a day/month swap would
    DIFFERENT = "different"  # clearly another date

    @property
    def rank(self) -> int:
        return _AGREEMENT_RANK[self]


_AGREEMENT_RANK = {
    DateAgreement.EXACT: 3,
    DateAgreement.CONSISTENT: 2,
    DateAgreement.NEAR: 1,
    DateAgreement.DIFFERENT: 0,
}


@dataclass(frozen=True)
class PartialDate:
    """A listed date of birth, often known only to the year or a range of years.

    `to_year` makes it the inclusive range year..to_year (UN "BETWEEN"); `approximate` widens a
    year by `APPROXIMATE_YEARS` either side (UN "APPROXIMATELY", OFAC "circa").
    """

    year: int
    month: int | None = None
    day: int | None = None
    to_year: int | None = None
    approximate: bool = False

    APPROXIMATE_YEARS: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if not _MIN_YEAR <= self.year <= _MAX_YEAR:
            raise InvalidInput(f"year {self.year} is out of range", code="invalid_date")
        if self.day is not None and self.month is None:
            raise InvalidInput("a day needs a month", code="invalid_date")
        if self.month is not None:
            if self.to_year is not None:
                raise InvalidInput("a range of years has no month", code="invalid_date")
            if not 1 <= self.month <= 12:
                raise InvalidInput(f"month {self.month} is out of range", code="invalid_date")
        if self.day is not None:
            try:
                date(self.year, self.month or 1, self.day)
            except ValueError as exc:
                raise InvalidInput(str(exc), code="invalid_date") from exc
        if self.to_year is not None and not self.year <= self.to_year <= _MAX_YEAR:
            raise InvalidInput("a range must end after it starts", code="invalid_date")

    @classmethod
    def of(cls, value: date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    def compare(self, value: date) -> DateAgreement:
        """Grade `value` against this listed date. Lists carry typos and day/month swaps, so a
        near miss is graded apart from a clearly different date."""
        if self.to_year is not None:
            if self.year <= value.year <= self.to_year:
                return DateAgreement.CONSISTENT
            gap = self.year - value.year if value.year < self.year else value.year - self.to_year
            return DateAgreement.NEAR if gap <= 1 else DateAgreement.DIFFERENT
        if self.month is None:
            window = self.APPROXIMATE_YEARS if self.approximate else 0
            gap = abs(value.year - self.year)
            if gap <= window:
                return DateAgreement.CONSISTENT
            return DateAgreement.NEAR if gap <= window + 1 else DateAgreement.DIFFERENT
        if self.day is None:
            if (value.year, value.month) == (self.year, self.month):
                return DateAgreement.CONSISTENT
            return DateAgreement.NEAR if value.year == self.year else DateAgreement.DIFFERENT
        if (value.year, value.month, value.day) == (self.year, self.month, self.day):
            return DateAgreement.EXACT
        same_day_and_month = (value.month, value.day) == (self.month, self.day)
        swapped = (value.month, value.day) == (self.day, self.month)
        if value.year == self.year or same_day_and_month or swapped:
            return DateAgreement.NEAR
        return DateAgreement.DIFFERENT

    def matches(self, value: date) -> bool:
        """True when `value` agrees with this date at the precision the list gives."""
        return self.compare(value) in (DateAgreement.EXACT, DateAgreement.CONSISTENT)

    def __str__(self) -> str:
        if self.to_year is not None:
            return f"{self.year}..{self.to_year}"
        text = str(self.year)
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return f"~{text}" if self.approximate else text


@dataclass(frozen=True)
class Identifier:
    """A document or registration number on a list entry (passport, national id, IMO...)."""

    kind: str
    number: str
    country: str | None = None

    @property
    def normalized(self) -> str:
        return normalize_identifier(self.number)


def normalize_identifier(number: str) -> str:
    """Letters and digits only, upper case: 'P-001 7003' and 'p0017003' are one number; an
    IMO ship number is its seven digits with or without the 'IMO' prefix."""
    cleaned = "".join(ch for ch in number.upper() if ch.isascii() and ch.isalnum())
    if len(cleaned) == 10 and cleaned.startswith("IMO") and cleaned[3:].isdigit():
        return cleaned[3:]
    return cleaned


@dataclass(frozen=True)
class ListEntry:
    """One listed person, entity, vessel or aircraft, as a list file describes it.

    `weak_aliases` are names the list itself marks as low quality (UN QUALITY=Low, the OFAC
    "a.k.a." names kept in remarks, FollowTheMoney `weakAlias`): nicknames and fragments. They
    are screened, but a match through one scores lower (see `ScoringPolicy.weak_alias_penalty`).
    """

    source: str
    entry_id: str
    kind: EntryKind
    primary_name: str
    aliases: tuple[str, ...] = ()
    birth_dates: tuple[PartialDate, ...] = ()
    countries: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    programs: tuple[str, ...] = ()
    remarks: str = ""
    weak_aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ENTRY_KINDS:
            raise InvalidInput(f"unknown entry kind {self.kind!r}", code="invalid_entry")
        if not self.source or not self.entry_id:
            raise InvalidInput("an entry needs a source and an id", code="invalid_entry")
        if not self.primary_name.strip():
            raise InvalidInput("an entry needs a name", code="invalid_entry")

    @property
    def key(self) -> str:
        """Unique across lists: 'un:QDi.001'."""
        return f"{self.source}:{self.entry_id}"

    def names(self) -> tuple[tuple[str, bool], ...]:
        """Every name with whether it is weak: the primary name first, then aliases."""
        strong = (self.primary_name, *self.aliases)
        return tuple((n, False) for n in strong) + tuple((n, True) for n in self.weak_aliases)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for a database column); `from_dict` reverses it exactly."""
        return {
            "source": self.source,
            "entry_id": self.entry_id,
            "kind": self.kind,
            "primary_name": self.primary_name,
            "aliases": list(self.aliases),
            "weak_aliases": list(self.weak_aliases),
            "birth_dates": [
                {
                    "year": d.year,
                    "month": d.month,
                    "day": d.day,
                    "to_year": d.to_year,
                    "approximate": d.approximate,
                }
                for d in self.birth_dates
            ],
            "countries": list(self.countries),
            "identifiers": [
                {"kind": i.kind, "number": i.number, "country": i.country} for i in self.identifiers
            ],
            "programs": list(self.programs),
            "remarks": self.remarks,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ListEntry:
        return cls(
            source=data["source"],
            entry_id=data["entry_id"],
            kind=data["kind"],
            primary_name=data["primary_name"],
            aliases=tuple(data.get("aliases", ())),
            birth_dates=tuple(PartialDate(**d) for d in data.get("birth_dates", ())),
            countries=tuple(data.get("countries", ())),
            identifiers=tuple(Identifier(**i) for i in data.get("identifiers", ())),
            programs=tuple(data.get("programs", ())),
            remarks=data.get("remarks", ""),
            weak_aliases=tuple(data.get("weak_aliases", ())),
        )

    def canonical_json(self) -> str:
        """Sorted keys and sorted collections: reordering a file's aliases is no change."""
        document = {
            "source": self.source,
            "entry_id": self.entry_id,
            "kind": self.kind,
            "primary_name": self.primary_name,
            "aliases": sorted(self.aliases),
            "weak_aliases": sorted(self.weak_aliases),
            # sorted by their JSON text: parts may be null, which does not compare with ints
            "birth_dates": sorted(
                ([d.year, d.month, d.day, d.to_year, d.approximate] for d in self.birth_dates),
                key=json.dumps,
            ),
            "countries": sorted(self.countries),
            "identifiers": sorted([i.kind, i.number, i.country or ""] for i in self.identifiers),
            "programs": sorted(self.programs),
            "remarks": self.remarks,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON. A dismissed false positive stays dismissed while
        its entry's fingerprint is unchanged; a changed entry is reviewed again."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Subject:
    """Who is screened: a customer, a counterparty or a beneficiary.

    `kind` "person" screens against listed persons; "entity", "vessel" and "aircraft" against
    every listed non-person (a company may share its name with a listed ship). `countries`
    may be ISO codes or names; `identifiers` are document or registration numbers.
    """

    name: str
    birth_date: date | None = None
    countries: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    kind: EntryKind = "person"

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("a subject needs a name", code="invalid_subject")
        if len(self.name) > 1000:
            raise InvalidInput("a name is at most 1000 characters", code="invalid_subject")
        if self.kind not in ENTRY_KINDS:
            raise InvalidInput(f"unknown subject kind {self.kind!r}", code="invalid_subject")


@dataclass(frozen=True)
class TokenMatch:
    """One query token paired with one listed token, and how alike they are (0..1)."""

    query_token: str
    listed_token: str
    similarity: float


@dataclass(frozen=True)
class Evidence:
    """A fact beyond the name that moved the score: `effect` is in score points."""

    kind: Literal["dob", "country", "identifier"]
    outcome: Outcome
    detail: str
    effect: float = 0.0


@dataclass(frozen=True)
class Explanation:
    """Why a hit scored what it did, in the terms an analyst checks by hand."""

    query_tokens: tuple[str, ...]
    listed_tokens: tuple[str, ...]
    matches: tuple[TokenMatch, ...]
    unmatched_listed: tuple[str, ...]
    unmatched_listed_penalty: float
    unmatched_query: tuple[str, ...]
    unmatched_query_penalty: float
    weak_alias_penalty: float
    name_score: float
    evidence: tuple[Evidence, ...] = field(default=())
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (numbers are floats), with `describe()` as "summary"."""
        return {
            "query_tokens": list(self.query_tokens),
            "listed_tokens": list(self.listed_tokens),
            "matches": [
                {"query": m.query_token, "listed": m.listed_token, "similarity": m.similarity}
                for m in self.matches
            ],
            "unmatched_listed": list(self.unmatched_listed),
            "unmatched_listed_penalty": self.unmatched_listed_penalty,
            "unmatched_query": list(self.unmatched_query),
            "unmatched_query_penalty": self.unmatched_query_penalty,
            "weak_alias_penalty": self.weak_alias_penalty,
            "name_score": self.name_score,
            "evidence": [
                {"kind": e.kind, "outcome": e.outcome, "detail": e.detail, "effect": e.effect}
                for e in self.evidence
            ],
            "score": self.score,
            "summary": self.describe(),
        }

    @property
    def matched_tokens(self) -> tuple[str, ...]:
        return tuple(m.listed_token for m in self.matches)

    def describe(self) -> str:
        pairs = ", ".join(
            f"{m.query_token}~{m.listed_token} ({m.similarity:.2f})" for m in self.matches
        )
        parts = [
            f"Score {self.score:.1f} (name {self.name_score:.1f}).",
            f"Query tokens {' '.join(self.query_tokens) or '(none)'} against listed tokens "
            f"{' '.join(self.listed_tokens)}: matched {pairs or 'nothing'}.",
        ]
        if self.unmatched_listed:
            parts.append(
                f"Listed tokens not matched: {' '.join(self.unmatched_listed)} "
                f"(-{self.unmatched_listed_penalty:.1f})."
            )
        if self.unmatched_query:
            parts.append(
                f"Query tokens not matched: {' '.join(self.unmatched_query)} "
                f"(-{self.unmatched_query_penalty:.1f})."
            )
        if self.weak_alias_penalty:
            parts.append(f"Matched a low-quality alias (-{self.weak_alias_penalty:.1f}).")
        for item in self.evidence:
            effect = f" ({item.effect:+.1f})" if item.effect else ""
            parts.append(f"{_EVIDENCE_LABEL[item.kind]} {item.outcome}: {item.detail}{effect}.")
        return " ".join(parts)


_EVIDENCE_LABEL = {"dob": "Date of birth", "country": "Country", "identifier": "Identifier"}


@dataclass(frozen=True)
class Hit:
    """A list entry the subject may be; `score` is 0..100, `matched_name` the entry's name
    variant that scored best."""

    entry: ListEntry
    score: float
    matched_name: str
    explanation: Explanation
