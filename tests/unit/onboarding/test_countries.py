from __future__ import annotations

import pytest

from finplat.onboarding.countries import (
    COUNTRIES,
    ICAO_SPECIAL_CODES,
    alpha2_to_alpha3,
    alpha3_to_alpha2,
    country_name,
    is_country,
    mrz_code_name,
)


def test_the_table_is_complete_and_well_formed() -> None:
    assert len(COUNTRIES) == 249
    alpha2 = [row[0] for row in COUNTRIES]
    alpha3 = [row[1] for row in COUNTRIES]
    assert len(set(alpha2)) == len(alpha2)
    assert len(set(alpha3)) == len(alpha3)
    assert alpha2 == sorted(alpha2)
    for two, three, name in COUNTRIES:
        assert len(two) == 2
        assert len(three) == 3
        assert (two + three).isalpha()
        assert (two + three).isupper()
        assert name
        assert name.strip() == name


@pytest.mark.parametrize(
    ("alpha2", "alpha3", "name"),
    [
        ("DE", "DEU", "Germany"),
        ("US", "USA", "United States"),
        ("GB", "GBR", "United Kingdom"),
        ("FR", "FRA", "France"),
        ("JP", "JPN", "Japan"),
        ("BR", "BRA", "Brazil"),
        ("ZA", "ZAF", "South Africa"),
        ("CH", "CHE", "Switzerland"),
        ("SE", "SWE", "Sweden"),
        ("AT", "AUT", "Austria"),
        ("AU", "AUS", "Australia"),
        ("CI", "CIV", "Côte d'Ivoire"),
        ("KR", "KOR", "Korea, Republic of"),
        ("SS", "SSD", "South Sudan"),
        ("MK", "MKD", "North Macedonia"),
        ("SZ", "SWZ", "Eswatini"),
        ("CW", "CUW", "Curaçao"),
        ("AQ", "ATA", "Antarctica"),
    ],
)
def test_known_pairs(alpha2: str, alpha3: str, name: str) -> None:
    assert alpha3_to_alpha2(alpha3) == alpha2
    assert alpha2_to_alpha3(alpha2) == alpha3
    assert is_country(alpha2)
    assert country_name(alpha2) == name
    assert mrz_code_name(alpha3) == name


def test_every_code_round_trips() -> None:
    for alpha2, alpha3, _ in COUNTRIES:
        assert alpha3_to_alpha2(alpha3) == alpha2
        assert alpha2_to_alpha3(alpha2) == alpha3
    for alpha2 in ("XK", "EU", "UN"):
        icao = alpha2_to_alpha3(alpha2)
        assert icao is not None
        assert alpha3_to_alpha2(icao) == alpha2


@pytest.mark.parametrize(
    ("code", "alpha2"),
    [
        ("D", "DE"),
        ("D<<", "DE"),
        ("GBD", "GB"),
        ("GBN", "GB"),
        ("GBO", "GB"),
        ("GBP", "GB"),
        ("GBS", "GB"),
        ("UNO", "UN"),
        ("UNA", "UN"),
        ("UNK", "UN"),
        ("EUE", "EU"),
        ("RKS", "XK"),
        ("XXA", None),
        ("XXB", None),
        ("XXC", None),
        ("XXX", None),
    ],
)
def test_icao_codes(code: str, alpha2: str | None) -> None:
    assert alpha3_to_alpha2(code) == alpha2
    assert mrz_code_name(code) is not None


def test_special_codes_are_not_countries() -> None:
    assert set(ICAO_SPECIAL_CODES) >= {"D", "RKS", "XXA", "EUE"}
    for alpha2 in ("XK", "EU", "UN"):
        assert not is_country(alpha2)
        assert country_name(alpha2) is not None
    assert country_name("XK") == "Kosovo"
    assert alpha2_to_alpha3("DE") == "DEU"  # ISO's code, never ICAO's "D"
    assert "stateless" in (mrz_code_name("XXA") or "")


@pytest.mark.parametrize("code", ["", "ZZZ", "UTO", "deu", "DE", "DEUX", "D<D"])
def test_unknown_alpha3(code: str) -> None:
    assert alpha3_to_alpha2(code) is None
    assert mrz_code_name(code) is None


@pytest.mark.parametrize("code", ["", "ZZ", "de", "DEU", "D", "XX"])
def test_unknown_alpha2(code: str) -> None:
    assert not is_country(code)
    assert country_name(code) is None
    assert alpha2_to_alpha3(code) is None
