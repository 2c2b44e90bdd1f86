"""Token attacks, permissions, MFA, API keys and maker-checker, through HTTP."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from finplat.identity import Role
from finplat.platform.crypto import JwtCodec
from tests.support.http import assert_problem
from tests.support.identity import PASSWORD, Harness, bearer


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def _me(harness: Harness, token: str) -> object:
    return await harness.http.get("/api/v1/me", headers=bearer(token))


async def test_forged_and_stale_tokens_get_401(harness: Harness) -> None:
    await harness.sign_up_and_verify("ivy@example.com")
    token = (await harness.tokens("ivy@example.com"))["access_token"]
    assert (await harness.http.get("/api/v1/me", headers=bearer(token))).status_code == 200
    header, payload, signature = token.split(".")
    claims = _claims(token)

    tampered = (
        f"{header}.{_b64({**claims, 'sub': '00000000-0000-7000-8000-000000000000'})}.{signature}"
    )
    alg_none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    other_audience = JwtCodec.hs256(
        b"x" * 32, issuer="finplat", audience="someone-else", clock=harness.clock
    ).encode(
        {k: v for k, v in claims.items() if k not in {"iat", "nbf", "exp", "iss", "aud", "jti"}},
        timedelta(minutes=5),
    )
    kit = harness.platform.identity
    wrong_audience_right_key = JwtCodec(
        "HS256",
        kit.access_tokens._signing_key,  # the real key, the wrong audience
        kit.access_tokens._verify_key,
        issuer="finplat",
        audience="finplat-api/mfa",
        clock=harness.clock,
    ).encode(
        {k: v for k, v in claims.items() if k not in {"iat", "nbf", "exp", "iss", "aud", "jti"}},
        timedelta(minutes=5),
    )
    for bad in (tampered, alg_none, other_audience, wrong_audience_right_key, "garbage", ""):
        response = await harness.http.get("/api/v1/me", headers=bearer(bad))
        assert response.status_code == 401, bad
        assert response.headers["www-authenticate"].startswith("Bearer")

    harness.clock.advance(timedelta(minutes=16))
    assert_problem(
        await harness.http.get("/api/v1/me", headers=bearer(token)), 401, "invalid_token"
    )


async def test_no_credentials_is_401(harness: Harness) -> None:
    assert_problem(await harness.http.get("/api/v1/me"), 401, "unauthenticated")


async def test_a_customer_calling_a_staff_endpoint_gets_403(harness: Harness) -> None:
    await harness.sign_up_and_verify("jo@example.com")
    token = (await harness.tokens("jo@example.com"))["access_token"]
    for path in ("/api/v1/admin/users", "/api/v1/admin/audit", "/api/v1/admin/approvals"):
        problem = assert_problem(
            await harness.http.get(path, headers=bearer(token)), 403, "permission_denied"
        )
        assert problem["details"]["permission"]  # type: ignore[index]


async def test_staff_permissions_need_a_sign_in_with_mfa(harness: Harness) -> None:
    tokens, _secret = await harness.staff("kim@example.com", Role.ADMIN)
    assert (
        await harness.http.get("/api/v1/admin/users", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    password_only = await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": "kim@example.com", "password": PASSWORD}
    )
    assert password_only.json()["status"] == "mfa_required"
    # staff cannot switch MFA off
    disable = await harness.http.delete("/api/v1/me/mfa", headers=bearer(tokens["access_token"]))
    assert_problem(disable, 422, "mfa_required_for_staff")


async def test_totp_codes_and_recovery_codes_work_once(harness: Harness) -> None:
    await harness.sign_up_and_verify("lee@example.com")
    tokens = await harness.tokens("lee@example.com")
    secret, recovery = await harness.enable_mfa(tokens["access_token"])
    assert len(recovery) == 10
    assert len(set(recovery)) == 10

    # the code used to confirm enrolment cannot be replayed
    answer = await harness.sign_in("lee@example.com")
    replay = await harness.http.post(
        "/api/v1/auth/sign-in/mfa",
        json={"mfa_token": answer["mfa_token"], "code": harness.code(secret)},
    )
    assert_problem(replay, 401, "invalid_credentials")

    answer = await harness.sign_in("lee@example.com")
    first = await harness.http.post(
        "/api/v1/auth/sign-in/mfa",
        json={"mfa_token": answer["mfa_token"], "recovery_code": recovery[0].upper()},
    )
    assert first.status_code == 200
    assert first.json()["status"] == "signed_in"
    answer = await harness.sign_in("lee@example.com")
    second = await harness.http.post(
        "/api/v1/auth/sign-in/mfa",
        json={"mfa_token": answer["mfa_token"], "recovery_code": recovery[0]},
    )
    assert_problem(second, 401, "invalid_credentials")
    # a code from the next 30-second step works
    tokens = await harness.mfa_tokens("lee@example.com", secret, steps_ahead=1)
    assert _claims(tokens["access_token"])["amr"] == ["mfa", "pwd"]


async def test_api_keys_need_mfa_and_work_with_both_header_styles(harness: Harness) -> None:
    await harness.sign_up_and_verify("max@example.com")
    plain = await harness.tokens("max@example.com")
    body = {"name": "bot", "scopes": ["read"]}
    denied = await harness.http.post(
        "/api/v1/me/api-keys", headers=bearer(plain["access_token"]), json=body
    )
    assert_problem(denied, 403, "mfa_required")

    secret, _ = await harness.enable_mfa(plain["access_token"])
    tokens = await harness.mfa_tokens("max@example.com", secret)
    created = await harness.http.post(
        "/api/v1/me/api-keys", headers=bearer(tokens["access_token"]), json=body
    )
    assert created.status_code == 201, created.text
    key = created.json()
    alpaca = {"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]}
    assert (await harness.http.get("/api/v1/me", headers=alpaca)).status_code == 200
    combined = bearer(f"{key['key_id']}:{key['secret']}")
    assert (await harness.http.get("/api/v1/me", headers=combined)).status_code == 200

    # scope "read" does not include managing keys or changing the password
    assert_problem(
        await harness.http.get("/api/v1/me/api-keys", headers=alpaca), 403, "permission_denied"
    )
    wrong = {"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"] + "x"}
    assert_problem(await harness.http.get("/api/v1/me", headers=wrong), 401, "invalid_api_key")

    listed = await harness.http.get("/api/v1/me/api-keys", headers=bearer(tokens["access_token"]))
    assert [item["key_id"] for item in listed.json()] == [key["key_id"]]
    assert "secret" not in listed.json()[0]
    assert listed.json()[0]["last_used_at"] is not None

    revoked = await harness.http.delete(
        f"/api/v1/me/api-keys/{key['key_id']}", headers=bearer(tokens["access_token"])
    )
    assert revoked.status_code == 204
    assert_problem(await harness.http.get("/api/v1/me", headers=alpaca), 401, "invalid_api_key")


async def test_sensitive_actions_need_a_recent_step_up(harness: Harness) -> None:
    await harness.sign_up_and_verify("ned@example.com")
    tokens = await harness.tokens("ned@example.com")
    harness.clock.advance(timedelta(minutes=6))
    refreshed = await harness.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    access = refreshed.json()["access_token"]
    stale = await harness.http.post("/api/v1/me/mfa/recovery-codes", headers=bearer(access))
    assert_problem(stale, 403, "step_up_required")
    wrong = await harness.http.post(
        "/api/v1/auth/step-up", headers=bearer(access), json={"password": "not it at all"}
    )
    assert_problem(wrong, 401, "wrong_password")
    stepped = await harness.http.post(
        "/api/v1/auth/step-up", headers=bearer(access), json={"password": PASSWORD}
    )
    assert stepped.status_code == 200
    fresh = stepped.json()["access_token"]
    allowed = await harness.http.post("/api/v1/me/mfa/recovery-codes", headers=bearer(fresh))
    assert allowed.status_code == 200


async def test_role_grants_need_a_second_staff_member(harness: Harness) -> None:
    customer_id = await harness.sign_up_and_verify("olga@example.com")
    maker, _ = await harness.staff("admin1@example.com", Role.ADMIN)
    checker, _ = await harness.staff("comp1@example.com", Role.COMPLIANCE)

    requested = await harness.http.post(
        f"/api/v1/admin/users/{customer_id}/roles",
        headers=bearer(maker["access_token"]),
        json={"role": "support", "change": "grant"},
    )
    assert requested.status_code == 202, requested.text
    approval = requested.json()
    assert approval["status"] == "pending"

    # nothing changed yet
    olga = await harness.tokens("olga@example.com")
    me = await harness.http.get("/api/v1/me", headers=bearer(olga["access_token"]))
    assert me.json()["roles"] == ["customer"]

    self_approve = await harness.http.post(
        f"/api/v1/admin/approvals/{approval['id']}/approve", headers=bearer(maker["access_token"])
    )
    assert_problem(self_approve, 403, "four_eyes_required")
    approved = await harness.http.post(
        f"/api/v1/admin/approvals/{approval['id']}/approve", headers=bearer(checker["access_token"])
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    me = await harness.http.get("/api/v1/me", headers=bearer(olga["access_token"]))
    assert me.json()["roles"] == ["customer", "support"]
    twice = await harness.http.post(
        f"/api/v1/admin/approvals/{approval['id']}/approve", headers=bearer(checker["access_token"])
    )
    assert_problem(twice, 422, "approval_not_pending")

    audit = await harness.http.get(
        "/api/v1/admin/audit",
        params={"target_id": approval["id"]},
        headers=bearer(checker["access_token"]),
    )
    assert [entry["action"] for entry in audit.json()] == [
        "approval.approved",
        "approval.requested",
    ]
