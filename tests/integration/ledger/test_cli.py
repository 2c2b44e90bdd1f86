"""`finplat ledger check` and `finplat ledger reconcile` on a real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from finplat.cli import cli
from finplat.kernel import Asset, SystemClock
from finplat.ledger import AccountKind, open_account, post_entry, transfer
from finplat.platform.bus import EventRegistry, OutboxRecorder
from finplat.platform.db import Database, UnitOfWorkFactory
from tests.support import databases
from tests.support.events import events_registry

USD = Asset("USD", 2)
runner = CliRunner()


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FINPLAT_DATABASE_URL", database_url)
    monkeypatch.setenv("FINPLAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FINPLAT_LOG_LEVEL", "WARNING")
    yield database_url
    if not database_url.startswith("sqlite"):
        asyncio.run(_run(database_url, databases.truncate_all))


async def _run(url: str, work: object) -> None:
    database = Database(url)
    try:
        await work(database)  # type: ignore[operator]
    finally:
        await database.dispose()


async def _book(database: Database) -> None:
    clock = SystemClock()
    registry: EventRegistry = events_registry()
    uows = UnitOfWorkFactory(database, OutboxRecorder(registry, clock), clock)
    async with uows() as uow:
        bank = await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=USD)
        cash = await open_account(
            uow, kind=AccountKind.CUSTOMER_CASH, asset=USD, owner_id=uuid.uuid4()
        )
        await post_entry(
            uow,
            key="dep-1",
            postings_=transfer(bank.id, cash.id, "USD", 250_00),
            meta={"bank_reference": "BANK-001"},
        )


async def _corrupt(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 "
                "WHERE kind = 'customer_cash'"
            )
        )


def test_check_and_reconcile(env: str, tmp_path: Path) -> None:
    asyncio.run(_run(env, _book))
    checked = runner.invoke(cli, ["ledger", "check"])
    assert checked.exit_code == 0, checked.output

    statement = tmp_path / "statement.csv"
    today = datetime.now(UTC).date().isoformat()
    statement.write_text(
        f"date,amount,reference,description\n{today},250.00,BANK-001,deposit\n"
        f"{today},99.00,BANK-404,unknown deposit\n"
    )
    reconciled = runner.invoke(cli, ["ledger", "reconcile", str(statement)])
    assert reconciled.exit_code == 1  # one line is missing in the ledger
    assert "BANK-404" in reconciled.output

    asyncio.run(_run(env, _corrupt))
    broken = runner.invoke(cli, ["ledger", "check"])
    assert broken.exit_code == 1
    assert "credits_posted" in broken.output
    missing = runner.invoke(cli, ["ledger", "reconcile", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1
