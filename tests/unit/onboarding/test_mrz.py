from __future__ import annotations

import string
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finplat.onboarding.mrz import (
    BIRTH_DATE,
    COMPOSITE,
    DOCUMENT_NUMBER,
    EXPIRY_DATE,
    PERSONAL_NUMBER,
    MrzDate,
    MrzFormat,
    MrzReading,
    check_digit,
    parse_mrz,
)
from tests.unit.onboarding.mrz_factory import Fields, build, digit, td1, td3

TODAY = date(2025, 6, 1)

# ICAO Doc 9303 specimens ("Utopia"). Every check digit below was recomputed with the 7-3-1
# rule (see test_specimen_digits_recomputed) rather than trusted from memory.
TD3_TOP = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
TD3_BOTTOM = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD3_SPECIMEN = f"{TD3_TOP}\n{TD3_BOTTOM}"
#: the older edition's passport specimen: an 8-character number padded with a filler
TD3_OLD_SPECIMEN = f"{TD3_TOP}\nL898902C<3UTO6908061F9406236ZE184226B<<<<<14"
TD2_TOP = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<"
TD2_SPECIMEN = f"{TD2_TOP}\nD231458907UTO7408122F1204159<<<<<<<6"
TD1_SPECIMEN = "\n".join(
    (
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )
)
#: the visa specimens' optional data is left empty here: only their check digits are certain
MRV_A_SPECIMEN = "\n".join(
    (
        "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L8988901C4XXX4009078F9612109<<<<<<<<<<<<<<<<",
    )
)
MRV_B_SPECIMEN = "\n".join(
    ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<")
)


def parse(text: str) -> MrzReading:
    return parse_mrz(text, today=TODAY)


def failed(reading: MrzReading) -> set[str]:
    return {check.name for check in reading.failed_checks}


def problem_codes(reading: MrzReading) -> list[str]:
    return [problem.code for problem in reading.problems]


# -- specimens -------------------------------------------------------------------------------


def test_specimen_digits_recomputed() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    assert check_digit("L898902C36" + "7408122" + "1204159ZE184226B<<<<<1") == "0"
    assert check_digit("D23145890") == "7"
    assert check_digit("L8988901C") == "4"
    assert check_digit("400907") == "8"
    assert check_digit("961210") == "9"
    assert check_digit("D23145890734") == "9"


def test_td3_specimen() -> None:
    reading = parse(TD3_SPECIMEN)
    assert reading.format is MrzFormat.TD3
    assert reading.valid, reading
    assert reading.document_code == "P"
    assert reading.issuing_state == "UTO"
    assert reading.surname == "ERIKSSON"
    assert reading.given_names == ("ANNA", "MARIA")
    assert not reading.name_truncated
    assert reading.document_number == "L898902C3"
    assert reading.nationality == "UTO"
    assert reading.birth_date == MrzDate(1974, 8, 12)
    assert reading.sex == "F"
    assert reading.expiry_date == MrzDate(2012, 4, 15)
    assert reading.optional_data == ("ZE184226B",)
    assert [check.name for check in reading.checks] == [
        DOCUMENT_NUMBER,
        PERSONAL_NUMBER,
        BIRTH_DATE,
        EXPIRY_DATE,
        COMPOSITE,
    ]
    assert all(check.ok and check.expected == check.found for check in reading.checks)


def test_old_td3_specimen_with_short_number() -> None:
    reading = parse(TD3_OLD_SPECIMEN)
    assert reading.valid, reading
    assert reading.document_number == "L898902C"
    assert reading.birth_date == MrzDate(1969, 8, 6)
    assert reading.expiry_date == MrzDate(1994, 6, 23)


