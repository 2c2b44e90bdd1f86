"""List files to `ListEntry` values: the UN consolidated XML, OFAC's legacy CSV files and
FollowTheMoney entity JSON (OpenSanctions).

Loaders are generators and never stop on one bad record: a record that cannot be read is
skipped and counted, with a short reason, in the `LoadReport` the caller may pass in.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from finplat.kernel import DomainError, InvalidInput
from finplat.onboarding.screening.countries import country_code
from finplat.onboarding.screening.model import EntryKind, Identifier, ListEntry, PartialDate

MAX_WARNINGS = 100
_T = TypeVar("_T")


@dataclass
class LoadReport:
    """What a load read: entries produced, records skipped and why (the first warnings)."""

    source: str = ""
    entries: int = 0
    skipped: int = 0
    unparsed_dates: int = 0
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str, *, skipped: bool = True) -> None:
        if skipped:
            self.skipped += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)


_BAD_RECORD = (DomainError, ValueError, KeyError, TypeError, IndexError, AttributeError)


def load_file(path: Path | str, report: LoadReport | None = None) -> tuple[str, list[ListEntry]]:
    """Detect the format and load: a directory (or its sdn.csv) is OFAC, .xml is the UN list,
    .jsonl/.json is FollowTheMoney. Returns (source, entries)."""
    path = Path(path)
    report = report if report is not None else LoadReport()
    if path.is_file() and path.name.lower() == "sdn.csv":
        path = path.parent
    if path.is_dir():
        if not (path / "sdn.csv").is_file():
            raise InvalidInput(f"{path} holds no sdn.csv", code="unknown_list_format")
        report.source = "ofac"
        return "ofac", list(load_ofac_csv(path, report))
    suffix = path.suffix.lower()
    if suffix == ".xml":
        report.source = "un"
        return "un", list(load_un_xml(path, report))
    if suffix in (".jsonl", ".json", ".ndjson"):
        report.source = "opensanctions"
        return "opensanctions", list(load_opensanctions_jsonl(path, report))
    raise InvalidInput(f"cannot tell the list format of {path.name}", code="unknown_list_format")


# --- UN consolidated list -------------------------------------------------------------------

_UN_LOW_QUALITY = "low"


def load_un_xml(path: Path | str, report: LoadReport | None = None) -> Iterator[ListEntry]:
    """The UN Security Council consolidated list. Aliases of QUALITY "Low" become weak
    aliases; names in original script become aliases (transliterated when compared)."""
    report = report if report is not None else LoadReport(source="un")
    try:
        # expat 2.4+ refuses entity-expansion bombs and ElementTree resolves no external
        # entities; the file is one an operator chose to load
        for _event, element in ET.iterparse(str(path), events=("end",)):  # noqa: S314
            if element.tag not in ("INDIVIDUAL", "ENTITY"):
                continue
            try:
                entry = _un_entry(element)
            except _BAD_RECORD as exc:
                report.warn(f"UN record {_text(element, 'DATAID') or '?'}: {exc}")
            else:
                report.entries += 1
                report.unparsed_dates += _un_unparsed_dates(element)
                yield entry
            element.clear()
    except ET.ParseError as exc:
        report.warn(f"UN file is not well-formed XML: {exc}")


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return " ".join((found.text or "").split()) if found is not None else ""


def _texts(element: ET.Element, path: str) -> list[str]:
    return [
        " ".join((e.text or "").split()) for e in element.findall(path) if (e.text or "").strip()
    ]


def _un_entry(element: ET.Element) -> ListEntry:
    person = element.tag == "INDIVIDUAL"
    prefix = "INDIVIDUAL" if person else "ENTITY"
    entry_id = _text(element, "REFERENCE_NUMBER") or _text(element, "DATAID")
    parts = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
    primary = " ".join(p for p in (_text(element, tag) for tag in parts) if p)
    strong: list[str] = []
    weak: list[str] = []
    for alias in element.findall(f"{prefix}_ALIAS"):
        raw = _text(alias, "ALIAS_NAME")
        if not raw:
            continue
        target = weak if _text(alias, "QUALITY").lower() == _UN_LOW_QUALITY else strong
        target.extend(split_alias(raw))
    strong.extend(split_alias(_text(element, "NAME_ORIGINAL_SCRIPT")))
    countries = [*_texts(element, "NATIONALITY/VALUE")]
    countries += _texts(element, f"{prefix}_ADDRESS/COUNTRY")
    countries += _texts(element, "INDIVIDUAL_PLACE_OF_BIRTH/COUNTRY")
    identifiers = [
        ident
        for doc in element.findall("INDIVIDUAL_DOCUMENT")
        if (ident := _un_document(doc)) is not None
    ]
    dates = [d for dob in element.findall("INDIVIDUAL_DATE_OF_BIRTH") for d in _un_dates(dob)]
    remarks = _text(element, "COMMENTS1")
    return ListEntry(
        source="un",
        entry_id=entry_id,
        kind="person" if person else "entity",
        primary_name=primary,
        aliases=_unique(a for a in strong if a != primary),
        birth_dates=_unique(dates),
        countries=_countries(countries),
        identifiers=_unique(identifiers),
        programs=_unique(_texts(element, "UN_LIST_TYPE")),
        remarks=remarks,
        weak_aliases=_unique(a for a in weak if a != primary and a not in strong),
    )


def _un_dates(dob: ET.Element) -> list[PartialDate]:
    kind = _text(dob, "TYPE_OF_DATE").upper()
    approximate = kind == "APPROXIMATELY"
    exact = _text(dob, "DATE")
    if exact:
        year, month, day = (int(part) for part in exact[:10].split("-"))
        return [PartialDate(year, month, day)]
    start, end = _text(dob, "FROM_YEAR"), _text(dob, "TO_YEAR")
    if start and end:
        return [PartialDate(int(start), to_year=int(end))]
    note = _text(dob, "NOTE")
    year_only = _text(dob, "YEAR")
    if year_only:
        named_month = _month_in(note) if note else None
        return [
            PartialDate(int(year_only), named_month, approximate=approximate and not named_month)
        ]
    parsed = parse_loose_date(note) if note else None
    return [parsed] if parsed is not None else []


def _un_unparsed_dates(element: ET.Element) -> int:
    missing = 0
    for dob in element.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        has_data = any(_text(dob, tag) for tag in ("DATE", "YEAR", "FROM_YEAR", "NOTE"))
        try:
            parsed = _un_dates(dob)
        except _BAD_RECORD:
            parsed = []
        if has_data and not parsed:
            missing += 1
    return missing


def _un_document(doc: ET.Element) -> Identifier | None:
    number = _text(doc, "NUMBER")
    if not number:
        return None
    kind = _identifier_kind(_text(doc, "TYPE_OF_DOCUMENT"))
    issuer = _text(doc, "ISSUING_COUNTRY") or _text(doc, "COUNTRY_OF_ISSUE")
    return Identifier(kind, number, country_code(issuer) if issuer else None)


def _identifier_kind(text: str) -> str:
    lowered = text.lower()
    if "passport" in lowered or "pasaporte" in lowered or "passeport" in lowered:
        return "passport"
    if "national" in lowered or "identity" in lowered or "id card" in lowered:
        return "national_id"
    return " ".join(lowered.split()) or "document"


_PAREN = re.compile(r"\(([^()]*)\)")
_ENUMERATION = re.compile(r"(?:^|\s)[a-h]\)\s+")
_CLAUSE = re.compile(r",?\s+(?:born|date of birth|DOB)\b.*$", re.IGNORECASE)
_ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9/.\-]{1,11}$")
_SCRIPT_MARK = re.compile(r"^original script:?\s*", re.IGNORECASE)
_SUB_UNIT = re.compile(r"\s*-\s*sub-unit name$", re.IGNORECASE)


def split_alias(raw: str) -> list[str]:
    """One alias field to clean names. "a; b" are two names; a parenthesis holding a list
    ("(x; y)"), an acronym ("(HTS)") or a name in another script is kept as more names; any
    other parenthesis ("(third)", "(false identity related to ...)") and a trailing
    ", born ..." clause are commentary and dropped."""
    extras: list[str] = []

    def lift(match: re.Match[str]) -> str:
        inner = " ".join(match.group(1).split())
        named = _SUB_UNIT.sub("", _SCRIPT_MARK.sub("", inner))
        if ";" in inner:
            extras.extend(split_alias(inner))
        elif named != inner and named:
            extras.append(named)
        elif _ACRONYM.match(inner) or _foreign_script(inner):
            extras.append(inner)
        return " "

    text = _ENUMERATION.sub("; ", raw)
    while _PAREN.search(text):
        text = _PAREN.sub(lift, text)
    text = text.replace("(", " ").replace(")", " ")
    names: list[str] = []
    for part in [*text.split(";"), *extras]:
        cleaned = _CLAUSE.sub("", part.replace("\u201c", "").replace("\u201d", ""))
        cleaned = " ".join(cleaned.split()).strip(" ,;:'\"")
        if cleaned and any(ch.isalnum() for ch in cleaned) and cleaned not in names:
            names.append(cleaned)
    return names


def _foreign_script(text: str) -> bool:
    """Letters, none of them ASCII: a name as written in Arabic, Cyrillic, Hangul..."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and not any(ch.isascii() for ch in letters)


