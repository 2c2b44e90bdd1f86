"""The operator commands: users create, apikeys create, audit verify, keys rotate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from finplat.cli import cli
from finplat.platform.db import Database
from tests.support import databases
from tests.support.identity import PASSWORD

runner = CliRunner()


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FINPLAT_DATABASE_URL", database_url)
    monkeypatch.setenv("FINPLAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FINPLAT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FINPLAT_ARGON2_MEMORY_COST_KIB", "8")
    monkeypatch.setenv("FINPLAT_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FINPLAT_ARGON2_PARALLELISM", "1")
    yield database_url
    if not database_url.startswith("sqlite"):
        asyncio.run(_truncate(database_url))


async def _truncate(url: str) -> None:
    database = Database(url)
    try:
        await databases.truncate_all(database)
    finally:
        await database.dispose()


async def _execute(url: str, statement: str) -> None:
    database = Database(url)
    try:
        async with database.engine.begin() as conn:
            if database.dialect == "postgresql":
                await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text(statement))
    finally:
        await database.dispose()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


def test_users_and_api_keys_can_be_created_on_a_fresh_install(env: str) -> None:
    code, out = invoke(
        "users", "create", "--email", "ops@example.com", "--password", PASSWORD, "--role", "admin"
    )
    assert code == 0, out
    assert "created user" in out
    code, out = invoke("users", "create", "--email", "ops@example.com", "--password", PASSWORD)
    assert code == 1
    assert "already exists" in out

    code, out = invoke("apikeys", "create", "--email", "ops@example.com", "--scopes", "read,data")
    assert code == 0, out
    assert "key id:  FPK" in out
    assert "secret:" in out
    code, out = invoke("apikeys", "create", "--email", "nobody@example.com")
    assert code == 1
    code, out = invoke("apikeys", "create", "--email", "ops@example.com", "--scopes", "admin")
    assert code == 1
    assert "unknown scope" in out


def test_audit_verify_finds_an_edited_row(env: str) -> None:
    for n in range(3):
        code, out = invoke(
            "users", "create", "--email", f"u{n}@example.com", "--password", PASSWORD
        )
        assert code == 0, out
    code, out = invoke("audit", "verify")
    assert code == 0, out
    assert "audit log intact: 3 entries" in out

    asyncio.run(_execute(env, "UPDATE identity_audit_log SET actor_type = 'user' WHERE seq = 2"))
    code, out = invoke("audit", "verify")
    assert code == 1
    assert "BROKEN at seq 2" in out


def test_keys_rotate_rewraps_and_data_stays_readable(env: str, tmp_path: Path) -> None:
    code, out = invoke("users", "create", "--email", "kay@example.com", "--password", PASSWORD)
    assert code == 0, out
    code, out = invoke("keys", "rotate")
    assert code == 0, out
    assert "re-wrapped 1 values in identity_users.email_encrypted" in out
    # the user is still found by email, so the email still decrypts under the new key
    code, out = invoke("apikeys", "create", "--email", "kay@example.com")
    assert code == 0, out
    code, out = invoke("keys", "rotate")
    assert code == 0
    assert (tmp_path / "keys" / "master-keys.json").is_file()
