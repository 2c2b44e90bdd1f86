"""Integration events: immutable facts a domain publishes for other domains.

A domain declares each event as a frozen dataclass subclassing `IntegrationEvent`, with a
dotted `event_type` ("ledger.transfer_posted"), a `version`, and a JSON Schema for its payload.
The platform's outbox wraps it in an envelope and delivers it.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from finplat.kernel.money import Amount

JsonValue = None | bool | int | str | list["JsonValue"] | dict[str, "JsonValue"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class IntegrationEvent:
    """Base of every published event. Subclasses set the three class variables."""

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    payload_schema: ClassVar[Mapping[str, Any]]

    @property
    def key(self) -> str:
        """The aggregate key: events with the same key are delivered in order."""
        raise NotImplementedError

    @property
    def topic(self) -> str:
        """The domain that owns the event, e.g. 'ledger' for 'ledger.transfer_posted'."""
        return self.event_type.split(".", 1)[0]

    def payload(self) -> dict[str, JsonValue]:
        result = to_json_value({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        assert isinstance(result, dict)  # noqa: S101 - a dataclass always yields a mapping
        return result


def to_json_value(value: Any) -> JsonValue:
    """Convert domain values to JSON: decimals and amounts become strings, never floats."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not allowed in events; use Decimal")
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, Amount):
        return {"asset": value.asset.code, "value": str(value)}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an event")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return to_json_value(value.value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [to_json_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json_value({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    raise TypeError(f"cannot convert {type(value).__name__} to JSON")


def object_schema(properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema for an event payload: exactly these properties, all required."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(properties),
        "properties": properties,
    }