# --- OFAC legacy CSV ------------------------------------------------------------------------

_OFAC_NULL = "-0-"
_OFAC_KINDS: dict[str, EntryKind] = {
    "individual": "person",
    "vessel": "vessel",
    "aircraft": "aircraft",
    "": "entity",
}
_OFAC_ID_KINDS = (
    ("Passport", "passport"),
    ("Diplomatic Passport", "passport"),
    ("National ID No.", "national_id"),
    ("Personal ID Card", "national_id"),
    ("Cedula No.", "national_id"),
    ("D.N.I.", "national_id"),
    ("C.U.R.P.", "national_id"),
    ("SSN", "ssn"),
    ("Tax ID No.", "tax_id"),
    ("R.F.C.", "tax_id"),
    ("RUC #", "tax_id"),
    ("NIT #", "tax_id"),
    ("V.A.T. Number", "vat"),
    ("Registration Number", "registration"),
    ("Business Registration Number", "registration"),
    ("Registration ID", "registration"),
    ("Company Number", "registration"),
    ("UK Company Number", "registration"),
    ("Legal Entity Number", "lei"),
    ("Identification Number IMO", "imo"),
    ("Vessel Registration Identification IMO", "imo"),
    ("MMSI", "mmsi"),
    ("Driver's License No.", "driving_licence"),
    ("Travel Document Number", "travel_document"),
    ("Residency Number", "residency"),
    ("Birth Certificate Number", "birth_certificate"),
    ("Aircraft Manufacturer's Serial Number (MSN)", "aircraft_msn"),
)
# the longest labels first, so "Business Registration Number" wins over "Registration Number"
_OFAC_ID = re.compile(
    r"^(?:alt\.\s+)?(?P<label>"
    + "|".join(re.escape(label) for label, _ in sorted(_OFAC_ID_KINDS, key=lambda x: -len(x[0])))
    + r")\s+(?P<number>[^()]+?)\s*(?P<countries>(?:\([^()]*\)\s*)*)\.?$"
)
_OFAC_ID_KIND = dict(_OFAC_ID_KINDS)
_OFAC_AKA = re.compile(r"^(?:a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s+'(?P<name>.+)'\.?$")
_OFAC_DOB = re.compile(r"^(?:alt\.\s+)?DOB\s+(?P<date>.+?)\.?$")
_OFAC_COUNTRY = re.compile(r"^(?:alt\.\s+)?(?:nationality|citizen)\s+(?P<country>.+?)\.?$")
_OFAC_POB = re.compile(r"^(?:alt\.\s+)?POB\s+(?P<place>.+?)\.?$")


