"""Identity's pure model: roles, permissions, API-key scopes, principals, lockout and
maker-checker rules. Standard library and kernel only."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from finplat.kernel import BusinessRuleViolation, InvalidInput, PermissionDenied


class Role(StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    COMPLIANCE = "compliance"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CUSTOMER


class Permission(StrEnum):
    """What a route may require. Customers' permissions act on their own resources."""

    PROFILE_READ = "profile:read"
    PROFILE_WRITE = "profile:write"
    APIKEYS_MANAGE = "apikeys:manage"
    ACCOUNTS_READ = "accounts:read"
    FUNDING_READ = "funding:read"
    FUNDING_WRITE = "funding:write"
    TRADING_READ = "trading:read"
    TRADING_WRITE = "trading:write"
    MARKETDATA_READ = "marketdata:read"
    KYC_SUBMIT = "kyc:submit"
    KYC_READ_ANY = "kyc:read_any"
    KYC_REVIEW = "kyc:review"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    APPROVALS_DECIDE = "approvals:decide"
    AUDIT_READ = "audit:read"
    LIMITS_MANAGE = "limits:manage"
    TRADING_HALT = "trading:halt"
    FRAUD_REVIEW = "fraud:review"
    REPORTS_MANAGE = "reports:manage"


_CUSTOMER = frozenset(
    {
        Permission.PROFILE_READ,
        Permission.PROFILE_WRITE,
        Permission.APIKEYS_MANAGE,
        Permission.ACCOUNTS_READ,
        Permission.FUNDING_READ,
        Permission.FUNDING_WRITE,
        Permission.TRADING_READ,
        Permission.TRADING_WRITE,
        Permission.MARKETDATA_READ,
        Permission.KYC_SUBMIT,
    }
)
_STAFF_BASE = frozenset(
    {Permission.PROFILE_READ, Permission.PROFILE_WRITE, Permission.MARKETDATA_READ}
)

#: The permission matrix (documented in docs/permissions.md, which a test keeps in step).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CUSTOMER: _CUSTOMER,
    Role.SUPPORT: _STAFF_BASE | {Permission.USERS_READ, Permission.KYC_READ_ANY},
    Role.COMPLIANCE: _STAFF_BASE
    | {
        Permission.USERS_READ,
        Permission.KYC_READ_ANY,
        Permission.KYC_REVIEW,
        Permission.APPROVALS_DECIDE,
        Permission.AUDIT_READ,
        Permission.FRAUD_REVIEW,
        Permission.REPORTS_MANAGE,
    },
    Role.ADMIN: _STAFF_BASE
    | {
        Permission.USERS_READ,
        Permission.USERS_MANAGE,
        Permission.KYC_READ_ANY,
        Permission.APPROVALS_DECIDE,
        Permission.AUDIT_READ,
        Permission.LIMITS_MANAGE,
        Permission.TRADING_HALT,
    },
}


class ApiKeyScope(StrEnum):
    READ = "read"
    TRADE = "trade"
    DATA = "data"
    FUNDING = "funding"


SCOPE_PERMISSIONS: dict[ApiKeyScope, frozenset[Permission]] = {
    ApiKeyScope.READ: frozenset(
        {
            Permission.PROFILE_READ,
            Permission.ACCOUNTS_READ,
            Permission.FUNDING_READ,
            Permission.TRADING_READ,
            Permission.MARKETDATA_READ,
        }
    ),
    ApiKeyScope.TRADE: frozenset({Permission.TRADING_READ, Permission.TRADING_WRITE}),
    ApiKeyScope.DATA: frozenset({Permission.MARKETDATA_READ}),
    ApiKeyScope.FUNDING: frozenset({Permission.FUNDING_READ, Permission.FUNDING_WRITE}),
}


