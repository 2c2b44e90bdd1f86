"""Request and response bodies of identity's API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from finplat.identity.domain import ApiKeyScope, ApprovalStatus, Role, SensitiveAction
from finplat.platform.http import StrictModel

Password = str  # length limits live in the password policy, which explains its answer


class SignUpIn(StrictModel):
    email: str = Field(max_length=254)
    password: Password = Field(max_length=256)


class SignUpOut(BaseModel):
    user_id: uuid.UUID
    email: str
    email_verification_required: bool


class TokenIn(StrictModel):
    token: str = Field(min_length=1, max_length=256)


class SignInIn(StrictModel):
    email: str = Field(max_length=254)
    password: Password = Field(max_length=256)


class MfaSignInIn(StrictModel):
    mfa_token: str = Field(max_length=2048)
    code: str | None = Field(default=None, max_length=10)
    recovery_code: str | None = Field(default=None, max_length=64)


class TokensOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
    refresh_token: str
    session_id: uuid.UUID


class SignInOut(BaseModel):
    status: Literal["signed_in", "mfa_required"]
    tokens: TokensOut | None = None
    mfa_token: str | None = None


class RefreshIn(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class StepUpIn(StrictModel):
    password: Password = Field(max_length=256)
    code: str | None = Field(default=None, max_length=10)


class AccessTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class PasswordResetIn(StrictModel):
    email: str = Field(max_length=254)


class PasswordResetConfirmIn(StrictModel):
    token: str = Field(min_length=1, max_length=256)
    new_password: Password = Field(max_length=256)


class PasswordChangeIn(StrictModel):
    current_password: Password = Field(max_length=256)
    new_password: Password = Field(max_length=256)


class ProfileOut(BaseModel):
    id: uuid.UUID
    email: str
    roles: list[Role]
    email_verified: bool
    mfa_enabled: bool
    status: str
    created_at: datetime


class SessionOut(BaseModel):
    id: uuid.UUID
    device: str | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


class TotpEnrolmentOut(BaseModel):
    secret: str
    provisioning_uri: str


class CodeIn(StrictModel):
    code: str = Field(min_length=6, max_length=10)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class ApiKeyIn(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[ApiKeyScope] = Field(min_length=1, max_length=4)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    key_id: str
    name: str
    scopes: list[ApiKeyScope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(BaseModel):
    id: uuid.UUID
    key_id: str
    secret: str = Field(description="Shown once; store it now.")
    scopes: list[ApiKeyScope]
    expires_at: datetime | None


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    roles: list[Role]
    status: str
    email_verified: bool
    mfa_enabled: bool
    created_at: datetime
    locked_until: datetime | None


class RoleChangeIn(StrictModel):
    role: Role
    change: Literal["grant", "revoke"]


class ApprovalOut(BaseModel):
    id: uuid.UUID
    action: SensitiveAction
    maker_id: uuid.UUID
    target_id: str
    payload: dict[str, str]
    status: ApprovalStatus
    created_at: datetime
    expires_at: datetime
    checker_id: uuid.UUID | None
    decided_at: datetime | None


class AuditEntryOut(BaseModel):
    seq: int
    id: uuid.UUID
    occurred_at: datetime
    actor_id: str | None
    actor_type: str
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    request_id: str | None
    details: dict[str, object]
    hash: str