def load_ofac_csv(directory: Path | str, report: LoadReport | None = None) -> Iterator[ListEntry]:
    """OFAC's legacy files: sdn.csv joined with alt.csv (aliases), add.csv (address
    countries) and sdn_comments.csv (remarks that overflowed). The "a.k.a. '...'" names in
    remarks are OFAC's weak aliases and are kept as such."""
    directory = Path(directory)
    report = report if report is not None else LoadReport(source="ofac")
    aliases: dict[str, list[str]] = {}
    for row in _ofac_rows(directory / "alt.csv", 4, report):
        if row[3]:
            aliases.setdefault(row[0], []).append(row[3])
    countries: dict[str, list[str]] = {}
    for row in _ofac_rows(directory / "add.csv", 5, report):
        if row[4]:
            countries.setdefault(row[0], []).append(row[4])
    comments: dict[str, str] = {}
    for row in _ofac_rows(directory / "sdn_comments.csv", 2, report):
        comments[row[0]] = comments.get(row[0], "") + row[1]
    seen: set[str] = set()
    for row in _ofac_rows(directory / "sdn.csv", 12, report):
        try:
            entry = _ofac_entry(row, aliases, countries, comments)
        except _BAD_RECORD as exc:
            report.warn(f"OFAC sdn row {row[0]}: {exc}")
            continue
        seen.add(entry.entry_id)
        report.entries += 1
        yield entry
    for table, ids in (("alt", aliases), ("add", countries), ("sdn_comments", comments)):
        orphans = sorted(set(ids) - seen)
        if orphans:
            report.warn(
                f"OFAC {table}.csv: {len(orphans)} rows name no loaded entry ({orphans[0]}...)",
                skipped=False,
            )


