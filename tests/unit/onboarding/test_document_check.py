from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Literal

import pytest

from finplat.kernel import InvalidInput
from finplat.onboarding.document_check import (
    ApplicantFacts,
    Verdict,
    check_document,
    is_identity_document,
)
from finplat.onboarding.mrz import MrzFormat, MrzReading, parse_mrz
from tests.unit.onboarding.mrz_factory import Fields, build

TODAY = date(2025, 6, 1)

#: A German passport, as the factory prints it.
PASSPORT = Fields(
    document_code="P",
    issuing_state="D",
    surname=("MUELLER",),
    given_names=("ANNA", "MARIA"),
    document_number="C01X00T47",
    nationality="D",
    birth="740812",
    sex="F",
    expiry="310415",
)
FACTS = ApplicantFacts(
    legal_given_names="Anna Maria",
    legal_surname="Müller",
    birth_date=date(1974, 8, 12),
    nationality_alpha2="DE",
    sex="F",
)


def read(fields: Fields = PASSPORT, fmt: MrzFormat = MrzFormat.TD3) -> MrzReading:
    return parse_mrz(build(fmt, fields), today=TODAY)


def verdict(
    fields: Fields = PASSPORT, facts: ApplicantFacts = FACTS, fmt: MrzFormat = MrzFormat.TD3
) -> Verdict:
    return check_document(read(fields, fmt), facts, today=TODAY)


def codes(result: Verdict) -> list[str]:
    return [reason.code for reason in result.reasons]


def test_a_matching_passport_passes() -> None:
    result = verdict()
    assert result.status == "passed"
    assert result.passed
    assert result.reasons == ()


@pytest.mark.parametrize("fmt", [MrzFormat.TD1, MrzFormat.TD2])
def test_matching_identity_cards_pass(fmt: MrzFormat) -> None:
    assert verdict(replace(PASSPORT, document_code="ID"), fmt=fmt).passed


def test_an_expired_document_fails_and_says_when() -> None:
    result = verdict(replace(PASSPORT, expiry="250531"))
    assert result.status == "failed"
    assert codes(result) == ["document_expired"]
    assert "2025-05-31" in result.reasons[0].message
    assert result.reasons[0].field == "expiry_date"


def test_a_document_expiring_today_is_still_valid() -> None:
    assert verdict(replace(PASSPORT, expiry="250601")).passed


def test_a_partial_expiry_date_expires_after_its_last_possible_day() -> None:
    assert verdict(replace(PASSPORT, expiry="2506<<")).passed
    expired = verdict(replace(PASSPORT, expiry="2505<<"))
    assert codes(expired) == ["document_expired"]
    assert "2025-05-??" in expired.reasons[0].message


def test_a_document_without_expiry_date_fails() -> None:
    assert codes(verdict(replace(PASSPORT, expiry="<<<<<<"))) == ["expiry_unknown"]


def test_the_icao_specimen_is_expired_and_of_no_real_nationality() -> None:
    reading = parse_mrz(
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        today=TODAY,
    )
    facts = replace(FACTS, legal_surname="Eriksson")
    result = check_document(reading, facts, today=TODAY)
    assert codes(result) == ["document_expired", "nationality_mismatch"]
    assert "2012-04-15" in result.reasons[0].message


def _with_bad_digit(text: str, line: int, position: int) -> str:
    lines = text.split("\n")
    row = lines[line]
    wrong = str((int(row[position]) + 1) % 10)
    lines[line] = row[:position] + wrong + row[position + 1 :]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("position", "name"),
    [(9, "document_number"), (19, "birth_date"), (27, "expiry_date"), (42, "personal_number")],
)
def test_a_wrong_check_digit_names_which(position: int, name: str) -> None:
    fields = replace(PASSPORT, optional=("12345",))
    text = _with_bad_digit(build(MrzFormat.TD3, fields), 1, position)
    result = check_document(parse_mrz(text, today=TODAY), FACTS, today=TODAY)
    assert codes(result) == ["check_digit_invalid", "check_digit_invalid"]
    assert [reason.field for reason in result.reasons] == [name, "composite"]
    label = name.replace("_", " ").replace("birth date", "date of birth")
    assert label in result.reasons[0].message


