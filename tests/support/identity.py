"""Driving identity through HTTP in tests: sign-up, mailbox, sign-in, MFA, staff users."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from finplat.app import Platform, build_platform, create_app
from finplat.identity import Role
from finplat.identity.accounts import create_user
from finplat.kernel import ManualClock
from finplat.platform.crypto import counter_for, totp_at
from finplat.platform.settings import Settings
from tests.support.http import serve

PASSWORD = "correct horse battery staple 42"


def identity_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "log_format": "console",
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 8,
        "argon2_parallelism": 1,
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


@dataclass
class Harness:
    http: httpx.AsyncClient
    platform: Platform
    clock: ManualClock

    async def mailbox(self, to: str) -> list[dict[str, str]]:
        response = await self.http.get("/api/v1/dev/mailbox", params={"to": to})
        assert response.status_code == 200, response.text
        return list(response.json())

    async def emailed_token(self, to: str, subject_word: str) -> str:
        for message in await self.mailbox(to):
            if subject_word in message["subject"]:
                found = re.search(r"token=([A-Za-z0-9_\-]+)", message["text"])
                assert found, message["text"]
                return found.group(1)
        raise AssertionError(f"no mail about {subject_word} to {to}")

    async def sign_up_and_verify(self, email: str, password: str = PASSWORD) -> str:
        response = await self.http.post(
            "/api/v1/auth/sign-up", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        token = await self.emailed_token(email, "Confirm")
        verified = await self.http.post("/api/v1/auth/verify-email", json={"token": token})
        assert verified.status_code == 204, verified.text
        return str(response.json()["user_id"])

    async def sign_in(self, email: str, password: str = PASSWORD) -> dict[str, object]:
        response = await self.http.post(
            "/api/v1/auth/sign-in", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def tokens(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        answer = await self.sign_in(email, password)
        assert answer["status"] == "signed_in", answer
        tokens = answer["tokens"]
        assert isinstance(tokens, dict)
        return tokens

    def code(self, secret: str, *, steps_ahead: int = 0) -> str:
        return totp_at(secret, counter_for(self.clock.now()) + steps_ahead)

    async def enable_mfa(self, access_token: str) -> tuple[str, list[str]]:
        headers = bearer(access_token)
        started = await self.http.post("/api/v1/me/mfa/totp", headers=headers)
        assert started.status_code == 200, started.text
        secret = started.json()["secret"]
        confirmed = await self.http.post(
            "/api/v1/me/mfa/totp/confirm", headers=headers, json={"code": self.code(secret)}
        )
        assert confirmed.status_code == 200, confirmed.text
        return secret, list(confirmed.json()["recovery_codes"])

    async def mfa_tokens(self, email: str, secret: str, *, steps_ahead: int = 1) -> dict[str, str]:
        """Sign in with password and a TOTP code (from a later step, so it is not a replay)."""
        answer = await self.sign_in(email)
        assert answer["status"] == "mfa_required", answer
        response = await self.http.post(
            "/api/v1/auth/sign-in/mfa",
            json={
                "mfa_token": answer["mfa_token"],
                "code": self.code(secret, steps_ahead=steps_ahead),
            },
        )
        assert response.status_code == 200, response.text
        tokens = response.json()["tokens"]
        assert isinstance(tokens, dict)
        return tokens

    async def staff(self, email: str, role: Role) -> tuple[dict[str, str], str]:
        """A verified staff member with MFA, signed in with MFA: (tokens, totp secret)."""
        async with self.platform.uows() as uow:
            await create_user(
                self.platform.identity,
                uow,
                email=email,
                password=PASSWORD,
                roles=frozenset({role}),
                verified=True,
                actor_type="system",
            )
        tokens = await self.tokens(email)
        secret, _ = await self.enable_mfa(tokens["access_token"])
        self.clock.advance(timedelta(seconds=30))
        return await self.mfa_tokens(email, secret, steps_ahead=0), secret


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@asynccontextmanager
async def identity_harness(
    database_url: str, data_dir: Path, clock: ManualClock, **overrides: object
) -> AsyncIterator[Harness]:
    settings = identity_settings(database_url, data_dir, **overrides)
    platform = build_platform(settings, clock=clock)
    async with serve(create_app(settings, platform=platform)) as http:
        yield Harness(http, platform, clock)
