"""/admin: staff views of users, role changes under maker-checker, approvals, the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from finplat.identity import roles
from finplat.identity.access import require
from finplat.identity.api.deps import Kit, RequestOrigin
from finplat.identity.api.schemas import ApprovalOut, AuditEntryOut, RoleChangeIn, UserOut
from finplat.identity.audit_store import list_audit
from finplat.identity.domain import ApprovalStatus, Permission, Principal

router = APIRouter(prefix="/admin", tags=["admin"])

UserReader = Annotated[Principal, require(Permission.USERS_READ, mfa=True)]
UserManager = Annotated[Principal, require(Permission.USERS_MANAGE, mfa=True)]
Checker = Annotated[Principal, require(Permission.APPROVALS_DECIDE, mfa=True)]
Auditor = Annotated[Principal, require(Permission.AUDIT_READ, mfa=True)]


def _approval(view: roles.ApprovalView) -> ApprovalOut:
    return ApprovalOut(**vars(view))


@router.get("/users", name="list_users")
async def list_users(
    principal: UserReader,
    kit: Kit,
    after: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UserOut]:
    """Users in creation order; pass the last id as `after` for the next page."""
    async with kit.uows(read_only=True) as uow:
        found = await roles.list_users(kit, uow, after=after, limit=limit)
    return [UserOut(**{**vars(user), "roles": sorted(user.roles)}) for user in found]


@router.post(
    "/users/{user_id}/roles",
    status_code=status.HTTP_202_ACCEPTED,
    name="request_role_change",
)
async def request_role_change(
    user_id: uuid.UUID,
    body: RoleChangeIn,
    principal: UserManager,
    kit: Kit,
    origin: RequestOrigin,
) -> ApprovalOut:
    """Ask for a role grant or revocation; a second staff member must approve it."""
    async with kit.uows() as uow:
        view = await roles.request_role_change(
            kit, uow, principal, user_id, body.role, grant=body.change == "grant", origin=origin
        )
    return _approval(view)


@router.get("/approvals", name="list_approvals")
async def list_approvals(
    principal: Checker,
    kit: Kit,
    status_filter: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ApprovalOut]:
    async with kit.uows(read_only=True) as uow:
        found = await roles.list_approvals(uow, status=status_filter, limit=limit)
    return [_approval(view) for view in found]


@router.post("/approvals/{approval_id}/approve", name="approve_request")
async def approve_request(
    approval_id: uuid.UUID, principal: Checker, kit: Kit, origin: RequestOrigin
) -> ApprovalOut:
    """Approve and apply a pending request; the approver must not be its maker."""
    async with kit.uows() as uow:
        view = await roles.decide(uow, principal, approval_id, approve=True, origin=origin)
    return _approval(view)


@router.post("/approvals/{approval_id}/reject", name="reject_request")
async def reject_request(
    approval_id: uuid.UUID, principal: Checker, kit: Kit, origin: RequestOrigin
) -> ApprovalOut:
    async with kit.uows() as uow:
        view = await roles.decide(uow, principal, approval_id, approve=False, origin=origin)
    return _approval(view)


@router.get("/audit", name="list_audit_entries")
async def list_audit_entries(
    principal: Auditor,
    kit: Kit,
    actor_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    action: Annotated[str | None, Query(description="action prefix, e.g. auth.")] = None,
    before: Annotated[int | None, Query(ge=1, description="seq cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntryOut]:
    """Audit entries, newest first; pass the last `seq` as `before` for the next page."""
    async with kit.uows(read_only=True) as uow:
        entries = await list_audit(
            uow.session,
            actor_id=actor_id,
            target_type=target_type,
            target_id=target_id,
            action_prefix=action,
            before_seq=before,
            limit=limit,
        )
    return [
        AuditEntryOut(
            seq=entry.seq,
            id=entry.id,
            occurred_at=entry.occurred_at,
            actor_id=entry.actor_id,
            actor_type=entry.actor_type,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            ip=entry.ip,
            request_id=entry.request_id,
            details=dict(entry.details),
            hash=entry.hash,
        )
        for entry in entries
    ]