@pytest.mark.parametrize("text", [TD2_SPECIMEN, TD1_SPECIMEN], ids=["td2", "td1"])
def test_identity_card_specimens(text: str) -> None:
    reading = parse(text)
    assert reading.format is (MrzFormat.TD2 if text == TD2_SPECIMEN else MrzFormat.TD1)
    assert reading.valid, reading
    assert reading.document_code == "I"
    assert reading.document_number == "D23145890"
    assert (reading.surname, reading.given_names) == ("ERIKSSON", ("ANNA", "MARIA"))
    assert reading.birth_date == MrzDate(1974, 8, 12)
    assert reading.expiry_date == MrzDate(2012, 4, 15)
    assert reading.sex == "F"
    assert {check.name for check in reading.checks} == {
        DOCUMENT_NUMBER,
        BIRTH_DATE,
        EXPIRY_DATE,
        COMPOSITE,
    }


@pytest.mark.parametrize(
    ("text", "fmt"),
    [(MRV_A_SPECIMEN, MrzFormat.MRV_A), (MRV_B_SPECIMEN, MrzFormat.MRV_B)],
    ids=["mrv-a", "mrv-b"],
)
def test_visa_specimens_have_no_composite(text: str, fmt: MrzFormat) -> None:
    reading = parse(text)
    assert reading.format is fmt
    assert fmt.is_visa
    assert reading.valid, reading
    assert reading.document_code == "V"
    assert reading.document_number == "L8988901C"
    assert reading.nationality == "XXX"
    assert reading.birth_date == MrzDate(1940, 9, 7)
    assert reading.expiry_date == MrzDate(1996, 12, 10)
    assert {check.name for check in reading.checks} == {DOCUMENT_NUMBER, BIRTH_DATE, EXPIRY_DATE}


def test_a_td3_sized_document_starting_with_v_is_a_visa_and_others_are_not() -> None:
    assert parse(TD3_SPECIMEN.replace("P<", "V<", 1)).format is MrzFormat.MRV_A
    assert parse(TD2_SPECIMEN.replace("I<", "V<", 1)).format is MrzFormat.MRV_B
    assert parse(TD2_SPECIMEN.replace("I<", "A<", 1)).format is MrzFormat.TD2


# -- one changed character fails exactly its checks ------------------------------------------


def _neighbour(char: str) -> str:
    """A different character whose check value differs by one (so every weight notices)."""
    if char == "<":
        return "1"
    if char.isdigit():
        return str((int(char) + 1) % 10)
    return "Y" if char == "Z" else chr(ord(char) + 1)


def _flip(text: str, line: int, position: int) -> str:
    lines = text.split("\n")
    row = lines[line]
    lines[line] = row[:position] + _neighbour(row[position]) + row[position + 1 :]
    return "\n".join(lines)


def _regions(
    spans: list[tuple[int, int, int, set[str]]],
) -> list[tuple[int, int, set[str]]]:
    return [(line, pos, names) for line, start, end, names in spans for pos in range(start, end)]


DOC, BIRTH, EXPIRY, PERSONAL, COMP = (
    DOCUMENT_NUMBER,
    BIRTH_DATE,
    EXPIRY_DATE,
    PERSONAL_NUMBER,
    COMPOSITE,
)
FLIPS = {
    "td3": (
        TD3_SPECIMEN,
        _regions(
            [
                (0, 5, 44, set()),  # the name is covered by no check digit
                (1, 0, 10, {DOC, COMP}),
                (1, 10, 13, set()),  # nationality: outside every check, as ICAO has it
                (1, 13, 20, {BIRTH, COMP}),
                (1, 20, 21, set()),  # sex
                (1, 21, 28, {EXPIRY, COMP}),
                (1, 28, 43, {PERSONAL, COMP}),
                (1, 43, 44, {COMP}),
            ]
        ),
    ),
    "td2": (
        TD2_SPECIMEN,
        _regions(
            [
                (1, 0, 10, {DOC, COMP}),
                (1, 10, 13, set()),
                (1, 13, 20, {BIRTH, COMP}),
                (1, 21, 28, {EXPIRY, COMP}),
                (1, 28, 36, {COMP}),
            ]
        ),
    ),
    "td1": (
        TD1_SPECIMEN,
        _regions(
            [
                (0, 5, 15, {DOC, COMP}),
                (0, 15, 30, {COMP}),
                (1, 0, 7, {BIRTH, COMP}),
                (1, 7, 8, set()),
                (1, 8, 15, {EXPIRY, COMP}),
                (1, 15, 18, set()),
                (1, 18, 30, {COMP}),
                (2, 0, 30, set()),
            ]
        ),
    ),
    "mrv-a": (
        MRV_A_SPECIMEN,
        _regions(
            [
                (1, 0, 10, {DOC}),
                (1, 13, 20, {BIRTH}),
                (1, 21, 28, {EXPIRY}),
                (1, 28, 44, set()),
            ]
        ),
    ),
    "mrv-b": (
        MRV_B_SPECIMEN,
        _regions([(1, 0, 10, {DOC}), (1, 13, 20, {BIRTH}), (1, 21, 28, {EXPIRY})]),
    ),
}