def role_permissions(roles: Iterable[Role], *, mfa_verified: bool) -> frozenset[Permission]:
    """Permissions of a set of roles. Staff permissions need a sign-in that used MFA:
    a staff member who signed in with a password alone acts as a customer would."""
    granted: set[Permission] = set()
    for role in roles:
        if role.is_staff and not mfa_verified:
            granted |= _STAFF_BASE
        else:
            granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def scope_permissions(scopes: Iterable[ApiKeyScope]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for scope in scopes:
        granted |= SCOPE_PERMISSIONS[scope]
    return frozenset(granted)


class AuthMethod(StrEnum):
    """How a principal proved who it is (the JWT `amr` claim, RFC 8176 spellings)."""

    PASSWORD = "pwd"  # noqa: S105 - a method name, not a secret
    MFA = "mfa"
    API_KEY = "apikey"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: uuid.UUID
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    methods: frozenset[AuthMethod]
    auth_time: datetime
    session_id: uuid.UUID | None = None
    api_key_id: str | None = None

    @property
    def kind(self) -> str:
        return "api_key" if self.api_key_id else "user"

    @property
    def is_staff(self) -> bool:
        return any(role.is_staff for role in self.roles)

    @property
    def used_mfa(self) -> bool:
        return AuthMethod.MFA in self.methods

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(
                f"this action needs the '{permission}' permission",
                code="permission_denied",
                details={"permission": permission.value},
            )

    def require_mfa(self) -> None:
        if not self.used_mfa:
            raise PermissionDenied(
                "this action needs a sign-in with multi-factor authentication",
                code="mfa_required",
            )

    def require_recent_auth(self, now: datetime, max_age: timedelta) -> None:
        if self.api_key_id is not None or now - self.auth_time > max_age:
            raise PermissionDenied(
                "confirm your identity again (step-up) to do this", code="step_up_required"
            )


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalize_email(email: str) -> str:
    cleaned = email.strip()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise InvalidInput("not a valid email address", code="invalid_email")
    local, domain = cleaned.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


@dataclass(frozen=True)
class LockoutPolicy:
    """After `threshold` consecutive failures an account locks for base * 2^(n - threshold)
    seconds, capped at `max_seconds`; a success resets the count."""

    threshold: int
    base: timedelta
    maximum: timedelta

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        if failures < self.threshold:
            return None
        delay = self.base * (1 << min(failures - self.threshold, 30))
        return now + min(delay, self.maximum)


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class SensitiveAction(StrEnum):
    """Staff actions that need a second staff member (maker-checker)."""

    ROLE_GRANT = "role.grant"
    ROLE_REVOKE = "role.revoke"
    LIMIT_CHANGE = "limit.change"
    WITHDRAWAL_APPROVAL = "withdrawal.approve"
    KYC_HIGH_RISK_APPROVAL = "kyc.approve_high_risk"


@dataclass(frozen=True)
class ApprovalDecision:
    status: ApprovalStatus
    checker_id: uuid.UUID


@dataclass(frozen=True)
class Approval:
    """A request by one staff member (maker) that another (checker) must decide."""

    id: uuid.UUID
    action: SensitiveAction
    maker_id: uuid.UUID
    target_id: str
    payload: dict[str, str] = field(default_factory=dict)
    status: ApprovalStatus = ApprovalStatus.PENDING
    expires_at: datetime | None = None

    def decide(self, checker_id: uuid.UUID, *, approve: bool, now: datetime) -> ApprovalDecision:
        if self.status is not ApprovalStatus.PENDING:
            raise BusinessRuleViolation(
                f"this request is already {self.status}", code="approval_not_pending"
            )
        if self.expires_at is not None and now >= self.expires_at:
            raise BusinessRuleViolation("this request has expired", code="approval_expired")
        if checker_id == self.maker_id:
            raise PermissionDenied(
                "the staff member who asked cannot also approve", code="four_eyes_required"
            )
        status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        return ApprovalDecision(status, checker_id)


_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str | None) -> str:
    """A short human label for a session list, e.g. 'Firefox on Linux'."""
    if not user_agent:
        return "unknown device"
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return str(browser or system)
    return user_agent.split("/", 1)[0][:64] or "unknown device"
