"""Accounts: sign-up, email verification, password change and reset, user creation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from finplat.identity import users as user_store
from finplat.identity.audit_store import record_audit
from finplat.identity.context import IdentityKit, Origin
from finplat.identity.domain import Role, normalize_email
from finplat.identity.events import UserRegistered
from finplat.identity.sessions import revoke_user_sessions
from finplat.identity.store import email_tokens
from finplat.kernel import Conflict, InvalidInput, new_id
from finplat.platform.crypto import hash_token, new_token, password_problems
from finplat.platform.db import UnitOfWork
from finplat.platform.mail import Message

VERIFY = "verify"
RESET = "reset"


@dataclass(frozen=True)
class Registered:
    user_id: uuid.UUID
    email: str


def check_password(password: str, email: str) -> None:
    problems = password_problems(password, email=email)
    if problems:
        raise InvalidInput(
            "the password is not strong enough",
            code="weak_password",
            details={"problems": problems},
        )


async def create_user(
    kit: IdentityKit,
    uow: UnitOfWork,
    *,
    email: str,
    password: str,
    roles: frozenset[Role] = frozenset({Role.CUSTOMER}),
    verified: bool = False,
    origin: Origin | None = None,
    actor_id: uuid.UUID | None = None,
    actor_type: str = "user",
) -> Registered:
    """Create a user; fails with `email_taken` if the address is already registered."""
    origin = origin or Origin()
    address = normalize_email(email)
    check_password(password, address)
    user_id = new_id()
    now = uow.clock.now()
    password_hash = await kit.hasher.hash_async(password)
    try:
        async with uow.session.begin_nested():
            await user_store.insert_user(
                uow.session,
                user_id=user_id,
                email_encrypted=kit.encrypt_email(address),
                email_index=kit.email_index(address),
                password_hash=password_hash,
                now=now,
                verified=verified,
                roles=roles,
                granted_by=actor_id,
            )
    except IntegrityError:
        raise Conflict("an account with this email already exists", code="email_taken") from None
    await uow.publish(
        UserRegistered(user_id=str(user_id), ip=origin.ip, user_agent=origin.user_agent)
    )
    await record_audit(
        uow,
        action="user.registered",
        actor_id=str(actor_id or user_id) if actor_type != "system" else None,
        actor_type=actor_type,
        target_type="user",
        target_id=str(user_id),
        ip=origin.ip,
        details={"roles": [role.value for role in sorted(roles)], "verified": verified},
    )
    if not verified:
        await send_email_token(kit, uow, user_id, address, VERIFY)
    return Registered(user_id, address)


async def send_email_token(
    kit: IdentityKit, uow: UnitOfWork, user_id: uuid.UUID, address: str, purpose: str
) -> None:
    token = new_token()
    now = uow.clock.now()
    await uow.session.execute(
        insert(email_tokens).values(
            id=new_id(),
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + kit.policy.email_token_ttl,
        )
    )
    base = kit.policy.public_base_url.rstrip("/")
    if purpose == VERIFY:
        subject = "Confirm your email address"
        text = (
            "Welcome to finplat.\n\nConfirm your email address by opening:\n"
            f"{base}/verify-email?token={token}\n\nor by sending this code to the API: {token}\n"
        )
    else:
        subject = "Reset your password"
        text = (
            "Someone asked to reset the password of your finplat account.\n\n"
            f"If it was you, open:\n{base}/reset-password?token={token}\n\n"
            f"or send this code to the API: {token}\n\nIf it was not you, ignore this message.\n"
        )
    await kit.mail.enqueue(uow.session, Message(to=address, subject=subject, text=text))


async def _take_email_token(uow: UnitOfWork, token: str, purpose: str) -> uuid.UUID:
    now = uow.clock.now()
    row = (
        await uow.session.execute(
            select(email_tokens)
            .where(email_tokens.c.token_hash == hash_token(token))
            .where(email_tokens.c.purpose == purpose)
            .with_for_update()
        )
    ).one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidInput("this link is invalid or has expired", code="invalid_token")
    await uow.session.execute(
        update(email_tokens).where(email_tokens.c.id == row.id).values(used_at=now)
    )
    user_id: uuid.UUID = row.user_id
    return user_id


async def verify_email(kit: IdentityKit, uow: UnitOfWork, token: str, origin: Origin) -> None:
    user_id = await _take_email_token(uow, token, VERIFY)
    await user_store.set_fields(uow.session, user_id, email_verified_at=uow.clock.now())
    await record_audit(
        uow,
        action="user.email_verified",
        actor_id=str(user_id),
        actor_type="user",
        target_type="user",
        target_id=str(user_id),
        ip=origin.ip,
    )


async def request_password_reset(
    kit: IdentityKit, uow: UnitOfWork, email: str, origin: Origin
) -> None:
    """Always succeeds from the caller's view, so the answer does not reveal who has an account."""
    try:
        address = normalize_email(email)
    except InvalidInput:
        return
    user = await user_store.by_email_index(uow.session, kit.email_index(address))
    if user is None or not user.active:
        return
    await send_email_token(kit, uow, user.id, address, RESET)
    await record_audit(
        uow,
        action="user.password_reset_requested",
        actor_id=None,
        actor_type="anonymous",
        target_type="user",
        target_id=str(user.id),
        ip=origin.ip,
    )