@pytest.mark.parametrize("kind", sorted(FLIPS))
def test_flipping_one_character_fails_exactly_the_checks_covering_it(kind: str) -> None:
    text, flips = FLIPS[kind]
    assert parse(text).valid
    for line, position, expected in flips:
        reading = parse(_flip(text, line, position))
        assert failed(reading) == expected, (kind, line, position, reading.checks)
        if expected:
            assert not reading.valid


def test_a_failed_check_reports_what_it_expected_and_found() -> None:
    reading = parse(_flip(TD3_SPECIMEN, 1, 19))  # the birth-date check digit 2 -> 3
    check = reading.check(BIRTH_DATE)
    assert check is not None
    assert (check.expected, check.found, check.ok) == ("2", "3", False)


# -- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n  ",
        TD3_TOP,  # one line
        TD3_SPECIMEN[:-1],  # second line one short
        TD3_SPECIMEN + "<",  # second line one long
        TD3_SPECIMEN + "\n" + TD3_TOP,  # three lines of 44
        TD2_TOP + "\n" + TD3_BOTTOM,  # 36 and 44
        TD1_SPECIMEN.rsplit("\n", 1)[0],  # two lines of 30
    ],
    ids=["empty", "blank", "one-line", "short", "long", "three-44", "mixed", "two-30"],
)
def test_wrong_shapes_are_malformed_not_errors(text: str) -> None:
    reading = parse(text)
    assert reading.format is None
    assert problem_codes(reading) == ["mrz_malformed"]
    assert not reading.valid
    assert reading.checks == ()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (TD3_SPECIMEN.replace("ANNA", "AN A"), "space"),
        (TD3_SPECIMEN.replace("ANNA", "AN\tA"), "space"),
        (TD3_SPECIMEN.replace("ANNA", "ANNÄ"), "'Ä'"),
        (TD3_SPECIMEN.replace("L898902C3", "L898902C/"), "'/'"),
        (TD3_SPECIMEN.replace("<<ANNA", "«ANNA"), "'«'"),
    ],
)
def test_illegal_characters_are_malformed(text: str, words: str) -> None:
    reading = parse(text)
    assert reading.format is None
    assert problem_codes(reading) == ["mrz_malformed"]
    assert words in reading.problems[0].message


def test_surrounding_whitespace_blank_lines_and_lower_case_are_tolerated() -> None:
    top, bottom = TD3_SPECIMEN.split("\n")
    reading = parse(f"\n   {top.lower()}  \r\n\n\t{bottom.lower()}\n  ")
    assert reading.valid
    assert reading.lines == (top, bottom)
    assert reading.surname == "ERIKSSON"


