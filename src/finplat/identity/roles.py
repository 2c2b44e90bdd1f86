"""Role changes under maker-checker, and the staff view of users.

A role grant or revocation is a request by one staff member that a second one must approve;
only then is it applied, audited and announced.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from finplat.identity import users as user_store
from finplat.identity.audit_store import record_audit
from finplat.identity.context import IdentityKit, Origin
from finplat.identity.domain import (
    Approval,
    ApprovalStatus,
    Principal,
    Role,
    SensitiveAction,
)
from finplat.identity.events import RoleChanged
from finplat.identity.store import approvals, totp_factors, user_roles, users
from finplat.kernel import BusinessRuleViolation, NotFound, new_id
from finplat.platform.db import UnitOfWork

#: What runs when a sensitive action is approved. Other domains add theirs (limits, withdrawals).
ApprovalHandler = Callable[[UnitOfWork, Approval, uuid.UUID], Awaitable[None]]


async def _apply_role_change(uow: UnitOfWork, approval: Approval, checker: uuid.UUID) -> None:
    user_id = uuid.UUID(approval.target_id)
    role = Role(approval.payload["role"])
    user = await user_store.by_id(uow.session, user_id, for_update=True)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    granting = approval.action is SensitiveAction.ROLE_GRANT
    if granting and role not in user.roles:
        await user_store.add_role(
            uow.session, user_id, role, now=uow.clock.now(), granted_by=approval.maker_id
        )
    elif not granting and role in user.roles:
        await user_store.remove_role(uow.session, user_id, role)
    await uow.publish(
        RoleChanged(
            user_id=str(user_id),
            role=role.value,
            change="granted" if granting else "revoked",
            maker_id=str(approval.maker_id),
            checker_id=str(checker),
        )
    )


APPROVAL_HANDLERS: dict[SensitiveAction, ApprovalHandler] = {
    SensitiveAction.ROLE_GRANT: _apply_role_change,
    SensitiveAction.ROLE_REVOKE: _apply_role_change,
}


@dataclass(frozen=True)
class ApprovalView:
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


def _view(row: object) -> ApprovalView:
    return ApprovalView(
        id=row.id,  # type: ignore[attr-defined]
        action=SensitiveAction(row.action),  # type: ignore[attr-defined]
        maker_id=row.maker_id,  # type: ignore[attr-defined]
        target_id=row.target_id,  # type: ignore[attr-defined]
        payload=dict(row.payload),  # type: ignore[attr-defined]
        status=ApprovalStatus(row.status),  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        expires_at=row.expires_at,  # type: ignore[attr-defined]
        checker_id=row.checker_id,  # type: ignore[attr-defined]
        decided_at=row.decided_at,  # type: ignore[attr-defined]
    )


async def request_approval(
    kit: IdentityKit,
    uow: UnitOfWork,
    maker: Principal,
    action: SensitiveAction,
    target_id: str,
    payload: dict[str, str],
    origin: Origin,
) -> ApprovalView:
    now = uow.clock.now()
    approval_id = new_id()
    values = {
        "id": approval_id,
        "action": action.value,
        "maker_id": maker.user_id,
        "target_id": target_id,
        "payload": payload,
        "status": ApprovalStatus.PENDING.value,
        "created_at": now,
        "expires_at": now + kit.policy.approval_ttl,
    }
    await uow.session.execute(insert(approvals).values(**values))
    view = ApprovalView(
        id=approval_id,
        action=action,
        maker_id=maker.user_id,
        target_id=target_id,
        payload=payload,
        status=ApprovalStatus.PENDING,
        created_at=now,
        expires_at=now + kit.policy.approval_ttl,
        checker_id=None,
        decided_at=None,
    )
    await record_audit(
        uow,
        action="approval.requested",
        actor_id=str(maker.user_id),
        actor_type=maker.kind,
        target_type="approval",
        target_id=str(approval_id),
        ip=origin.ip,
        details={"action": action.value, "target_id": target_id, **payload},
    )
    return view


async def request_role_change(
    kit: IdentityKit,
    uow: UnitOfWork,
    maker: Principal,
    user_id: uuid.UUID,
    role: Role,
    *,
    grant: bool,
    origin: Origin,
) -> ApprovalView:
    user = await user_store.by_id(uow.session, user_id)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    if grant == (role in user.roles):
        state = "already has" if grant else "does not have"
        raise BusinessRuleViolation(f"the user {state} the role {role}", code="role_unchanged")
    action = SensitiveAction.ROLE_GRANT if grant else SensitiveAction.ROLE_REVOKE
    return await request_approval(
        kit, uow, maker, action, str(user_id), {"role": role.value}, origin
    )


async def decide(
    uow: UnitOfWork,
    checker: Principal,
    approval_id: uuid.UUID,
    *,
    approve: bool,
    origin: Origin,
) -> ApprovalView:
    row = (
        await uow.session.execute(
            select(approvals).where(approvals.c.id == approval_id).with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such approval request", code="approval_not_found")
    current = _view(row)
    approval = Approval(
        id=current.id,
        action=current.action,
        maker_id=current.maker_id,
        target_id=current.target_id,
        payload=current.payload,
        status=current.status,
        expires_at=current.expires_at,
    )
    now = uow.clock.now()
    decision = approval.decide(checker.user_id, approve=approve, now=now)
    if decision.status is ApprovalStatus.APPROVED:
        handler = APPROVAL_HANDLERS.get(approval.action)
        if handler is None:
            raise BusinessRuleViolation(
                f"no handler for {approval.action} is installed", code="approval_unsupported"
            )
        await handler(uow, approval, checker.user_id)
    await uow.session.execute(
        update(approvals)
        .where(approvals.c.id == approval_id)
        .values(status=decision.status.value, checker_id=checker.user_id, decided_at=now)
    )
    await record_audit(
        uow,
        action=f"approval.{decision.status.value}",
        actor_id=str(checker.user_id),
        actor_type=checker.kind,
        target_type="approval",
        target_id=str(approval_id),
        ip=origin.ip,
        details={
            "action": approval.action.value,
            "target_id": approval.target_id,
            **approval.payload,
        },
    )
    updated = (
        await uow.session.execute(select(approvals).where(approvals.c.id == approval_id))
    ).one()
    return _view(updated)


async def list_approvals(
    uow: UnitOfWork, *, status: ApprovalStatus | None, limit: int
) -> list[ApprovalView]:
    query = select(approvals).order_by(approvals.c.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(approvals.c.status == status.value)
    return [_view(row) for row in await uow.session.execute(query)]


@dataclass(frozen=True)
class UserSummary:
    id: uuid.UUID
    email: str
    roles: frozenset[Role]
    status: str
    email_verified: bool
    mfa_enabled: bool
    created_at: datetime
    locked_until: datetime | None


async def list_users(
    kit: IdentityKit, uow: UnitOfWork, *, after: uuid.UUID | None, limit: int
) -> list[UserSummary]:
    """Users in id (creation) order, paged by the last id seen; three queries per page."""
    query = select(users).order_by(users.c.id).limit(limit)
    if after is not None:
        query = query.where(users.c.id > after)
    rows = (await uow.session.execute(query)).all()
    ids = [row.id for row in rows]
    roles: dict[uuid.UUID, set[Role]] = {user_id: set() for user_id in ids}
    for user_id, role in await uow.session.execute(
        select(user_roles.c.user_id, user_roles.c.role).where(user_roles.c.user_id.in_(ids))
    ):
        roles[user_id].add(Role(role))
    with_mfa = set(
        await uow.session.scalars(
            select(totp_factors.c.user_id)
            .where(totp_factors.c.user_id.in_(ids))
            .where(totp_factors.c.confirmed_at.is_not(None))
        )
    )
    return [
        UserSummary(
            id=row.id,
            email=kit.decrypt_email(row.email_encrypted),
            roles=frozenset(roles[row.id]),
            status=row.status,
            email_verified=row.email_verified_at is not None,
            mfa_enabled=row.id in with_mfa,
            created_at=row.created_at,
            locked_until=row.locked_until,
        )
        for row in rows
    ]
