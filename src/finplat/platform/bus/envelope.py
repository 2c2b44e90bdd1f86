"""The versioned JSON envelope every integration event travels in."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from finplat.kernel.events import JsonValue


class MalformedEnvelope(ValueError):
    """Bytes on the wire that are not a valid envelope."""


@dataclass(frozen=True, slots=True)
class Envelope:
    id: uuid.UUID
    type: str
    version: int
    topic: str
    key: str
    occurred_at: datetime
    recorded_at: datetime
    payload: dict[str, JsonValue]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "topic": self.topic,
            "key": self.key,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "payload": self.payload,
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        errors = sorted(envelope_validator().iter_errors(data), key=lambda e: list(e.path))
        if errors:
            raise MalformedEnvelope("; ".join(error.message for error in errors[:5]))
        return cls(
            id=uuid.UUID(data["id"]),
            type=data["type"],
            version=data["version"],
            topic=data["topic"],
            key=data["key"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            payload=data["payload"],
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        try:
            data = json.loads(raw, parse_float=_refuse_float)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedEnvelope(f"not JSON: {exc}") from None
        return cls.from_dict(data)


def _refuse_float(text: str) -> Any:
    raise MalformedEnvelope(f"a JSON float ({text}) in an event; amounts travel as strings")


def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("finplat.platform.bus").joinpath("schemas", name).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def envelope_validator() -> Draft202012Validator:
    schema = load_schema("envelope.v1.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())