def test_programmer_errors_raise() -> None:
    with pytest.raises(TypeError):
        parse_mrz(TD3_SPECIMEN.encode(), today=TODAY)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_mrz(TD3_SPECIMEN, today=datetime(2025, 6, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="not an MRZ character"):
        check_digit("abc")


def test_lines_out_of_order_are_reported() -> None:
    top, bottom = TD3_SPECIMEN.split("\n")
    reading = parse(f"{bottom}\n{top}")
    assert not reading.valid
    assert "mrz_malformed" in problem_codes(reading)


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        ("740812", MrzDate(1974, 8, 12)),
        ("200101", MrzDate(2020, 1, 1)),
        ("250601", MrzDate(2025, 6, 1)),  # born today
        ("250602", MrzDate(1925, 6, 2)),  # tomorrow in this century is the future
        ("991231", MrzDate(1999, 12, 31)),
        ("000229", MrzDate(2000, 2, 29)),
    ],
)
def test_birth_century_is_the_latest_not_in_the_future(birth: str, expected: MrzDate) -> None:
    reading = parse(td3(birth=birth))
    assert reading.valid, reading.problems
    assert reading.birth_date == expected


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        ("120415", MrzDate(2012, 4, 15)),
        ("350101", MrzDate(2035, 1, 1)),
        ("740812", MrzDate(2074, 8, 12)),  # 49 years ahead: the window's last year
        ("750101", MrzDate(1975, 1, 1)),  # 50 years back: the window's first year
        ("991231", MrzDate(1999, 12, 31)),
    ],
)
def test_expiry_century_is_within_fifty_years_of_today(expiry: str, expected: MrzDate) -> None:
    reading = parse(td3(expiry=expiry))
    assert reading.valid, reading.problems
    assert reading.expiry_date == expected


def test_unknown_day_and_month_of_birth_give_a_partial_date() -> None:
    assert parse(td3(birth="7408<<")).birth_date == MrzDate(1974, 8, None)
    year_only = parse(td3(birth="74<<<<"))
    assert year_only.valid
    assert year_only.birth_date == MrzDate(1974)
    assert year_only.birth_date is not None
    assert year_only.birth_date.as_date() is None
    assert str(year_only.birth_date) == "1974-??-??"
    unknown = parse(td3(birth="<<<<<<"))
    assert unknown.valid
    assert unknown.birth_date is None
    # a partial date is placed in the century by its first possible day: 2025-06 has begun
    assert parse(td3(birth="2506<<")).birth_date == MrzDate(2025, 6)
    assert parse(td3(birth="2507<<")).birth_date == MrzDate(1925, 7)


@pytest.mark.parametrize("birth", ["741312", "740230", "250229", "74<<12", "7408<1", "7A0812"])
def test_impossible_dates_are_problems(birth: str) -> None:
    reading = parse(td3(birth=birth))
    assert reading.birth_date is None
    assert problem_codes(reading) == ["date_invalid"]
    assert reading.problems[0].field == BIRTH_DATE
    assert not failed(reading)  # the digits agree: the MRZ says something impossible
    assert not reading.valid


def test_mrz_date_helpers() -> None:
    partial = MrzDate(2024, 2)
    assert partial.earliest() == date(2024, 2, 1)
    assert partial.latest() == date(2024, 2, 29)
    assert MrzDate(2023).latest() == date(2023, 12, 31)
    assert partial.matches(date(2024, 2, 17))
    assert not partial.matches(date(2024, 3, 17))
    assert MrzDate(2024, 2, 3).as_date() == date(2024, 2, 3)
    with pytest.raises(ValueError, match="day without a month"):
        MrzDate(2024, None, 3)
    with pytest.raises(ValueError, match="day is out of range"):
        MrzDate(2023, 2, 29)


# -- other fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(("char", "sex"), [("M", "M"), ("F", "F"), ("X", "X"), ("<", None)])
def test_sex(char: str, sex: str | None) -> None:
    reading = parse(td3(sex=char))
    assert reading.valid
    assert reading.sex == sex


def test_unknown_sex_code_is_a_problem() -> None:
    reading = parse(td3(sex="Q"))
    assert reading.sex is None
    assert problem_codes(reading) == ["sex_invalid"]
    assert not reading.valid


def test_names_with_several_parts() -> None:
    reading = parse(td3(surname=("DE", "LA", "CRUZ"), given_names=("JOSE", "MARIA")))
    assert reading.surname == "DE LA CRUZ"
    assert reading.given_names == ("JOSE", "MARIA")
    assert not reading.name_truncated


