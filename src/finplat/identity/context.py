"""What identity's use cases need, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from finplat.identity.domain import LockoutPolicy
from finplat.identity.store import EMAIL_CONTEXT
from finplat.kernel import Clock
from finplat.platform.crypto import BlindIndex, FieldCipher, JwtCodec, PasswordHasher
from finplat.platform.db import UnitOfWorkFactory
from finplat.platform.mail import MailOutbox
from finplat.platform.ratelimit import RateLimiter


@dataclass(frozen=True)
class IdentityPolicy:
    access_token_ttl: timedelta
    refresh_token_ttl: timedelta
    mfa_token_ttl: timedelta
    email_token_ttl: timedelta
    step_up_max_age: timedelta
    approval_ttl: timedelta
    totp_drift_steps: int
    mfa_issuer: str
    public_base_url: str
    login_attempts_per_ip: int
    login_window: timedelta
    per_principal_limit: int
    per_principal_window: timedelta


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for sessions, audit and fraud signals."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class IdentityKit:
    uows: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    access_tokens: JwtCodec
    mfa_tokens: JwtCodec
    cipher: FieldCipher
    blind_index: BlindIndex
    limiter: RateLimiter
    mail: MailOutbox
    lockout: LockoutPolicy
    policy: IdentityPolicy

    def email_index(self, email: str) -> str:
        return self.blind_index.digest(email, context=EMAIL_CONTEXT)

    def encrypt_email(self, email: str) -> str:
        return self.cipher.encrypt(email, context=EMAIL_CONTEXT)

    def decrypt_email(self, token: str) -> str:
        return self.cipher.decrypt_text(token, context=EMAIL_CONTEXT)
