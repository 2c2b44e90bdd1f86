"""Which event types exist, at which versions, with which payload JSON Schema."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from finplat.kernel.events import IntegrationEvent, JsonValue
from finplat.platform.bus.fastcheck import Check, compile_check


class UnknownEventType(LookupError):
    pass


class InvalidEventPayload(ValueError):
    pass


class EventRegistry:
    """Event classes by (type, version); validates payloads before they enter the outbox."""

    def __init__(self, events: Iterable[type[IntegrationEvent]] = ()) -> None:
        self._validators: dict[tuple[str, int], Draft202012Validator] = {}
        self._quick: dict[tuple[str, int], Check | None] = {}
        self._classes: dict[tuple[str, int], type[IntegrationEvent]] = {}
        for event_class in events:
            self.register(event_class)

    def register(self, event_class: type[IntegrationEvent]) -> None:
        key = (event_class.event_type, event_class.version)
        if key in self._classes and self._classes[key] is not event_class:
            raise ValueError(f"event {key} registered twice")
        if "." not in event_class.event_type:
            raise ValueError(f"event type {event_class.event_type!r} must be 'domain.name'")
        Draft202012Validator.check_schema(event_class.payload_schema)
        self._classes[key] = event_class
        formats = FormatChecker()
        self._validators[key] = Draft202012Validator(
            event_class.payload_schema, format_checker=formats
        )
        self._quick[key] = compile_check(event_class.payload_schema, formats)

    def validate(self, event_type: str, version: int, payload: dict[str, JsonValue]) -> None:
        validator = self._validators.get((event_type, version))
        if validator is None:
            raise UnknownEventType(f"event type {event_type} v{version} is not registered")
        quick = self._quick[(event_type, version)]
        if quick is not None and quick(payload):
            return  # what the quick check accepts, jsonschema accepts too
        errors = list(validator.iter_errors(payload))
        if errors:
            messages = "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
            raise InvalidEventPayload(f"{event_type} v{version}: {messages}")

    def schemas(self) -> dict[str, Any]:
        """Every registered payload schema, keyed 'type/vN' (for docs and contract tests)."""
        return {
            f"{name}/v{version}": cls.payload_schema
            for (name, version), cls in sorted(self._classes.items())
        }

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self._classes