def test_a_single_name_has_no_given_names() -> None:
    reading = parse(td3(surname=("SUKARNO",), given_names=()))
    assert reading.valid
    assert (reading.surname, reading.given_names) == ("SUKARNO", ())


def test_a_name_filling_the_field_may_be_truncated() -> None:
    field = "ERIKSSON<<ANNA<MARIA<ELISABETH<CHARLOTTE"[:39]
    reading = parse(td3(name_field=field))
    assert reading.name_truncated
    assert reading.given_names == ("ANNA", "MARIA", "ELISABETH", "CHARLOTT")


@pytest.mark.parametrize("field", ["ERIKSS0N<<ANNA", "<<ANNA", ""])
def test_malformed_names_are_problems(field: str) -> None:
    reading = parse(td3(name_field=field))
    assert "name_malformed" in problem_codes(reading)
    assert not reading.valid


def test_country_codes_lose_their_fillers_and_must_be_letters() -> None:
    reading = parse(td3(issuing_state="D", nationality="D"))
    assert (reading.issuing_state, reading.nationality) == ("D", "D")
    assert reading.valid
    bad = parse(td3(nationality="U1O"))
    assert [p.field for p in bad.problems] == ["nationality"]


def test_empty_personal_number_may_have_a_filler_check_digit() -> None:
    reading = parse(td3(optional=()))
    assert reading.lines[1][28:43] == "<" * 15
    assert reading.valid
    assert reading.optional_data == ("",)
    # but a personal number with a filler for its check digit fails
    top, bottom = td3(optional=("AB1234",)).split("\n")
    broken = parse(f"{top}\n{bottom[:42]}<{bottom[43]}")
    assert failed(broken) == {PERSONAL_NUMBER, COMPOSITE}
    # and an empty one with a 0 passes too (the digit of all fillers is 0)
    line = bottom[:28] + "<" * 14 + "0"
    filled = parse(f"{top}\n{line}{digit(line[0:10] + line[13:20] + line[21:43])}")
    assert filled.valid, filled


# -- long document numbers (TD1, TD2) --------------------------------------------------------

#: Doc 9303's layout for a 12-character number: 9 characters, '<', then "734" and its
#: check digit 9 at the start of the optional data, then a filler.
TD1_LONG_TOP = "I<UTOD23145890<7349<<<<<<<<<<<"


def test_td1_long_document_number_overflows_into_optional_data() -> None:
    text = td1(Fields(document_code="I", document_number="D23145890734", optional=("XY12",)))
    assert text.split("\n")[0] == "I<UTOD23145890<7349<XY12<<<<<<"
    reading = parse(text)
    assert reading.valid, reading
    assert reading.document_number == "D23145890734"
    assert reading.optional_data == ("XY12", "")
    check = reading.check(DOCUMENT_NUMBER)
    assert check is not None
    assert check.found == "9"


def test_td1_long_document_number_specimen_layout() -> None:
    middle = "7408122F1204159UTO<<<<<<<<<<<"
    composite = check_digit(TD1_LONG_TOP[5:30] + middle[0:7] + middle[8:15] + middle[18:29])
    reading = parse(f"{TD1_LONG_TOP}\n{middle}{composite}\nERIKSSON<<ANNA<MARIA<<<<<<<<<<")
    assert reading.valid, reading
    assert reading.document_number == "D23145890734"
    assert reading.optional_data == ("", "")


def test_td1_long_document_number_with_a_wrong_digit_fails_its_check() -> None:
    text = td1(Fields(document_code="I", document_number="D23145890734"))
    reading = parse(_flip(text, 0, 18))  # the overflow's check digit
    assert failed(reading) == {DOCUMENT_NUMBER, COMPOSITE}
    reading = parse(_flip(text, 0, 16))  # a character of the number's remainder
    assert failed(reading) == {DOCUMENT_NUMBER, COMPOSITE}


