"""Base request/response models: unknown fields are rejected, money is a decimal string."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema


class StrictModel(BaseModel):
    """Every request body derives from this: an unknown field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def _decimal_from_string(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "12.50", not a JSON number')
    try:
        result = Decimal(value)
    except ArithmeticError:
        raise ValueError("not a decimal number") from None
    if not result.is_finite():
        raise ValueError("must be finite")
    return result


#: A money or quantity value: a JSON string in, a JSON string out, a `Decimal` in between.
DecimalString = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_string),
    PlainSerializer(lambda value: f"{value:f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["12.50"]}),
]
