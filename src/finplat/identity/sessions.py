"""Sign-in, sessions and tokens.

A session is a refresh-token family: each refresh spends the presented token and issues the
next. Presenting a spent token means it was copied, so the whole family is revoked. Access
tokens are short-lived JWTs naming their session; every request checks that the session is
still live, so signing out takes effect at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update

from finplat.identity import mfa
from finplat.identity import users as user_store
from finplat.identity.audit_store import record_audit
from finplat.identity.context import IdentityKit, Origin
from finplat.identity.domain import (
    AuthMethod,
    Principal,
    describe_device,
    normalize_email,
    role_permissions,
)
from finplat.identity.events import SignInAttempted
from finplat.identity.store import refresh_tokens, sessions, users
from finplat.kernel import InvalidInput, NotFound, Unauthenticated, new_id
from finplat.platform.crypto import InvalidToken, hash_token, new_token
from finplat.platform.db import UnitOfWork


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID


class SignInOutcome(StrEnum):
    SIGNED_IN = "signed_in"
    MFA_REQUIRED = "mfa_required"
    INVALID = "invalid_credentials"
    LOCKED = "locked"
    UNVERIFIED = "email_not_verified"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignInOutcome
    tokens: TokenPair | None = None
    mfa_token: str | None = None
    retry_after: timedelta | None = None


async def _attempt(
    uow: UnitOfWork,
    user_id: uuid.UUID | None,
    outcome: SignInOutcome,
    origin: Origin,
    *,
    method: str = "password",
) -> None:
    success = outcome in {SignInOutcome.SIGNED_IN, SignInOutcome.MFA_REQUIRED}
    await uow.publish(
        SignInAttempted(
            user_id=str(user_id) if user_id else None,
            success=success,
            reason=outcome.value,
            ip=origin.ip,
            user_agent=origin.user_agent,
        )
    )
    await record_audit(
        uow,
        action="auth.sign_in" if success else "auth.sign_in_failed",
        actor_id=str(user_id) if user_id else None,
        actor_type="user" if user_id else "anonymous",
        target_type="user" if user_id else None,
        target_id=str(user_id) if user_id else None,
        ip=origin.ip,
        details={"outcome": outcome.value, "method": method, "user_agent": origin.user_agent},
    )


async def _failed(
    kit: IdentityKit, uow: UnitOfWork, user: user_store.UserRecord, origin: Origin, method: str
) -> SignInResult:
    failures = user.failed_logins + 1
    locked_until = kit.lockout.locked_until(failures, uow.clock.now())
    await user_store.set_fields(
        uow.session, user.id, failed_logins=failures, locked_until=locked_until
    )
    await _attempt(uow, user.id, SignInOutcome.INVALID, origin, method=method)
    return SignInResult(SignInOutcome.INVALID)


async def sign_in(
    kit: IdentityKit, uow: UnitOfWork, email: str, password: str, origin: Origin
) -> SignInResult:
    """Check a password. The caller commits whatever the outcome: failures must count."""
    now = uow.clock.now()
    try:
        index = kit.email_index(normalize_email(email))
    except InvalidInput:
        index = None
    user = await user_store.by_email_index(uow.session, index, for_update=True) if index else None
    if user is None:
        await kit.hasher.verify_dummy_async(password)  # same cost as for a real account
        await _attempt(uow, None, SignInOutcome.INVALID, origin)
        return SignInResult(SignInOutcome.INVALID)
    if user.locked_until is not None and user.locked_until > now:
        await kit.hasher.verify_dummy_async(password)
        await _attempt(uow, user.id, SignInOutcome.LOCKED, origin)
        return SignInResult(SignInOutcome.LOCKED, retry_after=user.locked_until - now)
    if not await kit.hasher.verify_async(user.password_hash, password):
        return await _failed(kit, uow, user, origin, "password")
    if not user.active:
        await _attempt(uow, user.id, SignInOutcome.DISABLED, origin)
        return SignInResult(SignInOutcome.DISABLED)
    if user.email_verified_at is None:
        await _attempt(uow, user.id, SignInOutcome.UNVERIFIED, origin)
        return SignInResult(SignInOutcome.UNVERIFIED)
    changes: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
    if kit.hasher.needs_rehash(user.password_hash):
        changes["password_hash"] = await kit.hasher.hash_async(password)
    if user.mfa_enabled:
        await _attempt(uow, user.id, SignInOutcome.MFA_REQUIRED, origin)
        token = kit.mfa_tokens.encode({"sub": str(user.id)}, kit.policy.mfa_token_ttl)
        return SignInResult(SignInOutcome.MFA_REQUIRED, mfa_token=token)
    await user_store.set_fields(uow.session, user.id, **changes)
    tokens = await open_session(kit, uow, user.id, frozenset({AuthMethod.PASSWORD}), origin)
    await _attempt(uow, user.id, SignInOutcome.SIGNED_IN, origin)
    return SignInResult(SignInOutcome.SIGNED_IN, tokens=tokens)


async def complete_mfa_sign_in(
    kit: IdentityKit,
    uow: UnitOfWork,
    mfa_token: str,
    *,
    code: str | None,
    recovery_code: str | None,
    origin: Origin,
) -> SignInResult:
    """Second step of a sign-in: a TOTP code or a one-time recovery code."""
    try:
        claims = kit.mfa_tokens.decode(mfa_token)
        user_id = uuid.UUID(str(claims["sub"]))
    except (InvalidToken, ValueError):
        raise Unauthenticated(
            "the sign-in has expired; start again", code="invalid_token"
        ) from None
    user = await user_store.by_id(uow.session, user_id, for_update=True)
    if user is None or not user.active:
        raise Unauthenticated("the sign-in has expired; start again", code="invalid_token")
    now = uow.clock.now()
    if user.locked_until is not None and user.locked_until > now:
        await _attempt(uow, user.id, SignInOutcome.LOCKED, origin, method="mfa")
        return SignInResult(SignInOutcome.LOCKED, retry_after=user.locked_until - now)
    if recovery_code:
        passed, method = await mfa.use_recovery_code(uow, user.id, recovery_code), "recovery_code"
    else:
        passed, method = await mfa.check_code(kit, uow, user.id, code or ""), "totp"
    if not passed:
        return await _failed(kit, uow, user, origin, method)
    await user_store.set_fields(uow.session, user.id, failed_logins=0, locked_until=None)
    methods = frozenset({AuthMethod.PASSWORD, AuthMethod.MFA})
    tokens = await open_session(kit, uow, user.id, methods, origin)
    await _attempt(uow, user.id, SignInOutcome.SIGNED_IN, origin, method=method)
    return SignInResult(SignInOutcome.SIGNED_IN, tokens=tokens)


def _methods_text(methods: frozenset[AuthMethod]) -> str:
    return " ".join(sorted(method.value for method in methods))


def _access_token(
    kit: IdentityKit, user_id: uuid.UUID, session_id: uuid.UUID, methods: str, auth_time: datetime
) -> str:
    return kit.access_tokens.encode(
        {
            "sub": str(user_id),
            "sid": str(session_id),
            "amr": methods.split(),
            "auth_time": int(auth_time.timestamp()),
            "typ": "access",
        },
        kit.policy.access_token_ttl,
    )


async def _issue_refresh(kit: IdentityKit, uow: UnitOfWork, session_id: uuid.UUID) -> str:
    token = new_token()
    now = uow.clock.now()
    await uow.session.execute(
        insert(refresh_tokens).values(
            id=new_id(),
            session_id=session_id,
            token_hash=hash_token(token),
            issued_at=now,
            expires_at=now + kit.policy.refresh_token_ttl,
        )
    )
    return token


async def open_session(
    kit: IdentityKit,
    uow: UnitOfWork,
    user_id: uuid.UUID,
    methods: frozenset[AuthMethod],
    origin: Origin,
) -> TokenPair:
    now = uow.clock.now()
    session_id = new_id()
    await uow.session.execute(
        insert(sessions).values(
            id=session_id,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + kit.policy.refresh_token_ttl,
            auth_time=now,
            methods=_methods_text(methods),
            ip=origin.ip,
            user_agent=(origin.user_agent or "")[:512] or None,
            device=describe_device(origin.user_agent),
        )
    )
    refresh = await _issue_refresh(kit, uow, session_id)
    access = _access_token(kit, user_id, session_id, _methods_text(methods), now)
    return TokenPair(access, refresh, int(kit.policy.access_token_ttl.total_seconds()), session_id)


@dataclass(frozen=True)
class RefreshResult:
    tokens: TokenPair | None
    problem: str | None = None


async def refresh(kit: IdentityKit, uow: UnitOfWork, token: str, origin: Origin) -> RefreshResult:
    """Spend a refresh token for a new pair. The caller commits even on failure, because
    a reused token revokes its family and that must stick."""
    now = uow.clock.now()
    row = (
        await uow.session.execute(
            select(refresh_tokens)
            .where(refresh_tokens.c.token_hash == hash_token(token))
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        return RefreshResult(None, "invalid_token")
    session = (
        await uow.session.execute(
            select(sessions).where(sessions.c.id == row.session_id).with_for_update()
        )
    ).one()
    if row.used_at is not None:
        if session.revoked_at is None:
            await _revoke(uow, session.id, "refresh_token_reused")
            await record_audit(
                uow,
                action="auth.refresh_token_reused",
                actor_id=str(session.user_id),
                actor_type="user",
                target_type="session",
                target_id=str(session.id),
                ip=origin.ip,
                details={"user_agent": origin.user_agent},
            )
        return RefreshResult(None, "token_reused")
    if session.revoked_at is not None or row.expires_at <= now or session.expires_at <= now:
        return RefreshResult(None, "invalid_token")
    user = await user_store.by_id(uow.session, session.user_id)
    if user is None or not user.active:
        return RefreshResult(None, "invalid_token")
    await uow.session.execute(
        update(refresh_tokens).where(refresh_tokens.c.id == row.id).values(used_at=now)
    )
    await uow.session.execute(
        update(sessions)
        .where(sessions.c.id == session.id)
        .values(last_seen_at=now, ip=origin.ip or session.ip)
    )
    new_refresh = await _issue_refresh(kit, uow, session.id)
    access = _access_token(kit, session.user_id, session.id, session.methods, session.auth_time)
    ttl = int(kit.policy.access_token_ttl.total_seconds())
    return RefreshResult(TokenPair(access, new_refresh, ttl, session.id))


async def _revoke(uow: UnitOfWork, session_id: uuid.UUID, reason: str) -> None:
    await uow.session.execute(
        update(sessions)
        .where(sessions.c.id == session_id)
        .where(sessions.c.revoked_at.is_(None))
        .values(revoked_at=uow.clock.now(), revoke_reason=reason)
    )


async def revoke_user_sessions(
    uow: UnitOfWork, user_id: uuid.UUID, *, reason: str, keep: uuid.UUID | None = None
) -> None:
    query = (
        update(sessions)
        .where(sessions.c.user_id == user_id)
        .where(sessions.c.revoked_at.is_(None))
        .values(revoked_at=uow.clock.now(), revoke_reason=reason)
    )
    if keep is not None:
        query = query.where(sessions.c.id != keep)
    await uow.session.execute(query)


async def sign_out(uow: UnitOfWork, principal: Principal, origin: Origin) -> None:
    if principal.session_id is None:
        raise InvalidInput("API keys have no session to end", code="no_session")
    await revoke_session(uow, principal, principal.session_id, origin, reason="signed_out")


async def revoke_session(
    uow: UnitOfWork,
    principal: Principal,
    session_id: uuid.UUID,
    origin: Origin,
    *,
    reason: str = "revoked_by_user",
) -> None:
    owner = await uow.session.scalar(select(sessions.c.user_id).where(sessions.c.id == session_id))
    if owner != principal.user_id:
        raise NotFound("no such session", code="session_not_found")
    await _revoke(uow, session_id, reason)
    await record_audit(
        uow,
        action="auth.session_revoked",
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="session",
        target_id=str(session_id),
        ip=origin.ip,
        details={"reason": reason},
    )


@dataclass(frozen=True)
class SessionView:
    id: uuid.UUID
    device: str | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


async def list_sessions(uow: UnitOfWork, principal: Principal) -> list[SessionView]:
    rows = await uow.session.execute(
        select(sessions)
        .where(sessions.c.user_id == principal.user_id)
        .where(sessions.c.revoked_at.is_(None))
        .where(sessions.c.expires_at > uow.clock.now())
        .order_by(sessions.c.last_seen_at.desc())
    )
    return [
        SessionView(
            id=row.id,
            device=row.device,
            ip=row.ip,
            user_agent=row.user_agent,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            current=row.id == principal.session_id,
        )
        for row in rows
    ]


async def authenticate_access_token(kit: IdentityKit, uow: UnitOfWork, token: str) -> Principal:
    """The principal behind a bearer access token, or Unauthenticated."""
    try:
        claims = kit.access_tokens.decode(token)
        if claims.get("typ") != "access":
            raise InvalidToken("wrong_type")
        user_id = uuid.UUID(str(claims["sub"]))
        session_id = uuid.UUID(str(claims["sid"]))
        methods = frozenset(AuthMethod(m) for m in claims.get("amr", []))
        auth_time = datetime.fromtimestamp(int(claims["auth_time"]), tz=UTC)
    except (InvalidToken, KeyError, ValueError, TypeError):
        raise Unauthenticated("the access token is not valid", code="invalid_token") from None
    live = (
        await uow.session.execute(
            select(sessions.c.user_id, users.c.status)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id == session_id)
            .where(sessions.c.revoked_at.is_(None))
            .where(sessions.c.expires_at > uow.clock.now())
        )
    ).one_or_none()
    if live is None or live.user_id != user_id:
        raise Unauthenticated("the session has ended; sign in again", code="session_ended")
    if live.status != "active":
        raise Unauthenticated("the account is not active", code="account_inactive")
    roles = await user_store.roles_of(uow.session, user_id)
    return Principal(
        user_id=user_id,
        roles=roles,
        permissions=role_permissions(roles, mfa_verified=AuthMethod.MFA in methods),
        methods=methods,
        auth_time=auth_time,
        session_id=session_id,
    )


async def step_up(
    kit: IdentityKit,
    uow: UnitOfWork,
    principal: Principal,
    *,
    password: str,
    code: str | None,
    origin: Origin,
) -> str:
    """Re-check the password (and the second factor when enrolled); returns a fresh access
    token whose auth_time is now, for actions that need a recent authentication."""
    if principal.session_id is None:
        raise InvalidInput("API keys cannot step up; sign in instead", code="no_session")
    user = await user_store.by_id(uow.session, principal.user_id, for_update=True)
    if user is None or not await kit.hasher.verify_async(user.password_hash, password):
        await record_audit(
            uow,
            action="auth.step_up_failed",
            actor_id=str(principal.user_id),
            actor_type="user",
            target_type="session",
            target_id=str(principal.session_id),
            ip=origin.ip,
        )
        raise Unauthenticated("the password is wrong", code="wrong_password")
    methods = {AuthMethod.PASSWORD}
    if user.mfa_enabled:
        if not await mfa.check_code(kit, uow, user.id, code or ""):
            raise Unauthenticated("the code is wrong or was already used", code="wrong_code")
        methods.add(AuthMethod.MFA)
    now = uow.clock.now()
    text = _methods_text(frozenset(methods))
    await uow.session.execute(
        update(sessions)
        .where(sessions.c.id == principal.session_id)
        .values(auth_time=now, methods=text, last_seen_at=now)
    )
    await record_audit(
        uow,
        action="auth.step_up",
        actor_id=str(principal.user_id),
        actor_type="user",
        target_type="session",
        target_id=str(principal.session_id),
        ip=origin.ip,
    )
    return _access_token(kit, principal.user_id, principal.session_id, text, now)