def test_td1_overflow_marker_without_the_rest_is_a_problem() -> None:
    top = "I<UTOD23145890<<<<<<<<<<<<<<<<"
    middle = "7408122F1204159UTO<<<<<<<<<<<"
    composite = check_digit(top[5:30] + middle[0:7] + middle[8:15] + middle[18:29])
    reading = parse(f"{top}\n{middle}{composite}\nERIKSSON<<ANNA<MARIA<<<<<<<<<<")
    assert problem_codes(reading) == ["mrz_malformed"]
    assert failed(reading) == {DOCUMENT_NUMBER}


def test_td2_long_document_number() -> None:
    reading = parse(build(MrzFormat.TD2, Fields(document_code="I", document_number="AB123456789")))
    assert reading.valid, reading
    assert reading.document_number == "AB123456789"


# -- generated MRZs read back ----------------------------------------------------------------

_letters = st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=8)
_alnum = string.ascii_uppercase + string.digits


@st.composite
def _documents(draw: st.DrawFn) -> tuple[MrzFormat, Fields, date, date]:
    fmt = draw(st.sampled_from(list(MrzFormat)))
    birth = draw(st.dates(min_value=TODAY - timedelta(days=99 * 365), max_value=TODAY))
    expiry = draw(
        st.dates(min_value=date(TODAY.year - 50, 1, 1), max_value=date(TODAY.year + 49, 12, 31))
    )
    name_width = {MrzFormat.TD1: 30, MrzFormat.TD2: 31, MrzFormat.MRV_B: 31}.get(fmt, 39)
    surname = tuple(draw(st.lists(_letters, min_size=1, max_size=3)))
    given = tuple(draw(st.lists(_letters, max_size=3)))
    while given and len("<".join(surname)) + 2 + len("<".join(given)) >= name_width:
        given = given[:-1]
    if len("<".join(surname)) >= name_width:
        surname = (surname[0],)
    long_numbers = fmt in (MrzFormat.TD1, MrzFormat.TD2)
    number = draw(st.text(alphabet=_alnum, min_size=1, max_size=14 if long_numbers else 9))
    optional_width = {MrzFormat.TD1: 15, MrzFormat.TD2: 7, MrzFormat.TD3: 14}.get(fmt, 8)
    room = optional_width - (len(number) - 9 + 2 if len(number) > 9 else 0)
    optional = draw(st.text(alphabet=_alnum, max_size=max(room, 0)))
    fields = Fields(
        document_code=draw(st.sampled_from(["V"] if fmt.is_visa else ["P", "I", "ID", "PD"])),
        issuing_state=draw(st.sampled_from(["UTO", "D", "DEU", "GBD", "XXA"])),
        surname=surname,
        given_names=given,
        document_number=number,
        nationality=draw(st.sampled_from(["UTO", "D", "FRA", "XXX"])),
        birth=birth.strftime("%y%m%d"),
        sex=draw(st.sampled_from("MFX<")),
        expiry=expiry.strftime("%y%m%d"),
        optional=(optional,) if optional else (),
    )
    return fmt, fields, birth, expiry


@settings(max_examples=300, deadline=None)
@given(_documents())
def test_generated_mrzs_read_back_their_fields(
    document: tuple[MrzFormat, Fields, date, date],
) -> None:
    fmt, fields, birth, expiry = document
    reading = parse(build(fmt, fields))
    assert reading.valid, (reading.lines, reading.problems, reading.failed_checks)
    assert reading.format is fmt
    assert reading.document_code == fields.document_code
    assert reading.issuing_state == fields.issuing_state
    assert reading.surname == " ".join(fields.surname)
    assert reading.given_names == fields.given_names
    assert not reading.name_truncated
    assert reading.document_number == fields.document_number
    assert reading.nationality == fields.nationality
    assert reading.birth_date == MrzDate(birth.year, birth.month, birth.day)
    assert reading.expiry_date == MrzDate(expiry.year, expiry.month, expiry.day)
    assert reading.sex == (None if fields.sex == "<" else fields.sex)
    assert reading.optional_data[0] == (fields.optional[0] if fields.optional else "")
