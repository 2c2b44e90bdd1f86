"""Build valid (or deliberately broken) passport MRZs (ICAO 9303 TD3) for tests."""

from __future__ import annotations

from datetime import date

_WEIGHTS = (7, 3, 1)


def _value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if char == "<":
        return 0
    return ord(char) - ord("A") + 10


def check_digit(field: str) -> str:
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def _pad(text: str, width: int) -> str:
    return (text + "<" * width)[:width]


def td3(
    *,
    surname: str,
    given_names: str,
    number: str,
    nationality: str,
    birth: date,
    sex: str,
    expiry: date,
    issuer: str | None = None,
    break_birth_digit: bool = False,
) -> str:
    name = _pad(f"{surname.upper()}<<{given_names.upper().replace(' ', '<')}", 39)
    line1 = f"P<{issuer or nationality}{name}"
    doc = _pad(number, 9)
    dob = birth.strftime("%y%m%d")
    exp = expiry.strftime("%y%m%d")
    personal = "<" * 14
    dob_digit = check_digit(dob)
    if break_birth_digit:
        dob_digit = str((int(dob_digit) + 1) % 10)
    line2 = (
        f"{doc}{check_digit(doc)}{nationality}{dob}{dob_digit}{sex}{exp}{check_digit(exp)}"
        f"{personal}{check_digit(personal)}"
    )
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    line2 += check_digit(composite)
    assert len(line1) == 44
    assert len(line2) == 44
    return f"{line1}\n{line2}"
