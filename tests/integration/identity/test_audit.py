"""The audit log on both databases: append in units of work, verify, detect tampering."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from finplat.identity.audit import GENESIS_HASH, AuditEntry, ChainProblem
from finplat.identity.audit_store import (
    audit_log,
    iter_audit,
    list_audit,
    record_audit,
    verify_audit_log,
)
from finplat.kernel import InvalidInput, ManualClock
from finplat.platform.db import Database, UnitOfWorkFactory
from finplat.platform.db.uow import ReadOnlyViolation
from finplat.platform.observability import request_id_var

TRIGGER = "identity_audit_log_append_only"


async def record(uows: UnitOfWorkFactory, n: int, **changes: object) -> AuditEntry:
    fields: dict[str, object] = {
        "action": "auth.sign_in_failed",
        "actor_id": f"u-{n % 2}",
        "actor_type": "user",
        "target_type": "user",
        "target_id": f"u-{n % 2}",
        "ip": "203.0.113.9",
        "details": {"attempt": n, "reason": "bad password"},
    }
    fields.update(changes)
    async with uows() as uow:
        return await record_audit(uow, **fields)  # type: ignore[arg-type]


async def all_entries(database: Database, batch: int = 1000) -> list[AuditEntry]:
    return [entry async for entry in iter_audit(database, batch=batch)]


async def tamper(database: Database, statement: Executable) -> None:
    """Run `statement` with the append-only trigger off (only inside this transaction)."""
    async with database.engine.begin() as conn:
        if not database.is_sqlite:
            await conn.execute(text(f"ALTER TABLE identity_audit_log DISABLE TRIGGER {TRIGGER}"))
        await conn.execute(statement)
        if not database.is_sqlite:
            await conn.execute(text(f"ALTER TABLE identity_audit_log ENABLE TRIGGER {TRIGGER}"))


async def test_entries_commit_with_their_unit_of_work_and_the_chain_verifies(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    recorded = [await record(uows, 1)]
    clock.advance(timedelta(seconds=1, microseconds=123457))
    token = request_id_var.set("req-42")
    try:
        recorded.append(
            await record(
                uows,
                2,
                action="role.granted",
                actor_type="system",
                actor_id=None,
                ip=None,
                details={"role": "admin", "note": 'ünïcode ℵ "q"\n', "n": [2**53 - 1, True]},
            )
        )
    finally:
        request_id_var.reset(token)

    with pytest.raises(RuntimeError, match="boom"):
        async with uows() as uow:
            await record_audit(uow, action="role.revoked", actor_id="u-1", actor_type="user")
            raise RuntimeError("boom")

    clock.advance(timedelta(microseconds=1))
    recorded.append(await record(uows, 3))

    stored = await all_entries(database)
    assert stored == recorded
    assert [e.seq for e in stored] == [1, 2, 3]
    assert stored[0].prev_hash == GENESIS_HASH
    assert stored[1].request_id == "req-42"
    assert stored[0].request_id is None
    assert stored[1].occurred_at == clock.now() - timedelta(microseconds=1)
    assert all(e.action != "role.revoked" for e in stored)

    report = await verify_audit_log(database)
    assert report.ok
    assert (report.checked, report.last_hash) == (3, recorded[-1].hash)


async def test_an_empty_log_verifies(database: Database) -> None:
    report = await verify_audit_log(database)
    assert (report.ok, report.checked, report.last_hash) == (True, 0, GENESIS_HASH)


async def test_editing_a_rows_details_is_reported_at_that_row(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    for n in range(1, 6):
        await record(uows, n)
    await tamper(
        database,
        update(audit_log).where(audit_log.c.seq == 3).values(details={"attempt": 3}),
    )
    report = await verify_audit_log(database)
    assert (report.ok, report.first_broken_seq, report.problem) == (
        False,
        3,
        ChainProblem.ALTERED,
    )
    assert report.checked == 2


async def test_deleting_a_row_is_reported_at_the_following_row(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    for n in range(1, 6):
        await record(uows, n)
    await tamper(database, delete(audit_log).where(audit_log.c.seq == 2))
    report = await verify_audit_log(database)
    assert (report.ok, report.first_broken_seq) == (False, 3)
    assert report.problem is ChainProblem.MISSING_ROWS


async def test_a_row_that_cannot_be_decoded_is_reported_as_altered(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    for n in range(1, 4):
        await record(uows, n)
    await tamper(database, update(audit_log).where(audit_log.c.seq == 2).values(details=[1, 2]))
    report = await verify_audit_log(database)
    assert (report.first_broken_seq, report.problem, report.checked) == (
        2,
        ChainProblem.ALTERED,
        1,
    )


async def test_postgresql_refuses_to_update_or_delete_audit_rows(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    if database.is_sqlite:
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    await record(uows, 1)
    for statement in (
        update(audit_log).values(details={}),
        delete(audit_log).where(audit_log.c.seq == 1),
        delete(audit_log).where(audit_log.c.seq == 999),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.engine.begin() as conn:
                await conn.execute(statement)
    assert (await verify_audit_log(database)).checked == 1

    async with database.engine.begin() as conn:  # what the test fixture does between tests
        await conn.execute(text("TRUNCATE identity_audit_log"))
        assert await conn.scalar(select(func.count()).select_from(audit_log)) == 0


async def test_concurrent_appends_keep_one_valid_chain(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    await record(uows, 0)
    results = await asyncio.gather(*(record(uows, n) for n in range(1, 21)))
    assert sorted(e.seq for e in results) == list(range(2, 22))
    report = await verify_audit_log(database)
    assert (report.ok, report.checked) == (True, 21)
    assert report.last_hash == max(results, key=lambda e: e.seq).hash


async def test_paging_reads_every_entry_in_order(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    recorded = [await record(uows, n) for n in range(1, 8)]
    assert await all_entries(database, batch=3) == recorded
    assert await all_entries(database, batch=7) == recorded


async def test_list_filters_newest_first_with_a_seq_cursor(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    for n in range(1, 7):
        await record(uows, n)
    await record(uows, 7, action="authx.other")
    await record(uows, 8, action="role.granted", target_type="role", target_id="admin")

    async with uows(read_only=True) as uow:
        newest = await list_audit(uow.session, limit=3)
        assert [e.seq for e in newest] == [8, 7, 6]
        page = await list_audit(uow.session, before_seq=newest[-1].seq, limit=3)
        assert [e.seq for e in page] == [5, 4, 3]

        by_actor = await list_audit(uow.session, actor_id="u-1")
        assert [e.seq for e in by_actor] == [7, 5, 3, 1]
        by_target = await list_audit(uow.session, target_type="role", target_id="admin")
        assert [e.seq for e in by_target] == [8]
        auth = await list_audit(uow.session, action_prefix="auth.")
        assert [e.seq for e in auth] == [6, 5, 4, 3, 2, 1]
        assert await list_audit(uow.session, action_prefix="auth_") == []
        assert await list_audit(uow.session, action_prefix="auth%") == []

        with pytest.raises(InvalidInput):
            await list_audit(uow.session, limit=0)


async def test_a_read_only_unit_of_work_cannot_record(uows: UnitOfWorkFactory) -> None:
    with pytest.raises(ReadOnlyViolation):
        async with uows(read_only=True) as uow:
            await record_audit(uow, action="role.granted", actor_id=None, actor_type="system")