def _ofac_rows(path: Path, width: int, report: LoadReport) -> Iterator[list[str]]:
    if not path.is_file():
        if path.name == "sdn.csv":
            raise InvalidInput(f"{path} does not exist", code="list_not_found")
        return
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # OFAC's older files
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        cells = [_ofac_cell(cell) for cell in row]
        if len(cells) < width or not cells[0].isdigit():
            report.warn(f"OFAC {path.name} line {number}: malformed row")
            continue
        yield cells[:width]


def _ofac_cell(cell: str) -> str:
    value = cell.strip()
    return "" if value == _OFAC_NULL else value


def _ofac_entry(
    row: list[str],
    aliases: dict[str, list[str]],
    address_countries: dict[str, list[str]],
    comments: dict[str, str],
) -> ListEntry:
    ent_num, name, sdn_type, programs = row[0], row[1], row[2].lower(), row[3]
    kind = _OFAC_KINDS.get(sdn_type)
    if kind is None:
        raise ValueError(f"unknown SDN type {sdn_type!r}")
    remarks = (row[11] + comments.get(ent_num, "")).strip()
    facts = parse_ofac_remarks(remarks)
    countries = [*facts.countries, *address_countries.get(ent_num, ())]
    if row[9]:
        countries.append(row[9])  # a vessel's flag
    strong = [a for a in aliases.get(ent_num, ()) if a != name]
    return ListEntry(
        source="ofac",
        entry_id=ent_num,
        kind=kind,
        primary_name=name,
        aliases=_unique(strong),
        birth_dates=_unique(facts.birth_dates),
        countries=_countries(countries),
        identifiers=_unique(facts.identifiers),
        programs=_unique(p.strip(" []") for p in programs.split("] [") if p.strip(" []")),
        remarks=remarks,
        weak_aliases=_unique(a for a in facts.aliases if a != name and a not in strong),
    )


@dataclass
class RemarkFacts:
    """What `parse_ofac_remarks` found in one remarks field."""

    birth_dates: list[PartialDate] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


def parse_ofac_remarks(remarks: str) -> RemarkFacts:
    """DOB, nationality/citizenship, place-of-birth country, identity documents and quoted
    aliases from an OFAC remarks field ("DOB 28 Jul 1963; POB ..., Belize; Passport ...")."""
    facts = RemarkFacts()
    for segment in (s.strip() for s in remarks.split(";")):
        if not segment:
            continue
        if match := _OFAC_AKA.match(segment):
            facts.aliases.append(match["name"].strip())
        elif match := _OFAC_DOB.match(segment):
            facts.birth_dates.extend(parse_ofac_dob(match["date"]))
        elif match := _OFAC_COUNTRY.match(segment):
            facts.countries.append(match["country"])
        elif match := _OFAC_POB.match(segment):
            facts.countries.append(match["place"].rsplit(",", 1)[-1])
        elif match := _OFAC_ID.match(segment):
            facts.identifiers.append(_ofac_identifier(match))
    return facts


