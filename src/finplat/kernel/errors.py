"""Domain errors: each carries a stable machine-readable code and a readable message.

The HTTP layer maps each kind to a status; domains only choose the kind and the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error a use case reports to its caller on purpose."""

    default_code = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: Mapping[str, Any] = dict(details or {})


class InvalidInput(DomainError):
    """The request is well formed but its values are not acceptable."""

    default_code = "invalid_input"


class NotFound(DomainError):
    default_code = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state (duplicate, idempotency key reuse...)."""

    default_code = "conflict"


class BusinessRuleViolation(DomainError):
    """A business rule denies the request (insufficient funds, trading halted...)."""

    default_code = "rule_violation"


class Unauthenticated(DomainError):
    default_code = "unauthenticated"


class PermissionDenied(DomainError):
    default_code = "permission_denied"


class Unavailable(DomainError):
    """A dependency the request needs is down; the caller may retry later."""

    default_code = "unavailable"
