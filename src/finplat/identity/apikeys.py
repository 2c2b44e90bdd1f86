"""API keys for programmatic access: an id and a secret shown once, stored hashed.

The secret has 240 random bits, so its SHA-256 is a safe stored form and checking it costs
microseconds (argon2 would make every API call slow). A key acts with the intersection of
its scopes and its owner's customer permissions; it never carries staff permissions.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from finplat.identity import users as user_store
from finplat.identity.audit_store import record_audit
from finplat.identity.context import IdentityKit, Origin
from finplat.identity.domain import (
    ApiKeyScope,
    AuthMethod,
    Principal,
    normalize_email,
    role_permissions,
    scope_permissions,
)
from finplat.identity.events import ApiKeyCreated
from finplat.identity.store import api_keys
from finplat.kernel import InvalidInput, NotFound, Unauthenticated, new_id
from finplat.platform.crypto import hash_token, new_token, tokens_equal
from finplat.platform.db import UnitOfWork

KEY_PREFIX = "FPK"
MAX_KEYS_PER_USER = 25
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    id: uuid.UUID
    key_id: str
    secret: str
    scopes: tuple[ApiKeyScope, ...]
    expires_at: datetime | None


@dataclass(frozen=True)
class ApiKeyView:
    id: uuid.UUID
    key_id: str
    name: str
    scopes: tuple[ApiKeyScope, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def new_key_id() -> str:
    return KEY_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode()[:17]


def _scopes(text: str) -> tuple[ApiKeyScope, ...]:
    return tuple(ApiKeyScope(s) for s in text.split())


async def create_key(
    uow: UnitOfWork,
    principal: Principal,
    *,
    name: str,
    scopes: Sequence[ApiKeyScope],
    expires_in: timedelta | None,
    origin: Origin,
) -> NewApiKey:
    if not scopes:
        raise InvalidInput("name at least one scope", code="no_scopes")
    live = await uow.session.scalars(
        select(api_keys.c.id)
        .where(api_keys.c.user_id == principal.user_id)
        .where(api_keys.c.revoked_at.is_(None))
    )
    if len(live.all()) >= MAX_KEYS_PER_USER:
        raise InvalidInput(f"at most {MAX_KEYS_PER_USER} active keys", code="too_many_api_keys")
    now = uow.clock.now()
    key = NewApiKey(
        id=new_id(),
        key_id=new_key_id(),
        secret=new_token(30),
        scopes=tuple(sorted(set(scopes))),
        expires_at=now + expires_in if expires_in else None,
    )
    await uow.session.execute(
        insert(api_keys).values(
            id=key.id,
            key_id=key.key_id,
            user_id=principal.user_id,
            name=name,
            secret_hash=hash_token(key.secret),
            scopes=" ".join(scope.value for scope in key.scopes),
            created_at=now,
            expires_at=key.expires_at,
        )
    )
    await uow.publish(
        ApiKeyCreated(
            user_id=str(principal.user_id),
            key_id=key.key_id,
            scopes=tuple(scope.value for scope in key.scopes),
        )
    )
    await record_audit(
        uow,
        action="apikey.created",
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="api_key",
        target_id=key.key_id,
        ip=origin.ip,
        details={"scopes": [scope.value for scope in key.scopes], "name": name},
    )
    return key


async def list_keys(uow: UnitOfWork, principal: Principal) -> list[ApiKeyView]:
    rows = await uow.session.execute(
        select(api_keys)
        .where(api_keys.c.user_id == principal.user_id)
        .order_by(api_keys.c.created_at.desc())
    )
    return [
        ApiKeyView(
            id=row.id,
            key_id=row.key_id,
            name=row.name,
            scopes=_scopes(row.scopes),
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]


async def revoke_key(uow: UnitOfWork, principal: Principal, key_id: str, origin: Origin) -> None:
    result = await uow.session.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id)
        .where(api_keys.c.user_id == principal.user_id)
        .where(api_keys.c.revoked_at.is_(None))
        .values(revoked_at=uow.clock.now())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("no such active API key", code="api_key_not_found")
    await record_audit(
        uow,
        action="apikey.revoked",
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="api_key",
        target_id=key_id,
        ip=origin.ip,
    )


async def authenticate_api_key(kit: IdentityKit, key_id: str, secret: str) -> Principal:
    """The principal behind a key id and secret, or Unauthenticated."""
    async with kit.uows(read_only=True) as uow:
        row = (
            await uow.session.execute(select(api_keys).where(api_keys.c.key_id == key_id))
        ).one_or_none()
        stored = row.secret_hash if row is not None else hash_token("no such key")
        matches = tokens_equal(stored, hash_token(secret))
        now = uow.clock.now()
        if (
            row is None
            or not matches
            or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
        ):
            raise Unauthenticated("the API key is not valid", code="invalid_api_key")
        user = await user_store.by_id(uow.session, row.user_id)
        if user is None or not user.active:
            raise Unauthenticated("the account is not active", code="account_inactive")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        async with kit.uows() as write:
            await write.session.execute(
                update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now)
            )
    permissions = scope_permissions(_scopes(row.scopes)) & role_permissions(
        user.roles, mfa_verified=False
    )
    return Principal(
        user_id=user.id,
        roles=user.roles,
        permissions=permissions,
        methods=frozenset({AuthMethod.API_KEY}),
        auth_time=row.created_at,
        api_key_id=row.key_id,
    )


async def create_key_for_email(
    kit: IdentityKit,
    email: str,
    *,
    scopes: Sequence[ApiKeyScope],
    name: str,
    expires_in: timedelta | None,
) -> NewApiKey:
    """Operator path (`finplat apikeys create`): a key for the user with this email."""
    async with kit.uows() as uow:
        user = await user_store.by_email_index(uow.session, kit.email_index(normalize_email(email)))
        if user is None:
            raise NotFound("no user with this email", code="user_not_found")
        owner = Principal(
            user_id=user.id,
            roles=user.roles,
            permissions=frozenset(),
            methods=frozenset(),
            auth_time=uow.clock.now(),
        )
        return await create_key(
            uow, owner, name=name, scopes=scopes, expires_in=expires_in, origin=Origin()
        )
