"""Reading the machine-readable zone (MRZ) of travel documents, as ICAO Doc 9303 lays it out.

`parse_mrz` never raises on bad input: a scan is often imperfect, and the caller needs to know
what was wrong (a length, a character, a check digit) to tell the customer. It raises only on
programmer errors (a non-string text, a `today` that is not a date).

Dates are printed YYMMDD, so the century is inferred:

- a birth date is the latest date not after `today`: 20YY, unless that is in the future, then
  19YY (so a person 100 or more years old reads as a child: the MRZ cannot tell them apart);
- an expiry date is the one whose year falls in the 100-year window from 50 years before
  `today`'s year to 49 years after it (documents last at most a few decades either way).

ICAO prints an unknown day or month of birth as "<<" (and an unknown date as all fillers). A
reading keeps what is known in a `MrzDate` whose `month`/`day` may be None; an entirely
unknown date is None. The century rule compares a partial date by its earliest possible day.
"""

from __future__ import annotations

import calendar
import string
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final, Literal

Sex = Literal["M", "F", "X"]

FILLER: Final = "<"
_ALPHABET: Final = frozenset(string.ascii_uppercase + string.digits + FILLER)
_TO_UPPER: Final = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_WEIGHTS: Final = (7, 3, 1)

#: Names of the check digits a reading reports.
DOCUMENT_NUMBER: Final = "document_number"
BIRTH_DATE: Final = "birth_date"
EXPIRY_DATE: Final = "expiry_date"
PERSONAL_NUMBER: Final = "personal_number"
COMPOSITE: Final = "composite"


class MrzFormat(StrEnum):
    """The document layouts of ICAO Doc 9303, told apart by line count, length and first letter."""

    TD1 = "td1"  # ID-1 card: 3 lines of 30
    TD2 = "td2"  # ID-2 card: 2 lines of 36
    TD3 = "td3"  # passport booklet: 2 lines of 44
    MRV_A = "mrv_a"  # visa, 2 lines of 44, first letter V
    MRV_B = "mrv_b"  # visa, 2 lines of 36, first letter V

    @property
    def is_visa(self) -> bool:
        return self in (MrzFormat.MRV_A, MrzFormat.MRV_B)


#: (line count, line length) -> (format, visa format of the same size or None).
_SHAPES: Final = {
    (3, 30): (MrzFormat.TD1, None),
    (2, 36): (MrzFormat.TD2, MrzFormat.MRV_B),
    (2, 44): (MrzFormat.TD3, MrzFormat.MRV_A),
}


@dataclass(frozen=True)
class MrzDate:
    """A date as an MRZ prints it: the year is known, the month and the day may not be."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.month is None and self.day is not None:
            raise ValueError("a day without a month is not a date")
        if self.month is not None and not 1 <= self.month <= 12:
            raise ValueError("month out of range")
        if self.month is not None and self.day is not None:
            date(self.year, self.month, self.day)  # raises on an impossible day

    def as_date(self) -> date | None:
        """The date, when it is fully known."""
        if self.month is None or self.day is None:
            return None
        return date(self.year, self.month, self.day)

    def earliest(self) -> date:
        """The first day the partial date may stand for."""
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        """The last day the partial date may stand for."""
        month = self.month or 12
        return date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    def matches(self, other: date) -> bool:
        """Whether `other` agrees with every part of this date that is known."""
        return (
            other.year == self.year
            and (self.month is None or other.month == self.month)
            and (self.day is None or other.day == self.day)
        )

    def __str__(self) -> str:
        month = f"{self.month:02d}" if self.month is not None else "??"
        day = f"{self.day:02d}" if self.day is not None else "??"
        return f"{self.year:04d}-{month}-{day}"


@dataclass(frozen=True)
class CheckDigit:
    """One check digit: the digit computed from the field, the character printed, and whether
    they agree (a '<' agrees with a field made only of fillers)."""

    name: str
    expected: str
    found: str
    ok: bool


@dataclass(frozen=True)
class Problem:
    """Something structurally wrong with the MRZ, apart from check digits."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True, kw_only=True)
