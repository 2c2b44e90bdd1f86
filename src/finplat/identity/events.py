"""Integration events identity publishes (the fraud detector consumes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from finplat.kernel import IntegrationEvent
from finplat.kernel.events import object_schema

_UUID = {"type": "string", "format": "uuid"}
_OPTIONAL_TEXT = {"type": ["string", "null"], "maxLength": 512}


@dataclass(frozen=True, kw_only=True)
class UserRegistered(IntegrationEvent):
    event_type: ClassVar[str] = "identity.user_registered"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {"user_id": _UUID, "ip": _OPTIONAL_TEXT, "user_agent": _OPTIONAL_TEXT}
    )
    user_id: str
    ip: str | None
    user_agent: str | None

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class SignInAttempted(IntegrationEvent):
    """A sign-in, successful or not. `user_id` is null when the email is unknown."""

    event_type: ClassVar[str] = "identity.signed_in"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "user_id": {"type": ["string", "null"], "format": "uuid"},
            "success": {"type": "boolean"},
            "reason": {"type": "string", "maxLength": 64},
            "ip": _OPTIONAL_TEXT,
            "user_agent": _OPTIONAL_TEXT,
        }
    )
    user_id: str | None
    success: bool
    reason: str
    ip: str | None
    user_agent: str | None

    @property
    def key(self) -> str:
        return self.user_id or f"ip:{self.ip or 'unknown'}"


@dataclass(frozen=True, kw_only=True)
class MfaEnabled(IntegrationEvent):
    event_type: ClassVar[str] = "identity.mfa_enabled"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {"user_id": _UUID, "method": {"enum": ["totp"]}}
    )
    user_id: str
    method: str = "totp"

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class ApiKeyCreated(IntegrationEvent):
    event_type: ClassVar[str] = "identity.api_key_created"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "user_id": _UUID,
            "key_id": {"type": "string", "maxLength": 32},
            "scopes": {"type": "array", "items": {"enum": ["read", "trade", "data", "funding"]}},
        }
    )
    user_id: str
    key_id: str
    scopes: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class RoleChanged(IntegrationEvent):
    event_type: ClassVar[str] = "identity.role_changed"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "user_id": _UUID,
            "role": {"enum": ["customer", "support", "compliance", "admin"]},
            "change": {"enum": ["granted", "revoked"]},
            "maker_id": {"type": ["string", "null"], "format": "uuid"},
            "checker_id": {"type": ["string", "null"], "format": "uuid"},
        }
    )
    user_id: str
    role: str
    change: str
    maker_id: str | None
    checker_id: str | None

    @property
    def key(self) -> str:
        return self.user_id


IDENTITY_EVENTS: tuple[type[IntegrationEvent], ...] = (
    UserRegistered,
    SignInAttempted,
    MfaEnabled,
    ApiKeyCreated,
    RoleChanged,
)
