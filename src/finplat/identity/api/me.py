"""/me: the caller's profile, password, sessions, MFA and API keys."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Response, status

from finplat.identity import accounts, apikeys, mfa, sessions
from finplat.identity.access import require
from finplat.identity.api.deps import Kit, RequestOrigin
from finplat.identity.api.schemas import (
    ApiKeyIn,
    ApiKeyOut,
    CodeIn,
    NewApiKeyOut,
    PasswordChangeIn,
    ProfileOut,
    RecoveryCodesOut,
    SessionOut,
    TotpEnrolmentOut,
)
from finplat.identity.domain import Permission, Principal
from finplat.kernel import NotFound

router = APIRouter(prefix="/me", tags=["me"])

Reader = Annotated[Principal, require(Permission.PROFILE_READ)]
Writer = Annotated[Principal, require(Permission.PROFILE_WRITE)]
SteppedUp = Annotated[Principal, require(Permission.PROFILE_WRITE, step_up=True)]
KeyManager = Annotated[Principal, require(Permission.APIKEYS_MANAGE)]
KeyCreator = Annotated[Principal, require(Permission.APIKEYS_MANAGE, mfa=True)]


@router.get("", name="get_me")
async def get_me(principal: Reader, kit: Kit) -> ProfileOut:
    async with kit.uows(read_only=True) as uow:
        found = await accounts.profile(kit, uow, principal.user_id)
    if found is None:
        raise NotFound("no such user", code="user_not_found")
    return ProfileOut(
        id=found.user_id,
        email=found.email,
        roles=sorted(found.roles),
        email_verified=found.email_verified,
        mfa_enabled=found.mfa_enabled,
        status=found.status,
        created_at=found.created_at,
    )


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, name="change_password")
async def change_password(
    body: PasswordChangeIn, principal: Writer, kit: Kit, origin: RequestOrigin
) -> Response:
    """Change the password; every other session is signed out."""
    async with kit.uows() as uow:
        await accounts.change_password(
            kit,
            uow,
            principal.user_id,
            body.current_password,
            body.new_password,
            keep_session=principal.session_id,
            origin=origin,
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sessions", name="list_my_sessions")
async def list_my_sessions(principal: Reader, kit: Kit) -> list[SessionOut]:
    async with kit.uows(read_only=True) as uow:
        found = await sessions.list_sessions(uow, principal)
    return [SessionOut(**vars(item)) for item in found]


@router.delete(
    "/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, name="revoke_my_session"
)
async def revoke_my_session(
    session_id: uuid.UUID, principal: Writer, kit: Kit, origin: RequestOrigin
) -> Response:
    async with kit.uows() as uow:
        await sessions.revoke_session(uow, principal, session_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/mfa/totp", name="start_totp_enrolment")
async def start_totp_enrolment(principal: Writer, kit: Kit) -> TotpEnrolmentOut:
    """Begin TOTP enrolment: add the secret (or scan the URI) in an authenticator app,
    then confirm with a code."""
    async with kit.uows() as uow:
        enrolment = await mfa.start_enrolment(kit, uow, principal)
    return TotpEnrolmentOut(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@router.post("/mfa/totp/confirm", name="confirm_totp_enrolment")
async def confirm_totp_enrolment(
    body: CodeIn, principal: Writer, kit: Kit, origin: RequestOrigin
) -> RecoveryCodesOut:
    """Turn MFA on. The ten recovery codes are shown only now."""
    async with kit.uows() as uow:
        codes = await mfa.confirm_enrolment(kit, uow, principal, body.code, origin)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/mfa/recovery-codes", name="regenerate_recovery_codes")
async def regenerate_recovery_codes(
    principal: SteppedUp, kit: Kit, origin: RequestOrigin
) -> RecoveryCodesOut:
    async with kit.uows() as uow:
        codes = await mfa.regenerate_recovery_codes(uow, principal, origin)
    return RecoveryCodesOut(recovery_codes=codes)


@router.delete("/mfa", status_code=status.HTTP_204_NO_CONTENT, name="disable_mfa")
async def disable_mfa(principal: SteppedUp, kit: Kit, origin: RequestOrigin) -> Response:
    async with kit.uows() as uow:
        await mfa.disable(uow, principal, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api-keys", name="list_my_api_keys")
async def list_my_api_keys(principal: KeyManager, kit: Kit) -> list[ApiKeyOut]:
    async with kit.uows(read_only=True) as uow:
        found = await apikeys.list_keys(uow, principal)
    return [ApiKeyOut(**{**vars(item), "scopes": list(item.scopes)}) for item in found]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, name="create_api_key")
async def create_api_key(
    body: ApiKeyIn, principal: KeyCreator, kit: Kit, origin: RequestOrigin
) -> NewApiKeyOut:
    """Create an API key (needs a sign-in with MFA). The secret is shown only in this answer."""
    async with kit.uows() as uow:
        key = await apikeys.create_key(
            uow,
            principal,
            name=body.name,
            scopes=body.scopes,
            expires_in=timedelta(days=body.expires_in_days) if body.expires_in_days else None,
            origin=origin,
        )
    return NewApiKeyOut(
        id=key.id,
        key_id=key.key_id,
        secret=key.secret,
        scopes=list(key.scopes),
        expires_at=key.expires_at,
    )


@router.delete(
    "/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, name="revoke_my_api_key"
)
async def revoke_my_api_key(
    key_id: str, principal: KeyManager, kit: Kit, origin: RequestOrigin
) -> Response:
    async with kit.uows() as uow:
        await apikeys.revoke_key(uow, principal, key_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