async def reset_password(
    kit: IdentityKit, uow: UnitOfWork, token: str, new_password: str, origin: Origin
) -> None:
    user_id = await _take_email_token(uow, token, RESET)
    user = await user_store.by_id(uow.session, user_id, for_update=True)
    if user is None:
        raise InvalidInput("this link is invalid or has expired", code="invalid_token")
    await _set_password(kit, uow, user, new_password)
    # a reset proves control of the mailbox: clear the lockout, end every session
    await user_store.set_fields(uow.session, user.id, failed_logins=0, locked_until=None)
    await revoke_user_sessions(uow, user.id, reason="password_reset")
    await record_audit(
        uow,
        action="user.password_reset",
        actor_id=str(user.id),
        actor_type="user",
        target_type="user",
        target_id=str(user.id),
        ip=origin.ip,
    )


async def change_password(
    kit: IdentityKit,
    uow: UnitOfWork,
    user_id: uuid.UUID,
    current_password: str,
    new_password: str,
    *,
    keep_session: uuid.UUID | None,
    origin: Origin,
) -> None:
    user = await user_store.by_id(uow.session, user_id, for_update=True)
    if user is None or not await kit.hasher.verify_async(user.password_hash, current_password):
        raise InvalidInput("the current password is wrong", code="wrong_password")
    await _set_password(kit, uow, user, new_password)
    await revoke_user_sessions(uow, user.id, reason="password_changed", keep=keep_session)
    await record_audit(
        uow,
        action="user.password_changed",
        actor_id=str(user.id),
        actor_type="user",
        target_type="user",
        target_id=str(user.id),
        ip=origin.ip,
    )


async def _set_password(
    kit: IdentityKit, uow: UnitOfWork, user: user_store.UserRecord, new_password: str
) -> None:
    check_password(new_password, kit.decrypt_email(user.email_encrypted))
    await user_store.set_fields(
        uow.session,
        user.id,
        password_hash=await kit.hasher.hash_async(new_password),
        password_changed_at=uow.clock.now(),
    )


@dataclass(frozen=True)
class Profile:
    user_id: uuid.UUID
    email: str
    roles: frozenset[Role]
    email_verified: bool
    mfa_enabled: bool
    created_at: datetime
    status: str


async def profile(kit: IdentityKit, uow: UnitOfWork, user_id: uuid.UUID) -> Profile | None:
    user = await user_store.by_id(uow.session, user_id)
    if user is None:
        return None
    return Profile(
        user_id=user.id,
        email=kit.decrypt_email(user.email_encrypted),
        roles=user.roles,
        email_verified=user.email_verified_at is not None,
        mfa_enabled=user.mfa_enabled,
        created_at=user.created_at,
        status=user.status,
    )


async def user_id_for_email(kit: IdentityKit, uow: UnitOfWork, email: str) -> uuid.UUID | None:
    """The id of the user with this email, if any (an operator lookup, not a sign-in)."""
    found = await user_store.by_email_index(uow.session, kit.email_index(normalize_email(email)))
    return None if found is None else found.id
