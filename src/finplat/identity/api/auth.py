"""/auth: sign-up, email verification, sign-in (with MFA), refresh, step-up, password reset."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Response, status

from finplat.identity import accounts, sessions
from finplat.identity.access import require
from finplat.identity.api.deps import Kit, RequestOrigin
from finplat.identity.api.schemas import (
    AccessTokenOut,
    MfaSignInIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    SignInIn,
    SignInOut,
    SignUpIn,
    SignUpOut,
    StepUpIn,
    TokenIn,
    TokensOut,
)
from finplat.identity.domain import Permission, Principal
from finplat.identity.sessions import SignInOutcome, SignInResult, TokenPair
from finplat.platform.http.access import public
from finplat.platform.http.problems import ProblemException
from finplat.platform.http.ratelimit import enforce, rate_limit_headers

router = APIRouter(prefix="/auth", tags=["auth"])

FAILED_LOGINS_PER_IP = 20
FAILED_LOGIN_WINDOW = timedelta(minutes=15)


def _tokens(pair: TokenPair) -> TokensOut:
    return TokensOut(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        session_id=pair.session_id,
    )


async def _guard_ip(kit: Kit, origin: RequestOrigin) -> None:
    """Per-IP limits on sign-in: all attempts, and (with backoff) failed ones."""
    ip = origin.ip or "unknown"
    await enforce(
        kit.limiter,
        f"login:ip:{ip}",
        limit=kit.policy.login_attempts_per_ip,
        window=kit.policy.login_window,
    )
    failures = await kit.limiter.peek(
        f"login-failed:ip:{ip}", limit=FAILED_LOGINS_PER_IP, window=FAILED_LOGIN_WINDOW
    )
    if not failures.allowed:
        raise ProblemException(
            429,
            "too_many_failed_sign_ins",
            "Too many failed sign-ins from this address; try again later.",
            headers=rate_limit_headers(failures),
        )


async def _answer(kit: Kit, origin: RequestOrigin, result: SignInResult) -> SignInOut:
    if result.outcome is SignInOutcome.SIGNED_IN and result.tokens is not None:
        return SignInOut(status="signed_in", tokens=_tokens(result.tokens))
    if result.outcome is SignInOutcome.MFA_REQUIRED:
        return SignInOut(status="mfa_required", mfa_token=result.mfa_token)
    if result.outcome is SignInOutcome.INVALID:
        await kit.limiter.hit(
            f"login-failed:ip:{origin.ip or 'unknown'}",
            limit=FAILED_LOGINS_PER_IP,
            window=FAILED_LOGIN_WINDOW,
        )
        raise ProblemException(
            401,
            "invalid_credentials",
            "The email, password or code is wrong.",
            headers={"WWW-Authenticate": 'Bearer realm="finplat"'},
        )
    if result.outcome is SignInOutcome.LOCKED:
        seconds = max(1, int((result.retry_after or timedelta(seconds=1)).total_seconds()) + 1)
        raise ProblemException(
            429,
            "account_locked",
            "Too many failed sign-ins; the account is locked for a while.",
            headers={"Retry-After": str(seconds)},
        )
    if result.outcome is SignInOutcome.UNVERIFIED:
        raise ProblemException(403, "email_not_verified", "Confirm your email address first.")
    raise ProblemException(403, "account_disabled", "This account is disabled.")


@router.post(
    "/sign-up",
    status_code=status.HTTP_201_CREATED,
    name="sign_up",
    dependencies=[public("anyone may open an account")],
)
async def sign_up(body: SignUpIn, kit: Kit, origin: RequestOrigin) -> SignUpOut:
    """Open a customer account; a confirmation link is emailed."""
    await enforce(kit.limiter, f"signup:ip:{origin.ip}", limit=10, window=timedelta(hours=1))
    async with kit.uows() as uow:
        created = await accounts.create_user(
            kit, uow, email=body.email, password=body.password, origin=origin
        )
    return SignUpOut(user_id=created.user_id, email=created.email, email_verification_required=True)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    name="verify_email",
    dependencies=[public("the emailed token is the credential")],
)
async def verify_email(body: TokenIn, kit: Kit, origin: RequestOrigin) -> Response:
    async with kit.uows() as uow:
        await accounts.verify_email(kit, uow, body.token, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/sign-in", name="sign_in", dependencies=[public("signing in")])
async def sign_in(body: SignInIn, kit: Kit, origin: RequestOrigin) -> SignInOut:
    """Check email and password. With MFA on, the answer is an `mfa_token` for
    `/auth/sign-in/mfa`; otherwise the tokens."""
    await _guard_ip(kit, origin)
    async with kit.uows() as uow:  # commits failures too: they count toward lockout
        result = await sessions.sign_in(kit, uow, body.email, body.password, origin)
    return await _answer(kit, origin, result)


@router.post("/sign-in/mfa", name="sign_in_mfa", dependencies=[public("second sign-in step")])
async def sign_in_mfa(body: MfaSignInIn, kit: Kit, origin: RequestOrigin) -> SignInOut:
    """Finish a sign-in with a TOTP code or a one-time recovery code."""
    await _guard_ip(kit, origin)
    async with kit.uows() as uow:
        result = await sessions.complete_mfa_sign_in(
            kit,
            uow,
            body.mfa_token,
            code=body.code,
            recovery_code=body.recovery_code,
            origin=origin,
        )
    return await _answer(kit, origin, result)


@router.post(
    "/refresh", name="refresh_tokens", dependencies=[public("the refresh token is the credential")]
)
async def refresh_tokens(body: RefreshIn, kit: Kit, origin: RequestOrigin) -> TokensOut:
    """Spend a refresh token for a new access and refresh token. A token can be spent once;
    presenting it again ends its session."""
    async with kit.uows() as uow:
        result = await sessions.refresh(kit, uow, body.refresh_token, origin)
    if result.tokens is None:
        raise ProblemException(
            401,
            result.problem or "invalid_token",
            "The refresh token is not valid; sign in again.",
            headers={"WWW-Authenticate": 'Bearer realm="finplat"'},
        )
    return _tokens(result.tokens)


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT, name="sign_out")
async def sign_out(
    principal: Annotated[Principal, require(Permission.PROFILE_READ)],
    kit: Kit,
    origin: RequestOrigin,
) -> Response:
    async with kit.uows() as uow:
        await sessions.sign_out(uow, principal, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/step-up", name="step_up")
async def step_up(
    body: StepUpIn,
    principal: Annotated[Principal, require(Permission.PROFILE_READ)],
    kit: Kit,
    origin: RequestOrigin,
) -> AccessTokenOut:
    """Confirm the password (and code) again for a sensitive action; returns a fresh access
    token that counts as a recent authentication for a few minutes."""
    async with kit.uows() as uow:
        token = await sessions.step_up(
            kit, uow, principal, password=body.password, code=body.code, origin=origin
        )
    return AccessTokenOut(
        access_token=token, expires_in=int(kit.policy.access_token_ttl.total_seconds())
    )


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    name="request_password_reset",
    dependencies=[public("a forgotten password")],
)
async def request_password_reset(
    body: PasswordResetIn, kit: Kit, origin: RequestOrigin
) -> Response:
    """Email a reset link if the account exists. The answer is the same either way."""
    await enforce(kit.limiter, f"reset:ip:{origin.ip}", limit=10, window=timedelta(hours=1))
    async with kit.uows() as uow:
        await accounts.request_password_reset(kit, uow, body.email, origin)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    name="confirm_password_reset",
    dependencies=[public("the emailed token is the credential")],
)
async def confirm_password_reset(
    body: PasswordResetConfirmIn, kit: Kit, origin: RequestOrigin
) -> Response:
    async with kit.uows() as uow:
        await accounts.reset_password(kit, uow, body.token, body.new_password, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


__all__ = ["router"]
