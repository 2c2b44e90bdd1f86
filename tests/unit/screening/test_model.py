"""List entries, partial dates, fingerprints and explanations."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finplat.kernel import InvalidInput
from finplat.onboarding.screening import (
    DateAgreement,
    Evidence,
    Explanation,
    Identifier,
    ListEntry,
    PartialDate,
    Subject,
    TokenMatch,
    normalize_identifier,
)

ENTRY = ListEntry(
    source="un",
    entry_id="XXi.001",
    kind="person",
    primary_name="Test Person",
    aliases=("Tester Person", "T. Person"),
    birth_dates=(PartialDate(1970, 1, 2), PartialDate(1971)),
    countries=("FR", "DE"),
    identifiers=(Identifier("passport", "AB123456", "FR"),),
    programs=("TEST",),
    remarks="fictional",
    weak_aliases=("Testy",),
)


@pytest.mark.parametrize(
    ("listed", "given_date", "expected"),
    [
        (PartialDate(1970, 1, 2), date(1970, 1, 2), DateAgreement.EXACT),
        (PartialDate(1970, 1, 2), date(1970, 2, 1), DateAgreement.NEAR),  # day/month swapped
        (PartialDate(1970, 1, 2), date(1970, 5, 20), DateAgreement.NEAR),  # same year
        (PartialDate(1970, 1, 2), date(1971, 1, 2), DateAgreement.NEAR),  # year typo
        (PartialDate(1970, 1, 2), date(1985, 6, 9), DateAgreement.DIFFERENT),
        (PartialDate(1970), date(1970, 8, 8), DateAgreement.CONSISTENT),
        (PartialDate(1970), date(1971, 8, 8), DateAgreement.NEAR),
        (PartialDate(1970), date(1975, 8, 8), DateAgreement.DIFFERENT),
        (PartialDate(1970, 8), date(1970, 8, 30), DateAgreement.CONSISTENT),
        (PartialDate(1970, 8), date(1970, 9, 1), DateAgreement.NEAR),
        (PartialDate(1973, to_year=1974), date(1974, 12, 31), DateAgreement.CONSISTENT),
        (PartialDate(1973, to_year=1974), date(1975, 1, 1), DateAgreement.NEAR),
        (PartialDate(1973, to_year=1974), date(1980, 1, 1), DateAgreement.DIFFERENT),
        (PartialDate(1960, approximate=True), date(1962, 3, 3), DateAgreement.CONSISTENT),
        (PartialDate(1960, approximate=True), date(1966, 3, 3), DateAgreement.DIFFERENT),
    ],
)
def test_partial_date_comparison(
    listed: PartialDate, given_date: date, expected: DateAgreement
) -> None:
    assert listed.compare(given_date) is expected
    assert listed.matches(given_date) is (
        expected in (DateAgreement.EXACT, DateAgreement.CONSISTENT)
    )


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 12, 31)))
def test_a_full_date_matches_itself_exactly(value: date) -> None:
    assert PartialDate.of(value).compare(value) is DateAgreement.EXACT
    assert PartialDate(value.year).matches(value)


@pytest.mark.parametrize(
    "arguments",
    [
        {"year": 1700},
        {"year": 1970, "month": 13},
        {"year": 1970, "month": 2, "day": 30},
        {"year": 1970, "day": 3},
        {"year": 1975, "to_year": 1970},
        {"year": 1970, "month": 1, "to_year": 1971},
    ],
)
def test_impossible_dates_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        PartialDate(**arguments)


def test_partial_dates_print_at_their_precision() -> None:
    assert str(PartialDate(1970)) == "1970"
    assert str(PartialDate(1970, 3)) == "1970-03"
    assert str(PartialDate(1970, 3, 9)) == "1970-03-09"
    assert str(PartialDate(1973, to_year=1974)) == "1973..1974"
    assert str(PartialDate(1960, approximate=True)) == "~1960"


def test_fingerprint_is_a_stable_sha256_of_the_entry() -> None:
    assert len(ENTRY.fingerprint) == 64
    assert ENTRY.fingerprint == dataclasses.replace(ENTRY).fingerprint
    assert json.loads(ENTRY.canonical_json())["aliases"] == ["T. Person", "Tester Person"]


@pytest.mark.parametrize(
    "change",
    [
        {"primary_name": "Test Persson"},
        {"aliases": ("Tester Person",)},
        {"weak_aliases": ()},
        {"birth_dates": (PartialDate(1970, 1, 3),)},
        {"countries": ("FR",)},
        {"identifiers": (Identifier("passport", "AB123457", "FR"),)},
        {"programs": ("OTHER",)},
        {"remarks": "changed"},
        {"kind": "entity"},
    ],
)
def test_fingerprint_changes_when_the_entry_changes(change: dict[str, object]) -> None:
    changed = dataclasses.replace(ENTRY, **change)  # type: ignore[arg-type]
    assert changed.fingerprint != ENTRY.fingerprint


def test_fingerprint_ignores_the_order_a_file_lists_things_in() -> None:
    reordered = dataclasses.replace(
        ENTRY,
        aliases=tuple(reversed(ENTRY.aliases)),
        countries=tuple(reversed(ENTRY.countries)),
        birth_dates=tuple(reversed(ENTRY.birth_dates)),
    )
    assert reordered.fingerprint == ENTRY.fingerprint


def test_entries_round_trip_through_plain_data() -> None:
    data = json.loads(json.dumps(ENTRY.to_dict()))
    restored = ListEntry.from_dict(data)
    assert restored == ENTRY
    assert restored.fingerprint == ENTRY.fingerprint


def test_an_entry_needs_a_name_and_a_known_kind() -> None:
    with pytest.raises(InvalidInput):
        dataclasses.replace(ENTRY, primary_name="  ")
    with pytest.raises(InvalidInput):
        dataclasses.replace(ENTRY, kind="ship")  # type: ignore[arg-type]


def test_subjects_are_validated() -> None:
    with pytest.raises(InvalidInput):
        Subject(" ")
    with pytest.raises(InvalidInput):
        Subject("x" * 1001)
    with pytest.raises(InvalidInput):
        Subject("Acme", kind="company")  # type: ignore[arg-type]


def test_identifier_numbers_compare_without_punctuation() -> None:
    assert normalize_identifier("p-001 7003") == normalize_identifier("P0017003") == "P0017003"
    assert normalize_identifier("IMO 9486910") == normalize_identifier("9486910")
    assert Identifier("passport", "fk-117 rk0").normalized == "FK117RK0"


def test_explanation_describes_every_part_of_the_score() -> None:
    explanation = Explanation(
        query_tokens=("BOSCO", "TAGENDA", "JR"),
        listed_tokens=("BOSCO", "NTAGANDA", "X"),
        matches=(TokenMatch("BOSCO", "BOSCO", 1.0), TokenMatch("TAGENDA", "NTAGANDA", 0.91)),
        unmatched_listed=("X",),
        unmatched_listed_penalty=13.3,
        unmatched_query=("JR",),
        unmatched_query_penalty=6.7,
        weak_alias_penalty=10.0,
        name_score=65.5,
        evidence=(Evidence("dob", "contradicts", "given 1990-01-01, listed 1973", -20.0),),
        score=45.5,
    )
    text = explanation.describe()
    for part in ("45.5", "65.5", "BOSCO~BOSCO (1.00)", "TAGENDA~NTAGANDA (0.91)", "-13.3"):
        assert part in text
    assert "Listed tokens not matched: X" in text
    assert "low-quality alias" in text
    assert "Date of birth contradicts" in text
    assert "(-20.0)" in text
    assert explanation.matched_tokens == ("BOSCO", "NTAGANDA")
    assert json.loads(json.dumps(explanation.to_dict()))["summary"] == text