def test_only_the_composite_digit_wrong() -> None:
    text = _with_bad_digit(build(MrzFormat.TD3, PASSPORT), 1, 43)
    result = check_document(parse_mrz(text, today=TODAY), FACTS, today=TODAY)
    assert [(r.code, r.field) for r in result.reasons] == [("check_digit_invalid", "composite")]


# -- names -----------------------------------------------------------------------------------


def test_a_different_surname_fails() -> None:
    result = verdict(facts=replace(FACTS, legal_surname="Miller"))
    assert [(r.code, r.field) for r in result.reasons] == [("name_mismatch", "surname")]
    assert "MUELLER" in result.reasons[0].message
    assert "Miller" in result.reasons[0].message


def test_different_given_names_fail() -> None:
    result = verdict(facts=replace(FACTS, legal_given_names="Anne Maria"))
    assert [(r.code, r.field) for r in result.reasons] == [("name_mismatch", "given_names")]


@pytest.mark.parametrize(
    ("surname", "mrz"),
    [
        ("Müller", ("MUELLER",)),
        ("Müller", ("MULLER",)),
        ("  müller ", ("MUELLER",)),
        ("Øster", ("OESTER",)),
        ("Straße", ("STRASSE",)),
        ("O'Brien", ("OBRIEN",)),
        ("Smith-Jones", ("SMITH", "JONES")),
        ("Smith Jones", ("SMITH", "JONES")),
        ("Smith-Jones", ("SMITHJONES",)),
        ("de la Cruz", ("DE", "LA", "CRUZ")),
        ("Bär", ("BAER",)),
        ("Hämäläinen", ("HAMALAINEN",)),
        ("Ångström", ("AANGSTROEM",)),
        ("Ångström", ("ANGSTROM",)),
        ("Núñez", ("NUNEZ",)),
        ("Núñez", ("NUNXXEZ",)),
        ("Łukasiewicz", ("LUKASIEWICZ",)),
        ("Dvořák", ("DVORAK",)),
        ("Þórsdóttir", ("THORSDOTTIR",)),
    ],
)
def test_surnames_compare_after_icao_transliteration(surname: str, mrz: tuple[str, ...]) -> None:
    result = verdict(replace(PASSPORT, surname=mrz), replace(FACTS, legal_surname=surname))
    assert result.passed, result.reasons


@pytest.mark.parametrize(
    ("surname", "mrz"),
    [("Müller", ("MUHLER",)), ("Mueller", ("MULLER",)), ("Smith", ("SMITH", "JONES"))],
)
def test_transliteration_does_not_excuse_other_differences(
    surname: str, mrz: tuple[str, ...]
) -> None:
    result = verdict(replace(PASSPORT, surname=mrz), replace(FACTS, legal_surname=surname))
    assert codes(result) == ["name_mismatch"]


def test_names_in_another_script_cannot_be_compared() -> None:
    result = verdict(facts=replace(FACTS, legal_surname="Мюллер"))
    assert codes(result) == ["name_mismatch"]
    assert "Latin letters" in result.reasons[0].message


@pytest.mark.parametrize(
    ("mrz_given", "applicant"),
    [
        (("ANNA", "MARIA"), "Anna Maria"),
        (("ANNA",), "Anna Maria"),  # the issuer printed the first given name only
        (("ANNA", "MARIA"), "Maria Anna"),  # the same names in another order
        (("JEAN", "PIERRE"), "Jean-Pierre"),
        (("JOSE", "MARIA"), "José María"),
    ],
)
def test_given_names_that_match(mrz_given: tuple[str, ...], applicant: str) -> None:
    result = verdict(
        replace(PASSPORT, given_names=mrz_given), replace(FACTS, legal_given_names=applicant)
    )
    assert result.passed, result.reasons


