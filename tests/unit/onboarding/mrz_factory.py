"""Builds MRZs from fields, computing check digits independently of the code under test."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from finplat.onboarding.mrz import MrzFormat

_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")} | {"<": 0}


def digit(text: str) -> str:
    return str(sum(_VALUES[c] * (7, 3, 1)[i % 3] for i, c in enumerate(text)) % 10)


def pad(text: str, width: int) -> str:
    if len(text) > width:
        raise ValueError(f"{text!r} does not fit in {width}")
    return text + "<" * (width - len(text))


@dataclass(frozen=True)
class Fields:
    """What to print. Dates are YYMMDD as printed; names are lists of parts."""

    document_code: str = "P"
    issuing_state: str = "UTO"
    surname: tuple[str, ...] = ("ERIKSSON",)
    given_names: tuple[str, ...] = ("ANNA", "MARIA")
    document_number: str = "L898902C3"
    nationality: str = "UTO"
    birth: str = "740812"
    sex: str = "F"
    expiry: str = "340415"
    optional: tuple[str, ...] = field(default_factory=tuple)
    #: the name field exactly as printed, when a test wants to control it (e.g. truncation)
    name_field: str | None = None

    def with_(self, **changes: object) -> Fields:
        return replace(self, **changes)  # type: ignore[arg-type]


def names(fields: Fields, width: int) -> str:
    if fields.name_field is not None:
        return pad(fields.name_field, width)
    text = "<".join(fields.surname)
    if fields.given_names:
        text += "<<" + "<".join(fields.given_names)
    return pad(text, width)


def _number(fields: Fields, width: int) -> tuple[str, str, str]:
    """(number field, check digit, start of optional data), with ICAO's overflow rule."""
    number = fields.document_number
    if len(number) <= 9:
        return pad(number, 9), digit(pad(number, 9)), ""
    return number[:9], "<", number[9:] + digit(number) + "<"


def td1(fields: Fields) -> str:
    number, check, overflow = _number(fields, 9)
    opt1, opt2 = (*fields.optional, "", "")[:2]
    top = pad(fields.document_code, 2) + pad(fields.issuing_state, 3) + number + check
    top += pad(overflow + opt1, 15)
    middle = fields.birth + digit(fields.birth) + fields.sex + fields.expiry
    middle += digit(fields.expiry) + pad(fields.nationality, 3) + pad(opt2, 11)
    middle += digit(top[5:30] + middle[0:7] + middle[8:15] + middle[18:29])
    return "\n".join([top, middle, names(fields, 30)])


def _two_lines(fields: Fields, fmt: MrzFormat) -> str:
    width = 44 if fmt in (MrzFormat.TD3, MrzFormat.MRV_A) else 36
    top = pad(fields.document_code, 2) + pad(fields.issuing_state, 3) + names(fields, width - 5)
    number, check, overflow = _number(fields, 9)
    if overflow and fmt is not MrzFormat.TD2:
        raise ValueError("only TD1 and TD2 carry long document numbers")
    bottom = number + check + pad(fields.nationality, 3) + fields.birth + digit(fields.birth)
    bottom += fields.sex + fields.expiry + digit(fields.expiry)
    optional = overflow + (fields.optional[0] if fields.optional else "")
    if fmt is MrzFormat.TD3:
        personal = pad(optional, 14)
        bottom += personal + ("<" if set(personal) == {"<"} else digit(personal))
    elif fmt is MrzFormat.TD2:
        bottom += pad(optional, 7)
    else:
        bottom += pad(optional, width - 28)
    if fmt in (MrzFormat.TD2, MrzFormat.TD3):
        bottom += digit(bottom[0:10] + bottom[13:20] + bottom[21:])
    return "\n".join([top, bottom])


def build(fmt: MrzFormat, fields: Fields) -> str:
    if fmt is MrzFormat.TD1:
        return td1(fields)
    return _two_lines(fields, fmt)


def td3(**changes: object) -> str:
    return build(MrzFormat.TD3, Fields().with_(**changes))
