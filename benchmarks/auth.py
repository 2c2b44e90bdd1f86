"""Authentication hot paths, through the whole ASGI app (no sockets), on SQLite.

- baseline: GET /api/v1/health (no authentication; the middleware stack only);
- bearer: GET /api/v1/me with a JWT access token (verify + session and user reads);
- api key: GET /api/v1/me with the APCA key headers (hash compare + key and user reads);
- sign-in: POST /api/v1/auth/sign-in with the default argon2id cost, next to one bare
  argon2id verification (the floor a sign-in cannot go below).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from finplat.app import build_platform, create_app
from finplat.identity import ApiKeyScope, Role
from finplat.identity.accounts import create_user
from finplat.identity.apikeys import create_key_for_email
from finplat.platform.settings import Settings

PASSWORD = "benchmark passphrase 2026"


async def _timed(client: httpx.AsyncClient, n: int, method: str, path: str, **kw: object) -> float:
    started = time.perf_counter()
    for _ in range(n):
        response = await client.request(method, path, **kw)  # type: ignore[arg-type]
        assert response.status_code < 300, response.text
    return time.perf_counter() - started


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            log_level="WARNING",
            rate_limit_per_ip_per_minute=1_000_000,
            rate_limit_per_principal_per_minute=1_000_000,
            login_attempts_per_ip_per_minute=1_000_000,
        )
        platform = build_platform(settings)
        app = create_app(settings, platform=platform)
        async with app.router.lifespan_context(app):
            async with platform.uows() as uow:
                await create_user(
                    platform.identity,
                    uow,
                    email="perf@example.com",
                    password=PASSWORD,
                    roles=frozenset({Role.CUSTOMER}),
                    verified=True,
                    actor_type="system",
                )
            key = await create_key_for_email(
                platform.identity,
                "perf@example.com",
                scopes=[ApiKeyScope.READ],
                name="bench",
                expires_in=None,
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                body = {"email": "perf@example.com", "password": PASSWORD}
                signed = (await client.post("/api/v1/auth/sign-in", json=body)).json()
                bearer = {"authorization": f"Bearer {signed['tokens']['access_token']}"}
                apca = {"APCA-API-KEY-ID": key.key_id, "APCA-API-SECRET-KEY": key.secret}
                baseline = await _timed(client, n, "GET", "/api/v1/health")
                with_jwt = await _timed(client, n, "GET", "/api/v1/me", headers=bearer)
                with_key = await _timed(client, n, "GET", "/api/v1/me", headers=apca)
                sign_ins = max(5, n // 100)
                sign_in = await _timed(client, sign_ins, "POST", "/api/v1/auth/sign-in", json=body)
            hasher = platform.identity.hasher
            stored = hasher.hash(PASSWORD)
            started = time.perf_counter()
            for _ in range(sign_ins):
                hasher.verify(stored, PASSWORD)
            argon = time.perf_counter() - started
    print(f"auth benchmark: {n} requests per path, SQLite, default argon2id cost")
    print(f"baseline  GET /health (no auth)     {n / baseline:>8.0f} req/s")
    print(
        f"bearer    GET /me (JWT + session)   {n / with_jwt:>8.0f} req/s   "
        f"(+{(with_jwt - baseline) / n * 1000:.2f} ms per request over the baseline)"
    )
    print(
        f"api key   GET /me (APCA headers)    {n / with_key:>8.0f} req/s   "
        f"(+{(with_key - baseline) / n * 1000:.2f} ms per request over the baseline)"
    )
    print(
        f"sign-in   POST /auth/sign-in        {sign_in / sign_ins * 1000:>8.1f} ms each   "
        f"(bare argon2id verify {argon / sign_ins * 1000:.1f} ms)"
    )
