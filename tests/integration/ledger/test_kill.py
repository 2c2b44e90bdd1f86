"""A process killed in the middle of a transfer leaves the whole transfer or none of it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import text

from finplat.ledger.reconcile import check_ledger
from finplat.platform.db import Database

CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys, uuid
    from finplat.kernel import Asset, SystemClock
    from finplat.ledger import AccountKind, open_account, post_entry, transfer
    from finplat.ledger import journal
    from finplat.platform.bus import OutboxRecorder
    from finplat.platform.db import Database, UnitOfWorkFactory
    from tests.support.events import events_registry

    STEP, WHAT = sys.argv[2], sys.argv[3]
    USD = Asset("USD", 2)
    armed = []

    def die_at(name, original):
        def wrapper(*args, **kwargs):
            if armed and name == STEP:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        return wrapper

    # the entry row is in (its key claimed); then the counters, then the postings and event
    journal._write_counters = die_at("counters", journal._write_counters)
    journal._write_postings = die_at("postings", journal._write_postings)

    async def main():
        db = Database(sys.argv[1])
        clock = SystemClock()
        uows = UnitOfWorkFactory(db, OutboxRecorder(events_registry(), clock), clock)
        async with uows() as uow:
            bank = await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=USD)
            cash = await open_account(uow, kind=AccountKind.CUSTOMER_CASH, asset=USD,
                                      owner_id=uuid.UUID(int=1))
            clearing = await open_account(uow, kind=AccountKind.CLEARING, asset=USD)
        async with uows() as uow:
            await post_entry(uow, key="before", postings_=transfer(bank.id, cash.id, "USD", 100))
        if WHAT == "fill":  # a fill that spends 60 of a 80 hold and releases what it spends
            async with uows() as uow:
                held = await journal.hold(uow, key="hold", debit=cash.id, credit=clearing.id,
                                          asset="USD", amount=80)
            killed = dict(postings_=transfer(cash.id, clearing.id, "USD", 60),
                          releases=[journal.Release(held.id, 60)])
        else:
            killed = dict(postings_=transfer(bank.id, cash.id, "USD", 900))
        armed.append(True)
        async with uows() as uow:
            await post_entry(uow, key="killed", **killed)
            if STEP == "commit":
                os.kill(os.getpid(), signal.SIGKILL)
    asyncio.run(main())
    """
)


@pytest.mark.parametrize("step", ["counters", "postings", "commit"])
async def test_a_killed_transfer_is_all_or_nothing(
    database: Database, database_url: str, step: str
) -> None:
    result = subprocess.run(  # noqa: ASYNC221 - the child must be a separate process to kill
        [sys.executable, "-c", CHILD, database_url, step, "transfer"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    check = await check_ledger(database)
    assert check.ok, check.problems
    async with database.engine.connect() as conn:
        keys = sorted(
            row[0] for row in await conn.execute(text("SELECT idempotency_key FROM ledger_entries"))
        )
        cash = await conn.scalar(
            text("SELECT credits_posted FROM ledger_accounts WHERE kind = 'customer_cash'")
        )
    assert keys == ["before"]  # the killed transfer left nothing: no entry, no postings
    assert cash == 100


@pytest.mark.parametrize("step", ["counters", "postings", "commit"])
async def test_a_killed_fill_leaves_its_hold_whole(
    database: Database, database_url: str, step: str
) -> None:
    """The fill's entry, its release entry, their postings and the counters go together."""
    result = subprocess.run(  # noqa: ASYNC221 - the child must be a separate process to kill
        [sys.executable, "-c", CHILD, database_url, step, "fill"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    check = await check_ledger(database)
    assert check.ok, check.problems
    async with database.engine.connect() as conn:
        keys = sorted(
            row[0] for row in await conn.execute(text("SELECT idempotency_key FROM ledger_entries"))
        )
        cash = (
            await conn.execute(
                text(
                    "SELECT debits_posted, credits_posted, debits_pending FROM ledger_accounts "
                    "WHERE kind = 'customer_cash'"
                )
            )
        ).one()
    assert keys == ["before", "hold"]
    assert tuple(cash) == (0, 100, 80)
