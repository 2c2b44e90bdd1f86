"""Builds identity's kit from the settings (called by the composition root)."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from finplat.identity.context import IdentityKit, IdentityPolicy
from finplat.identity.domain import LockoutPolicy
from finplat.kernel import Clock
from finplat.platform.crypto import (
    BlindIndex,
    FieldCipher,
    JwtCodec,
    KeyRing,
    PasswordHasher,
    load_or_create_ed25519_pem,
)
from finplat.platform.db import UnitOfWorkFactory
from finplat.platform.mail import MailOutbox
from finplat.platform.ratelimit import RateLimiter
from finplat.platform.settings import Settings


def derive_secret(settings: Settings, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from FINPLAT_SECRET_KEY."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"finplat", info=purpose.encode()
    ).derive(settings.secret_key.get_secret_value().encode())


def _codec(settings: Settings, clock: Clock, audience: str, purpose: str) -> JwtCodec:
    if settings.jwt_algorithm == "EdDSA":
        pem = load_or_create_ed25519_pem(
            settings.resolved_jwt_private_key_file, allow_create=not settings.is_production
        )
        return JwtCodec.eddsa(pem, issuer=settings.jwt_issuer, audience=audience, clock=clock)
    return JwtCodec.hs256(
        derive_secret(settings, purpose), issuer=settings.jwt_issuer, audience=audience, clock=clock
    )


def load_key_ring(settings: Settings) -> KeyRing:
    """The master keys; created on first start except in production, where a missing key file
    is an error (a new key would make the stored data unreadable)."""
    return KeyRing.load_or_create(
        settings.resolved_master_key_file, allow_create=not settings.is_production
    )


def build_identity_kit(
    settings: Settings,
    uows: UnitOfWorkFactory,
    clock: Clock,
    limiter: RateLimiter,
    cipher: FieldCipher,
    blind_index: BlindIndex,
) -> IdentityKit:
    mail = MailOutbox(cipher, clock)
    policy = IdentityPolicy(
        access_token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_token_ttl=timedelta(days=settings.refresh_token_ttl_days),
        mfa_token_ttl=timedelta(minutes=5),
        email_token_ttl=timedelta(hours=settings.email_token_ttl_hours),
        step_up_max_age=timedelta(seconds=settings.step_up_max_age_seconds),
        approval_ttl=timedelta(days=7),
        totp_drift_steps=settings.totp_drift_steps,
        mfa_issuer=settings.mfa_issuer,
        public_base_url=settings.public_base_url,
        login_attempts_per_ip=settings.login_attempts_per_ip_per_minute,
        login_window=timedelta(minutes=1),
        per_principal_limit=settings.rate_limit_per_principal_per_minute,
        per_principal_window=timedelta(minutes=1),
    )
    return IdentityKit(
        uows=uows,
        clock=clock,
        hasher=PasswordHasher(
            settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
        ),
        access_tokens=_codec(settings, clock, settings.jwt_audience, "jwt-access"),
        mfa_tokens=_codec(settings, clock, f"{settings.jwt_audience}/mfa", "jwt-mfa"),
        cipher=cipher,
        blind_index=blind_index,
        limiter=limiter,
        mail=mail,
        lockout=LockoutPolicy(
            threshold=settings.lockout_threshold,
            base=timedelta(seconds=settings.lockout_base_seconds),
            maximum=timedelta(seconds=settings.lockout_max_seconds),
        ),
        policy=policy,
    )
