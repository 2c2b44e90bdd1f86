"""Secrets never reach the logs, and PII is encrypted at rest."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from finplat.identity.store import totp_factors, users
from finplat.platform.mail import mail_outbox
from tests.support.identity import PASSWORD, Harness, bearer


async def test_passwords_tokens_and_keys_never_appear_in_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = "quinn@example.com"
    await harness.sign_up_and_verify(email)
    verify_token = await harness.emailed_token(email, "Confirm")
    tokens = await harness.tokens(email)
    await harness.http.post(
        "/api/v1/auth/sign-in", json={"email": email, "password": "a wrong password!"}
    )
    secret, recovery = await harness.enable_mfa(tokens["access_token"])
    mfa_tokens = await harness.mfa_tokens(email, secret)
    key = (
        await harness.http.post(
            "/api/v1/me/api-keys",
            headers=bearer(mfa_tokens["access_token"]),
            json={"name": "bot", "scopes": ["read", "trade"]},
        )
    ).json()
    await harness.http.get(
        "/api/v1/me",
        headers={"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]},
    )
    await harness.http.post("/api/v1/auth/password-reset", json={"email": email})
    reset_token = await harness.emailed_token(email, "Reset")
    await harness.platform.mail_relay.send_due()

    logged = "\n".join(
        [record.getMessage() for record in caplog.records]
        + [str(vars(record)) for record in caplog.records]
    )
    assert "POST /api/v1/auth/sign-in" in logged  # the capture works
    secrets = {
        "password": PASSWORD,
        "wrong password": "a wrong password!",
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "mfa access token": mfa_tokens["access_token"],
        "totp secret": secret,
        "recovery code": recovery[0],
        "api key secret": key["secret"],
        "verify token": verify_token,
        "reset token": reset_token,
    }
    leaked = [name for name, value in secrets.items() if value in logged]
    assert leaked == []


async def test_pii_and_mfa_secrets_are_encrypted_at_rest(harness: Harness) -> None:
    email = "rosa@example.com"
    await harness.sign_up_and_verify(email)
    tokens = await harness.tokens(email)
    secret, _ = await harness.enable_mfa(tokens["access_token"])
    async with harness.platform.uows(read_only=True) as uow:
        stored_user = (await uow.session.execute(select(users))).one()
        stored_totp = (await uow.session.execute(select(totp_factors))).one()
        bodies = list(await uow.session.scalars(select(mail_outbox.c.body_encrypted)))
    assert email not in str(tuple(stored_user))
    assert stored_user.email_encrypted.startswith("fe1.")
    assert secret not in stored_totp.secret_encrypted
    assert bodies
    assert all("token=" not in body for body in bodies)
