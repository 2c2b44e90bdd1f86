from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finplat.kernel import Amount, Asset, InvalidAmount, InvalidInput

USD = Asset("USD", 2)
SHARE = Asset("AAPL", 9)
JPY = Asset("JPY", 0)


def test_decimal_string_and_int_convert_exactly() -> None:
    assert Amount.of("12.34", USD).minor == 1234
    assert Amount.of(Decimal("0.000000001"), SHARE).minor == 1
    assert Amount.of(7, JPY).minor == 7
    assert str(Amount(USD, -1250)) == "-12.50"
    assert str(Amount(JPY, 5)) == "5"


@pytest.mark.parametrize("value", [1.5, 0.1, True, None, [1]])
def test_floats_and_other_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        Amount.of(value, USD)  # type: ignore[arg-type]


def test_minor_units_must_be_int() -> None:
    with pytest.raises(TypeError):
        Amount(USD, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Amount(USD, True)


@pytest.mark.parametrize("value", ["1.001", "0.005", "NaN", "Infinity", "abc", ""])
def test_inexact_or_non_numeric_values_are_errors(value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by cause
        Amount.of(value, USD)


def test_rounding_only_when_asked() -> None:
    assert Amount.of("0.005", USD, rounding=ROUND_HALF_EVEN).minor == 0
    assert Amount.of("0.015", USD, rounding=ROUND_HALF_EVEN).minor == 2


def test_arithmetic_requires_the_same_asset() -> None:
    a = Amount.of("1.00", USD)
    assert a + a == Amount(USD, 200)
    assert a - Amount(USD, 300) == Amount(USD, -200)
    assert 3 * a == Amount(USD, 300)
    assert -a < a
    with pytest.raises(ValueError, match="cannot combine USD with JPY"):
        _ = a + Amount(JPY, 1)
    with pytest.raises(TypeError):
        _ = a * Decimal("1.5")  # type: ignore[operator]


def test_asset_validation() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        Asset("usd", 2)
    with pytest.raises(ValueError):  # noqa: PT011
        Asset("USD", 19)
    assert USD.quantum == Decimal("0.01")


@given(minor=st.integers(min_value=-(10**30), max_value=10**30), scale=st.integers(0, 18))
def test_string_round_trip_is_exact(minor: int, scale: int) -> None:
    asset = Asset("X", scale)
    amount = Amount(asset, minor)
    assert Amount.of(str(amount), asset) == amount
    assert Amount.of(amount.to_decimal(), asset) == amount


@given(st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=20))
def test_sum_matches_integer_sum(values: list[int]) -> None:
    total = Amount.zero(USD)
    for value in values:
        total = total + Amount(USD, value)
    assert total.minor == sum(values)


def test_an_inexact_amount_is_a_domain_error_and_a_value_error() -> None:
    with pytest.raises(InvalidAmount) as caught:
        Amount.of("0.001", USD)
    assert isinstance(caught.value, InvalidInput)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "invalid_amount"
