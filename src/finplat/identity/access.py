"""FastAPI dependencies: who is calling, and may they do this.

Credentials are accepted as `Authorization: Bearer <access token>`, as
`Authorization: Bearer <key id>:<secret>` for API keys, or as the Alpaca SDK's
`APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` header pair.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from finplat.identity.apikeys import KEY_PREFIX, authenticate_api_key
from finplat.identity.context import IdentityKit, Origin
from finplat.identity.domain import Permission, Principal
from finplat.identity.sessions import authenticate_access_token
from finplat.kernel import Unauthenticated
from finplat.platform.http.access import mark_access
from finplat.platform.http.ratelimit import enforce
from finplat.platform.ratelimit import RateLimiter


def identity_kit(request: Request) -> IdentityKit:
    kit = request.app.state.identity
    assert isinstance(kit, IdentityKit)  # noqa: S101 - wired by the composition root
    return kit


def request_origin(request: Request) -> Origin:
    client = request.client.host if request.client else None
    return Origin(ip=client, user_agent=(request.headers.get("user-agent") or "")[:512] or None)


async def authenticate_credentials(
    kit: IdentityKit,
    *,
    token: str | None = None,
    key_id: str | None = None,
    secret: str | None = None,
) -> Principal:
    """The principal behind an access token (or `<key id>:<secret>` in its place) or an API
    key pair: for transports that are not a plain HTTP request (a WebSocket's auth message)."""
    if key_id and secret:
        return await authenticate_api_key(kit, key_id.strip(), secret.strip())
    if token and token.strip():
        token = token.strip()
        if token.startswith(KEY_PREFIX) and ":" in token:
            key_id, _, secret = token.partition(":")
            return await authenticate_api_key(kit, key_id, secret)
        async with kit.uows(read_only=True) as uow:
            return await authenticate_access_token(kit, uow, token)
    raise Unauthenticated("sign in, or send an API key", code="unauthenticated")


async def authorize(kit: IdentityKit, principal: Principal, permission: Permission) -> None:
    """The per-principal rate limit and the permission check every route applies."""
    await _limit(kit.limiter, principal, kit)
    principal.require(permission)


async def _principal(request: Request, kit: IdentityKit) -> Principal:
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    return await authenticate_credentials(
        kit,
        token=credential if scheme.lower() == "bearer" else None,
        key_id=request.headers.get("apca-api-key-id"),
        secret=request.headers.get("apca-api-secret-key"),
    )


async def _limit(limiter: RateLimiter, principal: Principal, kit: IdentityKit) -> None:
    await enforce(
        limiter,
        f"principal:{principal.user_id}",
        limit=kit.policy.per_principal_limit,
        window=kit.policy.per_principal_window,
    )


def require(permission: Permission, *, mfa: bool = False, step_up: bool = False) -> Any:
    """The dependency a route declares: the caller must hold `permission`; with `mfa`, must
    have signed in with a second factor; with `step_up`, must have authenticated recently."""

    async def check(request: Request) -> Principal:
        kit = identity_kit(request)
        principal = await _principal(request, kit)
        request.state.principal = principal
        await _limit(kit.limiter, principal, kit)
        principal.require(permission)
        if mfa:
            principal.require_mfa()
        if step_up:
            principal.require_recent_auth(kit.clock.now(), kit.policy.step_up_max_age)
        return principal

    flags = "".join([" +mfa" if mfa else "", " +step_up" if step_up else ""])
    return Depends(mark_access(check, f"permission: {permission.value}{flags}"))
