"""Reading and writing users and their roles (shared by identity's use cases)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from finplat.identity.domain import Role
from finplat.identity.store import totp_factors, user_roles, users


@dataclass(frozen=True)
class UserRecord:
    id: uuid.UUID
    email_encrypted: str
    password_hash: str
    status: str
    created_at: datetime
    email_verified_at: datetime | None
    failed_logins: int
    locked_until: datetime | None
    roles: frozenset[Role]
    mfa_enabled: bool

    @property
    def active(self) -> bool:
        return self.status == "active"


async def roles_of(session: AsyncSession, user_id: uuid.UUID) -> frozenset[Role]:
    found = await session.scalars(select(user_roles.c.role).where(user_roles.c.user_id == user_id))
    return frozenset(Role(role) for role in found)


async def _load(session: AsyncSession, condition: object, *, for_update: bool) -> UserRecord | None:
    """One user with their roles and MFA state: two queries."""
    query = (
        select(users, totp_factors.c.confirmed_at.label("mfa_confirmed_at"))
        .outerjoin(totp_factors, totp_factors.c.user_id == users.c.id)
        .where(condition)  # type: ignore[arg-type]
    )
    if for_update:
        query = query.with_for_update(of=users)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    return UserRecord(
        id=row.id,
        email_encrypted=row.email_encrypted,
        password_hash=row.password_hash,
        status=row.status,
        created_at=row.created_at,
        email_verified_at=row.email_verified_at,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        roles=await roles_of(session, row.id),
        mfa_enabled=row.mfa_confirmed_at is not None,
    )


async def by_id(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> UserRecord | None:
    return await _load(session, users.c.id == user_id, for_update=for_update)


async def by_email_index(
    session: AsyncSession, email_index: str, *, for_update: bool = False
) -> UserRecord | None:
    return await _load(session, users.c.email_index == email_index, for_update=for_update)


async def insert_user(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    email_encrypted: str,
    email_index: str,
    password_hash: str,
    now: datetime,
    verified: bool,
    roles: frozenset[Role],
    granted_by: uuid.UUID | None = None,
) -> None:
    await session.execute(
        insert(users).values(
            id=user_id,
            email_encrypted=email_encrypted,
            email_index=email_index,
            password_hash=password_hash,
            status="active",
            created_at=now,
            email_verified_at=now if verified else None,
            password_changed_at=now,
            failed_logins=0,
        )
    )
    for role in sorted(roles):
        await add_role(session, user_id, role, now=now, granted_by=granted_by)


async def add_role(
    session: AsyncSession,
    user_id: uuid.UUID,
    role: Role,
    *,
    now: datetime,
    granted_by: uuid.UUID | None,
) -> None:
    await session.execute(
        insert(user_roles).values(
            user_id=user_id, role=role.value, granted_at=now, granted_by=granted_by
        )
    )


async def remove_role(session: AsyncSession, user_id: uuid.UUID, role: Role) -> None:
    await session.execute(
        delete(user_roles).where(user_roles.c.user_id == user_id).where(user_roles.c.role == role)
    )


async def set_fields(session: AsyncSession, user_id: uuid.UUID, **values: object) -> None:
    await session.execute(update(users).where(users.c.id == user_id).values(**values))
