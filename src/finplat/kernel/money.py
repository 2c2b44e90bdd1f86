"""Exact amounts: an integer count of an asset's minor unit. Floats are refused everywhere.

`Asset("USD", 2)` counts cents; `Asset("AAPL", 9)` counts billionths of a share. Conversion from
a `Decimal`, a decimal string or an `int` is exact: a value finer than the asset's scale is an
error unless the caller names a rounding mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Final

from finplat.kernel.errors import InvalidInput

MAX_SCALE: Final = 18
_ASSET_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,31}$")

DecimalLike = Decimal | str | int


class InvalidAmount(InvalidInput, ValueError):
    """A value that is not an exact amount of the asset; callers may catch ValueError."""

    default_code = "invalid_amount"


#: Decimal arithmetic here must never round in silence: 100 digits, and Inexact traps.
_EXACT = Context(prec=100, traps=[InvalidOperation, Inexact, Overflow])


@dataclass(frozen=True, slots=True)
class Asset:
    """Something that can be counted in a ledger: a currency or an instrument."""

    code: str
    scale: int

    def __post_init__(self) -> None:
        if not _ASSET_CODE.match(self.code):
            raise ValueError(f"invalid asset code {self.code!r}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int):
            raise TypeError("asset scale must be an int")
        if not 0 <= self.scale <= MAX_SCALE:
            raise ValueError(f"asset scale must be between 0 and {MAX_SCALE}")

    @property
    def quantum(self) -> Decimal:
        """The value of one minor unit, e.g. Decimal('0.01') for USD."""
        return Decimal(1).scaleb(-self.scale)

    def __str__(self) -> str:
        return self.code


def to_decimal(value: DecimalLike) -> Decimal:
    """Convert a `Decimal`, decimal string or `int` to a finite `Decimal`; refuse anything else."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{type(value).__name__} is not accepted as an exact amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidAmount(f"not a decimal number: {value!r}") from None
    else:
        raise TypeError(f"{type(value).__name__} is not accepted as an exact amount")
    if not result.is_finite():
        raise InvalidAmount("amounts must be finite")
    return result


@dataclass(frozen=True, slots=True, order=False)
class Amount:
    """An exact quantity of one asset, stored as an integer number of minor units."""

    asset: Asset
    minor: int

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError("minor units must be an int")

    @classmethod
    def of(cls, value: DecimalLike, asset: Asset, *, rounding: str | None = None) -> Amount:
        """The amount `value` (in major units) of `asset`.

        Raises ValueError when `value` has more decimal places than the asset's scale, unless
        `rounding` (a `decimal` rounding mode such as ROUND_HALF_EVEN) is given.
        """
        exact = to_decimal(value)
        try:
            scaled = exact.scaleb(asset.scale, context=_EXACT)
        except (Inexact, Overflow):
            raise InvalidAmount(f"{exact} is too large to represent exactly") from None
        whole = scaled.to_integral_value(rounding=rounding) if rounding else scaled
        if whole != whole.to_integral_value():
            raise InvalidAmount(
                f"{exact} has more than {asset.scale} decimal places for {asset.code}"
            )
        return cls(asset, int(whole))

    @classmethod
    def zero(cls, asset: Asset) -> Amount:
        return cls(asset, 0)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.asset.scale, context=_EXACT)

    def __str__(self) -> str:
        """A plain decimal string with exactly the asset's scale, e.g. '-12.50'."""
        return f"{self.to_decimal():f}"

    def __repr__(self) -> str:
        return f"Amount({self}, {self.asset.code})"

    def _same(self, other: Amount) -> None:
        if not isinstance(other, Amount):
            raise TypeError(f"cannot combine an Amount with {type(other).__name__}")
        if other.asset != self.asset:
            raise ValueError(f"cannot combine {self.asset.code} with {other.asset.code}")

    def __add__(self, other: Amount) -> Amount:
        self._same(other)
        return Amount(self.asset, self.minor + other.minor)

    def __sub__(self, other: Amount) -> Amount:
        self._same(other)
        return Amount(self.asset, self.minor - other.minor)

    def __neg__(self) -> Amount:
        return Amount(self.asset, -self.minor)

    def __abs__(self) -> Amount:
        return Amount(self.asset, abs(self.minor))

    def __mul__(self, factor: int) -> Amount:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("an Amount can only be multiplied by an int")
        return Amount(self.asset, self.minor * factor)

    __rmul__ = __mul__

    def __lt__(self, other: Amount) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Amount) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Amount) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Amount) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def is_zero(self) -> bool:
        return self.minor == 0

    def is_negative(self) -> bool:
        return self.minor < 0