class MrzReading:
    """What an MRZ says. Text fields have their trailing fillers removed. When the input could
    not be read at all, `format` is None and `problems` says why."""

    format: MrzFormat | None
    lines: tuple[str, ...] = ()
    document_code: str = ""
    issuing_state: str = ""
    surname: str = ""
    given_names: tuple[str, ...] = ()
    #: The name field is full to its last character, so the name may have been cut to fit.
    name_truncated: bool = False
    document_number: str = ""
    nationality: str = ""
    birth_date: MrzDate | None = None
    sex: Sex | None = None
    expiry_date: MrzDate | None = None
    #: The optional data fields in MRZ order: TD1 two (line 1 after any document-number
    #: overflow, line 2), TD2 one, TD3 the personal number, visas one.
    optional_data: tuple[str, ...] = ()
    checks: tuple[CheckDigit, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        """Read, every check digit agrees, and nothing is structurally wrong."""
        return self.format is not None and not self.problems and not self.failed_checks

    @property
    def failed_checks(self) -> tuple[CheckDigit, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def check(self, name: str) -> CheckDigit | None:
        return next((check for check in self.checks if check.name == name), None)


def check_digit(field: str) -> str:
    """The ICAO 9303 check digit of `field`: values 0-9, A=10..Z=35, '<'=0, weighted 7, 3, 1
    in turn, summed, modulo 10."""
    total = 0
    for index, char in enumerate(field):
        if char.isdigit() and char.isascii():
            value = int(char)
        elif char in string.ascii_uppercase:
            value = ord(char) - ord("A") + 10
        elif char == FILLER:
            value = 0
        else:
            raise ValueError(f"{char!r} is not an MRZ character")
        total += value * _WEIGHTS[index % 3]
    return str(total % 10)


def parse_mrz(text: str, *, today: date) -> MrzReading:
    """Read an MRZ given as its lines separated by newlines.

    Surrounding whitespace and blank lines are ignored and lower case is read as upper case;
    any other character outside A-Z, 0-9 and '<' (a space inside a line included) makes the
    MRZ unreadable.
    """
    if not isinstance(text, str):
        raise TypeError("the MRZ must be given as a string")
    if not isinstance(today, date) or isinstance(today, datetime):
        raise TypeError("today must be a date (not a datetime)")
    lines = tuple(
        line.strip().translate(_TO_UPPER) for line in text.strip().splitlines() if line.strip()
    )
    problem = _character_problem(lines)
    if problem is not None:
        return MrzReading(format=None, lines=lines, problems=(problem,))
    shape = _SHAPES.get((len(lines), len(lines[0]) if lines else 0))
    if shape is None or any(len(line) != len(lines[0]) for line in lines):
        return MrzReading(format=None, lines=lines, problems=(_shape_problem(lines),))
    fmt, visa = shape
    if visa is not None and lines[0].startswith("V"):
        fmt = visa
    reader = _Reader(fmt, lines, today)
    return reader.read()


def _character_problem(lines: tuple[str, ...]) -> Problem | None:
    for number, line in enumerate(lines, start=1):
        for position, char in enumerate(line, start=1):
            if char in _ALPHABET:
                continue
            if char.isspace():
                detail = (
                    f"line {number} has a space at position {position}; the machine-readable "
                    "zone has no spaces (a space often stands for a '<' the scan missed)"
                )
            else:
                detail = (
                    f"line {number} has the character {char!r} at position {position}; only "
                    "the letters A to Z, digits and '<' may appear"
                )
            return Problem("mrz_malformed", f"The machine-readable zone is unreadable: {detail}.")
    return None


def _shape_problem(lines: tuple[str, ...]) -> Problem:
    found = ", ".join(str(len(line)) for line in lines) or "none"
    return Problem(
        "mrz_malformed",
        "The machine-readable zone should be 2 lines of 44 characters (passport), 2 lines of "
        f"36 or 3 lines of 30 (identity card); we read {len(lines)} line(s) of length {found}.",
    )


class _Reader:
    """Reads the fields of one MRZ whose shape is known; collects checks and problems."""

    def __init__(self, fmt: MrzFormat, lines: tuple[str, ...], today: date) -> None:
        self.fmt = fmt
        self.lines = lines
        self.today = today
        self.checks: list[CheckDigit] = []
        self.problems: list[Problem] = []

    def read(self) -> MrzReading:
        if self.fmt is MrzFormat.TD1:
            return self._read_td1()
        return self._read_two_lines()

    def _read_td1(self) -> MrzReading:
        top, middle, bottom = self.lines
        number, optional_1 = self._document_number(top[5:14], top[14], top[15:30], overflow=True)
        composite_field = top[5:30] + middle[0:7] + middle[8:15] + middle[18:29]
        return self._reading(
            code_and_state=top[0:5],
            name_field=bottom,
            number=number,
            nationality=middle[15:18],
            birth=(middle[0:6], middle[6]),
            sex=middle[7],
            expiry=(middle[8:14], middle[14]),
            optional=(optional_1, middle[18:29]),
            composite=(composite_field, middle[29]),
        )

    def _read_two_lines(self) -> MrzReading:
        top, bottom = self.lines
        fmt = self.fmt
        optional_end = {MrzFormat.TD2: 35, MrzFormat.TD3: 42}.get(fmt, len(bottom))
        number, optional = self._document_number(
            bottom[0:9], bottom[9], bottom[28:optional_end], overflow=fmt is MrzFormat.TD2
        )
        composite: tuple[str, str] | None = None
        if fmt is MrzFormat.TD3:
            self._check(PERSONAL_NUMBER, bottom[28:42], bottom[42])
        if not fmt.is_visa:
            end = len(bottom) - 1
            composite = (bottom[0:10] + bottom[13:20] + bottom[21:end], bottom[end])
        return self._reading(
            code_and_state=top[0:5],
            name_field=top[5:],
            number=number,
            nationality=bottom[10:13],
            birth=(bottom[13:19], bottom[19]),
            sex=bottom[20],
            expiry=(bottom[21:27], bottom[27]),
            optional=(optional,),
            composite=composite,
        )

    def _reading(
        self,
        *,
        code_and_state: str,
        name_field: str,
        number: str,
        nationality: str,
        birth: tuple[str, str],
        sex: str,
        expiry: tuple[str, str],
        optional: tuple[str, ...],
        composite: tuple[str, str] | None,
    ) -> MrzReading:
        document_code = code_and_state[0:2]
        if not document_code[0].isalpha():
            self._problem(
                "mrz_malformed",
                "The first line should start with the document type; the lines may be out of "
                "order.",
                "document_code",
            )
        self._check(BIRTH_DATE, *birth)
        self._check(EXPIRY_DATE, *expiry)
        if composite is not None:
            self._check(COMPOSITE, *composite)
        surname, given_names = self._names(name_field)
        return MrzReading(
            format=self.fmt,
            lines=self.lines,
            document_code=document_code.rstrip(FILLER),
            issuing_state=self._country(code_and_state[2:5], "issuing_state"),
            surname=surname,
            given_names=given_names,
            name_truncated=not name_field.endswith(FILLER),
            document_number=number,
            nationality=self._country(nationality, "nationality"),
            birth_date=self._date(birth[0], BIRTH_DATE),
            sex=self._sex(sex),
            expiry_date=self._date(expiry[0], EXPIRY_DATE),
            optional_data=tuple(field.rstrip(FILLER) for field in optional),
            checks=tuple(self.checks),
            problems=tuple(self.problems),
        )

    def _document_number(
        self, field: str, digit: str, optional: str, *, overflow: bool
    ) -> tuple[str, str]:
        """The document number and the optional data left after it.

        ICAO (TD1 and TD2): a number longer than nine characters shows its first nine in the
        number field, '<' in the check-digit position, then the rest of the number and its
        check digit at the start of the optional data, ended by a '<'. Issuers differ (some
        print a check digit at the usual place regardless, some use the optional data for
        other things), and this follows ICAO only: a document laid out otherwise shows a
        failed document-number check rather than a silently wrong number.
        """
        if not (overflow and digit == FILLER and FILLER not in field):
            self._check(DOCUMENT_NUMBER, field, digit)
            return field.rstrip(FILLER), optional
        end = optional.find(FILLER)
        rest = optional if end < 0 else optional[:end]
        if len(rest) < 2:
            self._problem(
                "mrz_malformed",
                "The document number is marked as continuing in the optional data, but the "
                "rest of the number and its check digit are not there.",
                DOCUMENT_NUMBER,
            )
            self._check(DOCUMENT_NUMBER, field, digit)
            return field, optional
        number = field + rest[:-1]
        self._check(DOCUMENT_NUMBER, number, rest[-1])
        return number, optional[len(rest) + 1 :]

    def _check(self, name: str, field: str, found: str) -> None:
        expected = check_digit(field)
        ok = found == expected or (found == FILLER and set(field) <= {FILLER})
        self.checks.append(CheckDigit(name, expected, found, ok))

    def _problem(self, code: str, message: str, field: str | None) -> None:
        self.problems.append(Problem(code, message, field))

    def _names(self, field: str) -> tuple[str, tuple[str, ...]]:
        """Primary identifier (surname) and secondary identifier (given names): '<<' separates
        the two, '<' the parts of each (standing for spaces and hyphens), fillers pad the end."""
        label = "name"
        if any(char.isdigit() for char in field):
            self._problem(
                "name_malformed", "The name contains digits, which a name cannot have.", label
            )
        if field.startswith(FILLER):
            self._problem(
                "name_malformed",
                "The name field is empty or does not start with the surname.",
                label,
            )
        primary, _, secondary = field.partition(FILLER * 2)
        surname = " ".join(part for part in primary.split(FILLER) if part)
        given_names = tuple(part for part in secondary.split(FILLER) if part)
        return surname, given_names

    def _country(self, field: str, label: str) -> str:
        code = field.rstrip(FILLER)
        if not code.isalpha():
            self._problem(
                "mrz_malformed",
                f"The {label.replace('_', ' ')} code {field!r} is not made of letters.",
                label,
            )
        return code

    def _sex(self, char: str) -> Sex | None:
        if char == "M":
            return "M"
        if char == "F":
            return "F"
        if char == "X":
            return "X"
        if char != FILLER:
            self._problem(
                "sex_invalid",
                f"The sex is shown as {char!r}; only M, F, X or '<' (unspecified) are used.",
                "sex",
            )
        return None

    def _date(self, field: str, label: str) -> MrzDate | None:
        """A YYMMDD date with its century inferred (see the module docstring). '<<' for the
        day, or for the month and day, leaves them unknown; all fillers is an unknown date."""
        if field == FILLER * 6:
            return None
        parts = field[0:2], field[2:4], field[4:6]
        unknown = [part == FILLER * 2 for part in parts]
        shape_ok = unknown in ([False] * 3, [False, False, True], [False, True, True])
        digits = [part for part, hidden in zip(parts, unknown, strict=True) if not hidden]
        if not shape_ok or not all(part.isdigit() for part in digits):
            self._bad_date(field, label)
            return None
        known = [int(part) for part in digits]
        year = self._century(label, *known)
        try:
            return MrzDate(year, *known[1:])
        except ValueError:
            self._bad_date(field, label)
            return None

    def _century(self, label: str, yy: int, month: int = 1, day: int = 1) -> int:
        if label == BIRTH_DATE:
            this = (self.today.year, self.today.month, self.today.day)
            return 2000 + yy if (2000 + yy, month, day) <= this else 1900 + yy
        low = self.today.year - 50
        return low + (yy - low) % 100

    def _bad_date(self, field: str, label: str) -> None:
        what = "date of birth" if label == BIRTH_DATE else "expiry date"
        self._problem("date_invalid", f"The {what} {field!r} is not a possible date.", label)