@pytest.mark.parametrize(
    ("mrz_given", "applicant"),
    [
        (("ANNA", "MARIA"), "Anna"),  # the application leaves out a legal name
        (("MARIA",), "Anna Maria"),  # the MRZ's only name is not the applicant's first
        (("ANN",), "Anna Maria"),  # cut short, but the name field was not full
        (("A", "MARIA"), "Anna Maria"),  # an initial, but the name field was not full
        (("ANNA", "MARIA"), "Maria Anne"),
        ((), "Anna"),
        (("ANNA",), ""),
    ],
)
def test_given_names_that_do_not_match(mrz_given: tuple[str, ...], applicant: str) -> None:
    result = verdict(
        replace(PASSPORT, given_names=mrz_given), replace(FACTS, legal_given_names=applicant)
    )
    assert [(r.code, r.field) for r in result.reasons] == [("name_mismatch", "given_names")]


def test_a_person_with_no_given_names() -> None:
    assert verdict(replace(PASSPORT, given_names=()), replace(FACTS, legal_given_names="  ")).passed


LONG_FACTS = replace(
    FACTS,
    legal_surname="Mueller-Luedenscheidt",
    legal_given_names="Anna Maria Elisabetha Charlotte",
)


def _full(name_field: str, width: int) -> Fields:
    assert len(name_field) == width, len(name_field)
    return replace(PASSPORT, document_code="ID", name_field=name_field)


@pytest.mark.parametrize(
    "name_field",
    [
        "MUELLER<LUEDENSCHEIDT<<ANNA<MA",  # the second given name cut short
        "MUELLER<LUEDENSCHEIDT<<A<M<E<C",  # initials
        "MUELLER<LUEDENSCHEIDT<<ANNA<<<",  # not full: the first given name only
    ],
)
def test_truncated_names_still_pass(name_field: str) -> None:
    fields = _full(name_field, 30)
    reading = read(fields, MrzFormat.TD1)
    assert reading.name_truncated == (not name_field.endswith("<"))
    result = check_document(reading, LONG_FACTS, today=TODAY)
    assert result.passed, result.reasons


def test_a_surname_filling_the_field_may_be_cut() -> None:
    facts = replace(LONG_FACTS, legal_surname="Mueller-Luedenscheidt von Hohenzollern")
    reading = read(_full("MUELLER<LUEDENSCHEIDT<VON<HOHE", 30), MrzFormat.TD1)
    assert reading.name_truncated
    assert reading.given_names == ()
    assert check_document(reading, facts, today=TODAY).passed
    # without the full field, a shorter surname is a different surname
    reading = read(_full("MUELLER<LUEDENSCHEIDT<VON<HO<<", 30), MrzFormat.TD1)
    assert codes(check_document(reading, facts, today=TODAY)) == ["name_mismatch"] * 2


@pytest.mark.parametrize(
    "name_field",
    [
        "MUELLER<LUEDENSCHEIDT<<ANNA<MX",  # a truncated name still has to agree
        "MUELLER<LUEDENSCHEIDT<<ANNA<EL",  # the second given name skipped
        "MUELLER<LUEDENSCHEID<<ANNA<<<<",  # a shortened surname without a full field
    ],
)
def test_truncation_is_no_excuse_for_a_different_name(name_field: str) -> None:
    result = check_document(read(_full(name_field, 30), MrzFormat.TD1), LONG_FACTS, today=TODAY)
    assert codes(result) == ["name_mismatch"]


# -- the other facts -------------------------------------------------------------------------


def test_a_different_birth_date_fails() -> None:
    result = verdict(facts=replace(FACTS, birth_date=date(1974, 8, 13)))
    assert [(r.code, r.field) for r in result.reasons] == [("birth_date_mismatch", "birth_date")]
    assert "1974-08-12" in result.reasons[0].message
    assert "1974-08-13" in result.reasons[0].message


def test_a_partial_birth_date_is_compared_on_what_it_shows() -> None:
    assert verdict(replace(PASSPORT, birth="7408<<")).passed
    assert verdict(replace(PASSPORT, birth="74<<<<")).passed
    assert codes(verdict(replace(PASSPORT, birth="7409<<"))) == ["birth_date_mismatch"]
    assert codes(verdict(replace(PASSPORT, birth="75<<<<"))) == ["birth_date_mismatch"]


