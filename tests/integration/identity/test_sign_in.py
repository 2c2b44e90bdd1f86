"""Sign-up, verification, sign-in, lockout, refresh rotation and sessions, through HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from finplat.identity.audit_store import iter_audit
from tests.support.http import assert_problem
from tests.support.identity import PASSWORD, Harness, bearer


async def test_sign_up_verify_and_sign_in(harness: Harness) -> None:
    response = await harness.http.post(
        "/api/v1/auth/sign-up", json={"email": "Ann@Example.COM", "password": PASSWORD}
    )
    assert response.status_code == 201
    # before verification the password alone does not open a session
    before = await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": "Ann@example.com", "password": PASSWORD}
    )
    assert_problem(before, 403, "email_not_verified")
    token = await harness.emailed_token("Ann@example.com", "Confirm")
    assert (
        await harness.http.post("/api/v1/auth/verify-email", json={"token": token})
    ).status_code == 204
    # the token works once
    again = await harness.http.post("/api/v1/auth/verify-email", json={"token": token})
    assert_problem(again, 422, "invalid_token")
    tokens = await harness.tokens("Ann@example.com")
    me = await harness.http.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "Ann@example.com"
    assert me.json()["roles"] == ["customer"]


async def test_duplicate_and_weak_sign_ups_are_refused(harness: Harness) -> None:
    await harness.sign_up_and_verify("bob@example.com")
    dup = await harness.http.post(
        "/api/v1/auth/sign-up", json={"email": "bob@EXAMPLE.com", "password": PASSWORD}
    )
    assert_problem(dup, 409, "email_taken")
    weak = await harness.http.post(
        "/api/v1/auth/sign-up", json={"email": "carl@example.com", "password": "short"}
    )
    problem = assert_problem(weak, 422, "weak_password")
    assert problem["details"]["problems"]  # type: ignore[index]


async def test_brute_force_locks_the_account_with_backoff(harness: Harness) -> None:
    await harness.sign_up_and_verify("dana@example.com")
    for _ in range(5):
        wrong = await harness.http.post(
            "/api/v1/auth/sign-in", json={"email": "dana@example.com", "password": "wrong " * 3}
        )
        assert_problem(wrong, 401, "invalid_credentials")
    # locked now: even the right password is refused, with a Retry-After
    locked = await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": "dana@example.com", "password": PASSWORD}
    )
    assert_problem(locked, 429, "account_locked")
    assert int(locked.headers["retry-after"]) >= 30
    harness.clock.advance(timedelta(seconds=31))
    assert (await harness.sign_in("dana@example.com"))["status"] == "signed_in"


async def test_unknown_emails_get_the_same_answer_as_wrong_passwords(harness: Harness) -> None:
    await harness.sign_up_and_verify("erin@example.com")
    unknown = await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    wrong = await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": "erin@example.com", "password": "nope " * 3}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]


async def test_failed_sign_ins_per_ip_are_limited(harness: Harness) -> None:
    for i in range(20):
        response = await harness.http.post(
            "/api/v1/auth/sign-in", json={"email": f"x{i}@example.com", "password": "whatever1"}
        )
        assert response.status_code == 401
    blocked = await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": "x@example.com", "password": "whatever1"}
    )
    assert_problem(blocked, 429, "too_many_failed_sign_ins")
    assert "retry-after" in blocked.headers


async def test_refresh_rotates_and_reuse_revokes_the_family(harness: Harness) -> None:
    await harness.sign_up_and_verify("fay@example.com")
    first = await harness.tokens("fay@example.com")
    rotated = await harness.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]

    # an attacker replays the spent token: the whole session ends
    replay = await harness.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert_problem(replay, 401, "token_reused")
    legit = await harness.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert_problem(legit, 401, "invalid_token")
    me = await harness.http.get("/api/v1/me", headers=bearer(second["access_token"]))
    assert_problem(me, 401, "session_ended")

    audit = [row async for row in _audit_actions(harness) if row == "auth.refresh_token_reused"]
    assert audit == ["auth.refresh_token_reused"]


async def _audit_actions(harness: Harness) -> AsyncIterator[str]:
    async for entry in iter_audit(harness.platform.database):
        yield entry.action


async def test_sessions_are_listed_and_revocable(harness: Harness) -> None:
    await harness.sign_up_and_verify("gus@example.com")
    laptop = await harness.tokens("gus@example.com")
    phone_answer = await harness.http.post(
        "/api/v1/auth/sign-in",
        json={"email": "gus@example.com", "password": PASSWORD},
        headers={"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"},
    )
    phone = phone_answer.json()["tokens"]
    listed = await harness.http.get("/api/v1/me/sessions", headers=bearer(laptop["access_token"]))
    assert listed.status_code == 200
    by_id = {item["id"]: item for item in listed.json()}
    assert set(by_id) == {laptop["session_id"], phone["session_id"]}
    assert by_id[laptop["session_id"]]["current"] is True
    assert by_id[phone["session_id"]]["device"] == "Safari on iOS"

    revoked = await harness.http.delete(
        f"/api/v1/me/sessions/{phone['session_id']}", headers=bearer(laptop["access_token"])
    )
    assert revoked.status_code == 204
    gone = await harness.http.get("/api/v1/me", headers=bearer(phone["access_token"]))
    assert_problem(gone, 401, "session_ended")

    out = await harness.http.post("/api/v1/auth/sign-out", headers=bearer(laptop["access_token"]))
    assert out.status_code == 204
    after = await harness.http.get("/api/v1/me", headers=bearer(laptop["access_token"]))
    assert_problem(after, 401, "session_ended")


async def test_password_reset_and_change_end_other_sessions(harness: Harness) -> None:
    await harness.sign_up_and_verify("hal@example.com")
    old = await harness.tokens("hal@example.com")
    asked = await harness.http.post(
        "/api/v1/auth/password-reset", json={"email": "hal@example.com"}
    )
    assert asked.status_code == 202
    # an unknown address gets the same answer and no mail
    unknown = await harness.http.post(
        "/api/v1/auth/password-reset", json={"email": "ghost@example.com"}
    )
    assert unknown.status_code == 202
    assert await harness.mailbox("ghost@example.com") == []

    token = await harness.emailed_token("hal@example.com", "Reset")
    new_password = "a brand new passphrase 77"
    done = await harness.http.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert done.status_code == 204
    assert_problem(
        await harness.http.get("/api/v1/me", headers=bearer(old["access_token"])),
        401,
        "session_ended",
    )
    fresh = await harness.tokens("hal@example.com", new_password)
    changed = await harness.http.post(
        "/api/v1/me/password",
        headers=bearer(fresh["access_token"]),
        json={"current_password": new_password, "new_password": PASSWORD},
    )
    assert changed.status_code == 204
    # the session that changed the password stays
    assert (
        await harness.http.get("/api/v1/me", headers=bearer(fresh["access_token"]))
    ).status_code == 200