def _ofac_identifier(match: re.Match[str]) -> Identifier:
    kind = _OFAC_ID_KIND[match["label"]]
    number = match["number"].strip()
    issuers = [c.strip() for c in re.findall(r"\(([^()]*)\)", match["countries"] or "")]
    # "(Connecticut) (United States)": the last parenthesis is the country
    country = country_code(issuers[-1]) if issuers else None
    return Identifier(kind, number, country)


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("JAN", "JANUARY"),
            ("FEB", "FEBRUARY"),
            ("MAR", "MARCH"),
            ("APR", "APRIL"),
            ("MAY",),
            ("JUN", "JUNE"),
            ("JUL", "JULY"),
            ("AUG", "AUGUST"),
            ("SEP", "SEPT", "SEPTEMBER"),
            ("OCT", "OCTOBER"),
            ("NOV", "NOVEMBER"),
            ("DEC", "DECEMBER"),
        ),
        start=1,
    )
    for name in names
}
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})$")
_MONTH_YEAR = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{4})$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4})\s+to\s+(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_ofac_dob(text: str) -> list[PartialDate]:
    """'28 Jul 1963', 'Jul 1963', '1963', 'circa 1963', '1960 to 1962'."""
    text = " ".join(text.split())
    approximate = False
    if text.lower().startswith("circa "):
        approximate, text = True, text[6:]
    if match := _DAY_MONTH_YEAR.match(text):
        month = _MONTHS.get(match[2].upper())
        if month is None:
            raise ValueError(f"unknown month in {text!r}")
        return [PartialDate(int(match[3]), month, int(match[1]))]
    if match := _MONTH_YEAR.match(text):
        month = _MONTHS.get(match[1].upper())
        if month is None:
            raise ValueError(f"unknown month in {text!r}")
        return [PartialDate(int(match[2]), month)]
    if match := _YEAR.match(text):
        return [PartialDate(int(match[1]), approximate=approximate)]
    if match := _RANGE.match(text):
        return [PartialDate(int(match[1]), to_year=int(match[2]))]
    if match := _ISO.match(text):
        return [PartialDate(int(match[1]), int(match[2]), int(match[3]))]
    raise ValueError(f"unreadable date of birth {text!r}")


def parse_loose_date(note: str) -> PartialDate | None:
    """A date written in prose ("Nov. 1973", "August 1961", "Between Aug. and Sep. 1977"):
    the year, and the month when exactly one is named. Other calendars are not read."""
    if "hijri" in note.lower():
        return None
    years = re.findall(r"\b(\d{4})\b", note)
    if len(years) != 1:
        return None
    year = int(years[0])
    return PartialDate(year, _month_in(note))


def _month_in(note: str) -> int | None:
    months = {_MONTHS[word] for word in re.findall(r"[A-Za-z]+", note.upper()) if word in _MONTHS}
    return months.pop() if len(months) == 1 else None


# --- FollowTheMoney / OpenSanctions ---------------------------------------------------------

_FTM_KINDS: dict[str, EntryKind] = {
    "Person": "person",
    "Organization": "entity",
    "Company": "entity",
    "LegalEntity": "entity",
    "PublicBody": "entity",
    "Vessel": "vessel",
    "Airplane": "aircraft",
}
_FTM_ID_PROPS = (
    ("passportNumber", "passport"),
    ("idNumber", "national_id"),
    ("taxNumber", "tax_id"),
    ("registrationNumber", "registration"),
    ("innCode", "tax_id"),
    ("ogrnCode", "registration"),
    ("leiCode", "lei"),
    ("imoNumber", "imo"),
    ("mmsi", "mmsi"),
    ("swiftBic", "bic"),
)
_FTM_COUNTRY_PROPS = (
    "nationality",
    "citizenship",
    "country",
    "jurisdiction",
    "birthCountry",
    "flag",
)


def load_opensanctions_jsonl(
    path: Path | str, report: LoadReport | None = None
) -> Iterator[ListEntry]:
    """FollowTheMoney entities, one JSON object per line (or one JSON array). Schemata that
    are not screenable parties (Address, Sanction, Ownership...) are passed over silently;
    `topics` (e.g. "sanction", "role.pep") become the entry's programs."""
    report = report if report is not None else LoadReport(source="opensanctions")
    with Path(path).open(encoding="utf-8") as handle:
        first = handle.read(1)
        while first.isspace():
            first = handle.read(1)
        handle.seek(0)
        records: Iterable[tuple[int, Any]]
        if first == "[":
            try:
                records = enumerate(json.load(handle), start=1)
            except json.JSONDecodeError as exc:
                report.warn(f"OpenSanctions file is not valid JSON: {exc}")
                return
        else:
            records = _json_lines(handle, report)
        for number, record in records:
            try:
                entry = _ftm_entry(record)
            except _BAD_RECORD as exc:
                report.warn(f"OpenSanctions record {number}: {exc}")
                continue
            if entry is not None:
                report.entries += 1
                yield entry


def _json_lines(handle: Iterable[str], report: LoadReport) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            report.warn(f"OpenSanctions line {number}: not JSON ({exc.msg})")


def _ftm_entry(record: Any) -> ListEntry | None:
    if not isinstance(record, dict):
        raise TypeError("a record must be a JSON object")
    kind = _FTM_KINDS.get(str(record.get("schema", "")))
    if kind is None:
        return None
    entry_id = str(record.get("id") or "").strip()
    if not entry_id:
        raise ValueError("a record needs an id")
    props = record.get("properties") or {}
    if not isinstance(props, dict):
        raise TypeError("properties must be an object")

    def values(name: str) -> list[str]:
        raw = props.get(name) or []
        if isinstance(raw, str):
            raw = [raw]
        return [" ".join(str(v).split()) for v in raw if str(v).strip()]

    names = values("name") or [str(record.get("caption") or "")]
    primary = names[0]
    strong = [*names[1:], *values("alias"), *values("previousName")]
    for first, last in zip(values("firstName"), values("lastName"), strict=False):
        strong.append(f"{first} {last}")
    dates = [d for value in values("birthDate") if (d := _ftm_date(value)) is not None]
    identifiers = [
        Identifier(kind_name, number, None)
        for prop, kind_name in _FTM_ID_PROPS
        for number in values(prop)
    ]
    programs = [*values("topics"), *values("program"), *values("programId")]
    topics = record.get("topics") or []  # some exports put topics beside properties
    if isinstance(topics, list):
        programs.extend(str(t) for t in topics)
    return ListEntry(
        source="opensanctions",
        entry_id=entry_id,
        kind=kind,
        primary_name=primary,
        aliases=_unique(a for a in strong if a != primary),
        birth_dates=_unique(dates),
        countries=_countries(c for prop in _FTM_COUNTRY_PROPS for c in values(prop)),
        identifiers=_unique(identifiers),
        programs=_unique(programs),
        remarks=" ".join(values("notes")),
        weak_aliases=_unique(a for a in values("weakAlias") if a != primary and a not in strong),
    )


def _ftm_date(value: str) -> PartialDate | None:
    parts = value[:10].split("-")
    if not parts[0].isdigit() or len(parts[0]) != 4:
        return None
    numbers = [int(p) for p in parts if p.isdigit()]
    month = numbers[1] if len(numbers) > 1 else None
    day = numbers[2] if len(numbers) > 2 else None
    return PartialDate(numbers[0], month, day)


# --- shared ---------------------------------------------------------------------------------


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


def _countries(names: Iterable[str]) -> tuple[str, ...]:
    codes = (country_code(name) for name in names)
    return _unique(code for code in codes if code)