@pytest.mark.parametrize(("mrz", "alpha2"), [("D", "DE"), ("DEU", "DE"), ("GBD", "GB")])
def test_nationalities_that_match(mrz: str, alpha2: str) -> None:
    assert verdict(
        replace(PASSPORT, nationality=mrz), replace(FACTS, nationality_alpha2=alpha2)
    ).passed


@pytest.mark.parametrize(
    ("mrz", "words"),
    [("FRA", "France"), ("XXA", "stateless"), ("UTO", "'UTO'"), ("AUT", "Austria")],
)
def test_nationalities_that_do_not_match(mrz: str, words: str) -> None:
    result = verdict(replace(PASSPORT, nationality=mrz))
    assert [(r.code, r.field) for r in result.reasons] == [("nationality_mismatch", "nationality")]
    assert words in result.reasons[0].message
    assert "Germany" in result.reasons[0].message


@pytest.mark.parametrize(
    ("mrz", "applicant", "passes"),
    [
        ("F", "F", True),
        ("X", "X", True),
        ("<", "F", True),  # unspecified on the document
        ("M", None, True),  # not given in the application
        ("M", "F", False),
        ("X", "M", False),
    ],
)
def test_sex(mrz: str, applicant: Literal["M", "F", "X"] | None, passes: bool) -> None:
    result = verdict(replace(PASSPORT, sex=mrz), replace(FACTS, sex=applicant))
    assert result.passed is passes
    if not passes:
        assert codes(result) == ["sex_mismatch"]


# -- document types and structure ------------------------------------------------------------


@pytest.mark.parametrize("fmt", [MrzFormat.MRV_A, MrzFormat.MRV_B])
def test_a_visa_is_not_an_identity_document(fmt: MrzFormat) -> None:
    reading = read(replace(PASSPORT, document_code="V"), fmt)
    assert reading.valid
    assert not is_identity_document(reading)
    result = check_document(reading, FACTS, today=TODAY)
    assert codes(result) == ["unsupported_document"]
    assert "a visa is not an identity document" in result.reasons[0].message.lower()


@pytest.mark.parametrize(
    ("code", "fmt"), [("AC", MrzFormat.TD1), ("R", MrzFormat.TD3), ("X", MrzFormat.TD2)]
)
def test_other_document_types_are_unsupported(code: str, fmt: MrzFormat) -> None:
    result = verdict(replace(PASSPORT, document_code=code), fmt=fmt)
    assert codes(result) == ["unsupported_document"]


def test_an_unreadable_mrz_fails_with_its_problem_only() -> None:
    reading = parse_mrz("P<UTO\nL898", today=TODAY)
    result = check_document(reading, FACTS, today=TODAY)
    assert codes(result) == ["mrz_malformed"]


def test_structural_problems_pass_through() -> None:
    result = verdict(replace(PASSPORT, sex="Q", birth="741340"))
    assert codes(result) == ["date_invalid", "sex_invalid"]
    assert [r.field for r in result.reasons] == ["birth_date", "sex"]


def test_every_reason_is_reported_at_once() -> None:
    result = verdict(
        replace(PASSPORT, expiry="200101", nationality="FRA", sex="M"),
        replace(FACTS, legal_surname="Schmidt", birth_date=date(1980, 1, 1)),
    )
    assert codes(result) == [
        "document_expired",
        "name_mismatch",
        "birth_date_mismatch",
        "nationality_mismatch",
        "sex_mismatch",
    ]


def test_applicant_facts_are_validated() -> None:
    with pytest.raises(InvalidInput):
        replace(FACTS, nationality_alpha2="ZZ")
    with pytest.raises(InvalidInput):
        replace(FACTS, legal_surname=" ")
    with pytest.raises(InvalidInput):
        replace(FACTS, sex="Q")  # type: ignore[arg-type]


def test_today_must_be_a_date() -> None:
    with pytest.raises(TypeError):
        check_document(read(), FACTS, today=datetime(2025, 6, 1))  # noqa: DTZ001
