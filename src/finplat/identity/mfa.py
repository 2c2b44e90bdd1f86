"""TOTP second factor and one-time recovery codes.

The TOTP secret is encrypted at rest. A code is accepted within the configured drift window
and only once: the counter of the last accepted code is stored and must increase. Recovery
codes carry 80 random bits each, so a SHA-256 of the code is a safe stored form.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from finplat.identity import users as user_store
from finplat.identity.audit_store import record_audit
from finplat.identity.context import IdentityKit, Origin
from finplat.identity.domain import Principal
from finplat.identity.events import MfaEnabled
from finplat.identity.store import TOTP_CONTEXT, recovery_codes, totp_factors
from finplat.kernel import BusinessRuleViolation, Conflict, InvalidInput, new_id
from finplat.platform.crypto import hash_token, new_totp_secret, provisioning_uri, verify_totp
from finplat.platform.db import UnitOfWork

RECOVERY_CODE_COUNT = 10


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str


def _normalize_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, 16 chars
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def start_enrolment(kit: IdentityKit, uow: UnitOfWork, principal: Principal) -> Enrolment:
    user = await user_store.by_id(uow.session, principal.user_id, for_update=True)
    if user is None:
        raise InvalidInput("no such user", code="user_not_found")
    if user.mfa_enabled:
        raise Conflict("multi-factor authentication is already on", code="mfa_already_enabled")
    secret = new_totp_secret()
    await uow.session.execute(delete(totp_factors).where(totp_factors.c.user_id == user.id))
    await uow.session.execute(
        insert(totp_factors).values(
            user_id=user.id,
            secret_encrypted=kit.cipher.encrypt(secret, context=TOTP_CONTEXT),
            created_at=uow.clock.now(),
        )
    )
    account = kit.decrypt_email(user.email_encrypted)
    uri = provisioning_uri(secret, account_name=account, issuer=kit.policy.mfa_issuer)
    return Enrolment(secret, uri)


async def confirm_enrolment(
    kit: IdentityKit, uow: UnitOfWork, principal: Principal, code: str, origin: Origin
) -> list[str]:
    """Turn MFA on with a first valid code; returns the recovery codes (shown once)."""
    factor = (
        await uow.session.execute(
            select(totp_factors)
            .where(totp_factors.c.user_id == principal.user_id)
            .with_for_update()
        )
    ).one_or_none()
    if factor is None or factor.confirmed_at is not None:
        raise BusinessRuleViolation("start the enrolment first", code="mfa_not_pending")
    secret = kit.cipher.decrypt_text(factor.secret_encrypted, context=TOTP_CONTEXT)
    now = uow.clock.now()
    counter = verify_totp(secret, code, now, drift_steps=kit.policy.totp_drift_steps)
    if counter is None:
        raise InvalidInput("the code is wrong; check the authenticator's clock", code="wrong_code")
    await uow.session.execute(
        update(totp_factors)
        .where(totp_factors.c.user_id == principal.user_id)
        .values(confirmed_at=now, last_counter=counter)
    )
    codes = await _replace_recovery_codes(uow, principal.user_id)
    await uow.publish(MfaEnabled(user_id=str(principal.user_id)))
    await record_audit(
        uow,
        action="auth.mfa_enabled",
        actor_id=str(principal.user_id),
        actor_type="user",
        target_type="user",
        target_id=str(principal.user_id),
        ip=origin.ip,
        details={"method": "totp"},
    )
    return codes


async def _replace_recovery_codes(uow: UnitOfWork, user_id: uuid.UUID) -> list[str]:
    await uow.session.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    now = uow.clock.now()
    for code in codes:
        await uow.session.execute(
            insert(recovery_codes).values(
                id=new_id(),
                user_id=user_id,
                code_hash=hash_token(_normalize_code(code)),
                created_at=now,
            )
        )
    return codes


async def regenerate_recovery_codes(
    uow: UnitOfWork, principal: Principal, origin: Origin
) -> list[str]:
    codes = await _replace_recovery_codes(uow, principal.user_id)
    await record_audit(
        uow,
        action="auth.recovery_codes_regenerated",
        actor_id=str(principal.user_id),
        actor_type="user",
        target_type="user",
        target_id=str(principal.user_id),
        ip=origin.ip,
    )
    return codes


async def check_code(kit: IdentityKit, uow: UnitOfWork, user_id: uuid.UUID, code: str) -> bool:
    """Accept a TOTP code once; records its counter so it cannot be replayed."""
    factor = (
        await uow.session.execute(
            select(totp_factors).where(totp_factors.c.user_id == user_id).with_for_update()
        )
    ).one_or_none()
    if factor is None or factor.confirmed_at is None:
        return False
    secret = kit.cipher.decrypt_text(factor.secret_encrypted, context=TOTP_CONTEXT)
    counter = verify_totp(
        secret,
        code,
        uow.clock.now(),
        drift_steps=kit.policy.totp_drift_steps,
        last_used_counter=factor.last_counter,
    )
    if counter is None:
        return False
    await uow.session.execute(
        update(totp_factors).where(totp_factors.c.user_id == user_id).values(last_counter=counter)
    )
    return True


async def use_recovery_code(uow: UnitOfWork, user_id: uuid.UUID, code: str) -> bool:
    result = await uow.session.execute(
        update(recovery_codes)
        .where(recovery_codes.c.user_id == user_id)
        .where(recovery_codes.c.code_hash == hash_token(_normalize_code(code)))
        .where(recovery_codes.c.used_at.is_(None))
        .values(used_at=uow.clock.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def disable(uow: UnitOfWork, principal: Principal, origin: Origin) -> None:
    if principal.is_staff:
        raise BusinessRuleViolation(
            "staff accounts must keep multi-factor authentication", code="mfa_required_for_staff"
        )
    await uow.session.execute(
        delete(totp_factors).where(totp_factors.c.user_id == principal.user_id)
    )
    await uow.session.execute(
        delete(recovery_codes).where(recovery_codes.c.user_id == principal.user_id)
    )
    await record_audit(
        uow,
        action="auth.mfa_disabled",
        actor_id=str(principal.user_id),
        actor_type="user",
        target_type="user",
        target_id=str(principal.user_id),
        ip=origin.ip,
    )
