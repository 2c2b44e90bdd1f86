"""The loaders against the real UN list and OFAC rows, and the written FollowTheMoney sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finplat.kernel import InvalidInput
from finplat.onboarding.screening import (
    Identifier,
    ListEntry,
    LoadReport,
    PartialDate,
    load_file,
    load_ofac_csv,
    load_opensanctions_jsonl,
    load_un_xml,
)
from finplat.onboarding.screening.loaders import parse_ofac_dob, split_alias
from tests.unit.screening.conftest import OFAC_DIR, OPENSANCTIONS_SAMPLE, UN_XML


def test_un_list_loads_every_record(un_entries: list[ListEntry]) -> None:
    report = LoadReport()
    entries = list(load_un_xml(UN_XML, report))
    assert len(entries) == 1003
    assert sum(e.kind == "person" for e in entries) == 730
    assert sum(e.kind == "entity" for e in entries) == 273
    assert report.entries == 1003
    assert report.skipped == 0
    assert len({e.entry_id for e in entries}) == 1003
    assert entries == un_entries


def test_un_individual_with_aliases_range_and_nationality(by_key: dict[str, ListEntry]) -> None:
    bosco = by_key["un:CDi.030"]
    assert bosco.kind == "person"
    assert bosco.primary_name == "BOSCO TAGANDA"
    assert bosco.aliases == ("Bosco Ntaganda", "Bosco Ntagenda", "General Taganda")
    # QUALITY "Low" aliases are kept, apart, as weak aliases
    assert bosco.weak_aliases == ("Lydia", "Terminator", "Tango Romeo", "Romeo", "Major")
    assert bosco.birth_dates == (PartialDate(1973, to_year=1974),)
    assert bosco.countries[0] == "CD"  # nationality first, then address and birth countries
    assert set(bosco.countries) == {"CD", "BE", "RW"}
    assert bosco.programs == ("DRC",)


def test_un_individual_with_four_names_exact_dob_and_passport(
    by_key: dict[str, ListEntry],
) -> None:
    dorda = by_key["un:LYi.006"]
    assert dorda.primary_name == "ABU ZAYD UMAR DORDA"
    assert dorda.aliases == ("Dorda Abuzed OE", "Abu Zayd Umar Hmeid Dorda")
    assert dorda.birth_dates == (PartialDate(1944, 4, 4),)
    assert dorda.countries == ("LY",)
    assert dorda.identifiers == (Identifier("passport", "FK117RK0", "LY"),)


def test_un_year_only_and_approximate_dates(by_key: dict[str, ListEntry]) -> None:
    assert by_key["un:CDi.001"].birth_dates == (PartialDate(1971),)
    assert by_key["un:CDi.001"].primary_name == "ERIC BADEGE"
    assert PartialDate(1966, approximate=True) in by_key["un:CDi.014"].birth_dates
    assert by_key["un:CDi.004"].birth_dates == (PartialDate(1973, 11),)  # from "Nov. 1973"


def test_un_alias_lists_and_original_script_are_split(by_key: dict[str, ListEntry]) -> None:
    soleimani = by_key["un:IRi.039"]
    assert soleimani.primary_name == "QASEM SOLEIMANI"
    assert "Qasim Soleimani" in soleimani.aliases
    assert "Kasim Sulaymani" in soleimani.aliases
    assert soleimani.weak_aliases == ("Haj Qasem", "Haji Qassem", "Sardar Soleimani")
    khan = by_key["un:QDi.306"]
    assert {"حسن غول", "Hassan Ghul", "Hassan Gul", "Hasan Gul"} <= set(khan.aliases)
    farkash = by_key["un:LYi.019"]
    assert farkash.aliases == ("Safia Farkash Mohammed Al-Hadad",)  # ", born ..." dropped


def test_un_entity(by_key: dict[str, ListEntry]) -> None:
    qaida = by_key["un:QDe.004"]
    assert qaida.kind == "entity"
    assert qaida.primary_name == "AL-QAIDA"
    assert {"Al Qaeda", "The Base", "القاعدة"} <= set(qaida.aliases)
    hts = by_key["un:QDe.137"]
    assert {"HTS", "Hayat Tahrir al-Sham", "Jabhat al-Nusrah"} <= set(hts.aliases)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("Azim Adhajani; Azim Agha-Jani", ["Azim Adhajani", "Azim Agha-Jani"]),
        ("حسن غول (Hassan Ghul; Hasan Gul)", ["حسن غول", "Hassan Ghul", "Hasan Gul"]),
        ("Islamic State West Africa (ISWAP)", ["Islamic State West Africa", "ISWAP"]),
        ("Hilarion Santos, III (third)", ["Hilarion Santos, III"]),
        ("Abu Muhammad (original script: Абу Мухаммад)", ["Abu Muhammad", "Абу Мухаммад"]),  # noqa: RUF001
        ("Mohammed Sabet b) M. Javad Sabet", ["Mohammed Sabet", "M. Javad Sabet"]),
        ("Khirullah Said Wali Khairkhwa, born in Kandahar", ["Khirullah Said Wali Khairkhwa"]),
        ("“Chief Kahwa”", ["Chief Kahwa"]),
    ],
)
def test_split_alias(raw: str, names: list[str]) -> None:
    assert split_alias(raw) == names


def test_ofac_rows_are_joined_with_aliases_addresses_and_remarks(
    ofac_entries: list[ListEntry], by_key: dict[str, ListEntry]
) -> None:
    assert len(ofac_entries) == 17
    morey = by_key["ofac:10278"]
    assert morey.kind == "person"
    assert morey.primary_name == "LOGAN MOREY, Elvis Angus"
    assert morey.birth_dates == (PartialDate(1963, 7, 28),)
    assert morey.countries == ("BZ",)
    assert morey.identifiers == (
        Identifier("passport", "P0017003", "BZ"),
        Identifier("ssn", "561-77-9011", "US"),
    )
    assert morey.weak_aliases == ("BURTON BURGESS",)  # the "a.k.a. '...'" of the remarks
    assert morey.programs == ("SDNT",)
    khoroshev = by_key["ofac:48603"]
    assert khoroshev.aliases == (
        "KHOROSHEV, Dmitriy Yurevich",
        "YURIEVICH, Dmitry",
        "KHOROSHEV, Dmitrii Yuryevich",
    )
    assert khoroshev.countries == ("RU",)
    assert khoroshev.birth_dates == (PartialDate(1993, 4, 17),)
    assert Identifier("passport", "2006801524", "RU") in khoroshev.identifiers
    iami = by_key["ofac:11195"]
    assert iami.kind == "entity"
    assert iami.programs == ("NPWMD", "IFSR", "IRAN-CON-ARMS-EO")
    assert "IRAN AIRCRAFT MANUFACTURING INDUSTRIES" in iami.aliases
    assert "HESA" in iami.weak_aliases
    assert iami.countries == ("IR",)


def test_ofac_remarks_continue_in_sdn_comments(by_key: dict[str, ListEntry]) -> None:
    suex = by_key["ofac:33151"]
    assert suex.weak_aliases == ("SUCCESSFUL EXCHANGE",)  # only in sdn_comments.csv
    assert Identifier("lei", "5299007NTWCC3U23WM81", "CZ") in suex.identifiers
    assert set(suex.countries) == {"RU", "CZ"}


def test_ofac_vessels_and_aircraft(by_key: dict[str, ListEntry]) -> None:
    makran = by_key["ofac:40716"]
    assert makran.kind == "vessel"
    assert makran.countries == ("IR",)  # the flag
    assert makran.identifiers == (Identifier("imo", "9486910", None),)
    assert makran.weak_aliases == ("MAKRAN",)
    assert by_key["ofac:20540"].kind == "aircraft"


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("28 Jul 1963", [PartialDate(1963, 7, 28)]),
        ("Jul 1963", [PartialDate(1963, 7)]),
        ("1963", [PartialDate(1963)]),
        ("circa 1963", [PartialDate(1963, approximate=True)]),
        ("1960 to 1962", [PartialDate(1960, to_year=1962)]),
    ],
)
def test_ofac_dates_of_birth(text: str, dates: list[PartialDate]) -> None:
    assert parse_ofac_dob(text) == dates


def test_ofac_malformed_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    for name in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"):
        shutil.copy(OFAC_DIR / name, tmp_path / name)
    with (tmp_path / "sdn.csv").open("a", encoding="utf-8") as handle:
        handle.write('not-a-number,"BROKEN ROW"\n')
        handle.write('99999,"SHORT ROW","individual"\n')
        handle.write('99998,"ODD TYPE","submarine","X",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n')
        handle.write(
            '99997,"BAD DATE","individual","X",-0-,-0-,-0-,-0-,-0-,-0-,-0-,"DOB 31 Feb 1970."\n'
        )
    report = LoadReport()
    entries = list(load_ofac_csv(tmp_path, report))
    assert len(entries) == 17
    assert report.entries == 17
    assert report.skipped == 4
    assert any("orphan" in w or "name no loaded entry" in w for w in report.warnings)


def test_un_malformed_records_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(
        "<CONSOLIDATED_LIST><INDIVIDUALS>"
        "<INDIVIDUAL><DATAID>1</DATAID><REFERENCE_NUMBER>XXi.1</REFERENCE_NUMBER>"
        "<FIRST_NAME>GOOD</FIRST_NAME><SECOND_NAME>RECORD</SECOND_NAME></INDIVIDUAL>"
        "<INDIVIDUAL><DATAID>2</DATAID><REFERENCE_NUMBER>XXi.2</REFERENCE_NUMBER>"
        "</INDIVIDUAL>"
        "<INDIVIDUAL><DATAID>3</DATAID><REFERENCE_NUMBER>XXi.3</REFERENCE_NUMBER>"
        "<FIRST_NAME>BAD</FIRST_NAME><INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT"
        "</TYPE_OF_DATE><DATE>1970-02-31</DATE></INDIVIDUAL_DATE_OF_BIRTH></INDIVIDUAL>"
        "</INDIVIDUALS></CONSOLIDATED_LIST>",
        encoding="utf-8",
    )
    report = LoadReport()
    entries = list(load_un_xml(path, report))
    assert [e.primary_name for e in entries] == ["GOOD RECORD"]
    assert report.skipped == 2


def test_opensanctions_sample() -> None:
    report = LoadReport()
    entries = {e.entry_id: e for e in load_opensanctions_jsonl(OPENSANCTIONS_SAMPLE, report)}
    assert report.entries == len(entries) == 7
    assert report.skipped == 2  # a line that is not JSON, a record without an id
    person = entries["fin-sample-zalessky"]
    assert person.kind == "person"
    assert person.source == "opensanctions"
    assert person.primary_name == "Viktor Arkadyevich Zalessky"
    assert person.aliases == ("Viktor Zalesskiy", "Виктор Аркадьевич Залесский")
    assert person.weak_aliases == ("Vitya the Anchor",)
    assert person.birth_dates == (PartialDate(1961, 3, 14),)
    assert person.countries == ("RU",)
    assert person.identifiers == (Identifier("passport", "75 1244 9031", None),)
    assert person.programs == ("sanction",)
    assert entries["fin-sample-okonkwo"].programs == ("role.pep",)
    assert entries["fin-sample-okonkwo"].birth_dates == (PartialDate(1975),)
    assert entries["fin-sample-li"].birth_dates == (PartialDate(1980, 7),)
    assert entries["fin-sample-li"].aliases == ("Lee Hsiao-ming",)
    assert entries["fin-sample-nordlicht"].kind == "entity"
    assert entries["fin-sample-nujoum"].kind == "entity"
    assert entries["fin-sample-orchid"].kind == "vessel"
    assert entries["fin-sample-orchid"].countries == ("PA",)
    assert "fin-sample-address" not in entries  # not a screenable party


def test_load_file_detects_the_format(tmp_path: Path) -> None:
    assert load_file(OFAC_DIR)[0] == "ofac"
    assert load_file(OFAC_DIR / "sdn.csv")[0] == "ofac"
    assert load_file(OPENSANCTIONS_SAMPLE)[0] == "opensanctions"
    source, entries = load_file(UN_XML)
    assert (source, len(entries)) == ("un", 1003)
    with pytest.raises(InvalidInput):
        load_file(tmp_path)  # a directory without sdn.csv
    other = tmp_path / "list.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(InvalidInput):
        load_file(other)
