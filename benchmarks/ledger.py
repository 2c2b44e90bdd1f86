"""Ledger posting throughput, next to what the same SQL costs without the engine.

For each database it measures, in one run, posted transfers per second through `post_entry`
(each transfer its own unit of work) with 1, 4 and 16 concurrent writers (asyncio tasks) on:

- many accounts: random pairs among 1,000 funded customer cash accounts (writers rarely meet);
- one hot account: every transfer debits the same funded account (writers queue on its lock).

On PostgreSQL the ceiling is the statements the engine sends per transfer (read from
`journal.py` and checked against SQLAlchemy's log; change both together): BEGIN; lock both
accounts FOR UPDATE, customers' first, each in id order (the columns a write needs); check the
balance; claim the idempotency key by inserting the entry (ON CONFLICT DO NOTHING RETURNING
id; a taken key is looked up); update both accounts (one pipelined executemany); insert the
postings (executemany) and the outbox event (no RETURNING); COMMIT. They go through a raw
asyncpg loop with prepared statements and, when `pgbench` is installed, through pgbench with a
custom script (the two updates in a pipeline, the postings in one multi-row insert), at the
same concurrency. The engine/ceiling ratio is what the engine's Python costs. SQLite
serialises writers (BEGIN IMMEDIATE), so it runs 1 and 4 writers and has no ceiling row.

At the end it checks the ledger the run produced: the trial balance is zero and every account's
counters equal its postings.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import case, func, select, text

from finplat.kernel import Asset, SystemClock, new_id
from finplat.ledger import LEDGER_EVENTS
from finplat.ledger.accounts import open_account
from finplat.ledger.domain import AccountKind, Posting, transfer
from finplat.ledger.journal import post_entry
from finplat.ledger.store import accounts, postings
from finplat.platform.bus import EventRegistry, OutboxRecorder
from finplat.platform.db import Database, UnitOfWorkFactory
from finplat.platform.db.migrate import upgrade

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "finplat_bench_ledger"
PG_DSN = f"postgresql://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
USD = Asset("USD", 2)
CUSTOMERS = 1000
FUNDING = 10**12  # minor units per funded account: no transfer is ever refused
PG_WRITERS = (1, 4, 16)
SQLITE_WRITERS = (1, 4)
SCENARIOS = ("many", "hot")
SCENARIO_NAMES = {"many": "many accounts", "hot": "one hot account"}


@dataclass(frozen=True)
class Book:
    """The accounts of a run: customers[0] is the hot account."""

    customers: list[uuid.UUID]

    def pairs(self, scenario: str, n: int, seed: int) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
        """`n` (debit, credit, amount) transfers; the same seed gives the same transfers."""
        rng = random.Random(seed)
        out = []
        for _ in range(n):
            if scenario == "hot":
                debit, credit = self.customers[0], rng.choice(self.customers[1:])
            else:
                debit, credit = rng.sample(self.customers, 2)
            out.append((debit, credit, rng.randint(1, 100_00)))
        return out


@dataclass(frozen=True)
class Timing:
    done: int
    seconds: float
    cpu_seconds: float  # this process's CPU time (all its threads)
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds / self.done * 1000

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


Transfer = Callable[[int, uuid.UUID, uuid.UUID, int], Awaitable[None]]


async def _drive(
    book: Book, scenario: str, writers: int, transfers: int, send: Transfer, seed: int
) -> Timing:
    """`writers` tasks share `transfers` transfers; each sends its own, one at a time."""
    per_writer = transfers // writers
    work = [book.pairs(scenario, per_writer, seed * 1000 + w) for w in range(writers)]
    latencies: list[float] = []

    async def writer(w: int) -> None:
        for i, (debit, credit, amount) in enumerate(work[w]):
            started = time.perf_counter()
            await send(w * per_writer + i, debit, credit, amount)
            latencies.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Timing(per_writer * writers, elapsed, cpu, latencies)


# -- the engine ---------------------------------------------------------------------------


def _uows(database: Database) -> UnitOfWorkFactory:
    clock = SystemClock()
    return UnitOfWorkFactory(database, OutboxRecorder(EventRegistry(LEDGER_EVENTS), clock), clock)


async def _open_book(uows: UnitOfWorkFactory) -> Book:
    """A bank and 1,000 customers, all funded by one deposit entry."""
    async with uows() as uow:
        bank = await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=USD)
        customers = [
            (
                await open_account(
                    uow, kind=AccountKind.CUSTOMER_CASH, asset=USD, owner_id=uuid.UUID(int=n + 1)
                )
            ).id
            for n in range(CUSTOMERS)
        ]
    async with uows() as uow:
        await post_entry(
            uow,
            key="bench:funding",
            postings_=[
                Posting(bank.id, "USD", FUNDING * CUSTOMERS),
                *(Posting(c, "USD", -FUNDING) for c in customers),
            ],
        )
    return Book(customers)


def _engine_sender(uows: UnitOfWorkFactory, label: str) -> Transfer:
    async def send(n: int, debit: uuid.UUID, credit: uuid.UUID, amount: int) -> None:
        async with uows() as uow:
            await post_entry(
                uow, key=f"{label}:{n}", postings_=transfer(debit, credit, "USD", amount)
            )

    return send


async def _engine(
    uows: UnitOfWorkFactory, book: Book, scenario: str, writers: int, transfers: int, tag: str
) -> Timing:
    # warm-up: every writer's connection open, statements compiled and cached
    warm = _engine_sender(uows, f"warm:{tag}:{scenario}:{writers}")
    await _drive(book, scenario, writers, writers * 4, warm, seed=7)
    send = _engine_sender(uows, f"{tag}:{scenario}:{writers}")
    return await _drive(book, scenario, writers, transfers, send, seed=writers)


async def _check_ledger(database: Database) -> str:
    """The trial balance and every account's counters against its postings."""
    async with database.engine.connect() as conn:
        trial = await conn.scalar(
            select(func.coalesce(func.sum(postings.c.amount), 0)).where(
                postings.c.pending.is_(False)
            )
        )
        sums = (
            select(
                postings.c.account_id,
                func.sum(case((postings.c.amount > 0, postings.c.amount), else_=0)).label("d"),
                func.sum(case((postings.c.amount < 0, -postings.c.amount), else_=0)).label("c"),
            )
            .where(postings.c.pending.is_(False))
            .group_by(postings.c.account_id)
            .subquery()
        )
        wrong = await conn.scalar(
            select(func.count())
            .select_from(accounts.outerjoin(sums, sums.c.account_id == accounts.c.id))
            .where(
                (accounts.c.debits_posted != func.coalesce(sums.c.d, 0))
                | (accounts.c.credits_posted != func.coalesce(sums.c.c, 0))
            )
        )
        entries_total = await conn.scalar(text("SELECT count(*) FROM ledger_entries"))
    status = "ok" if trial == 0 and wrong == 0 else "BROKEN"
    return (
        f"ledger check: {status} (trial balance {trial}, {wrong} accounts off their postings, "
        f"{entries_total} entries)"
    )


# -- the ceiling: the engine's statements without the engine ------------------------------

LOCK = (
    "SELECT id, code, asset, normal_side, non_negative, debits_posted, credits_posted, "
    "debits_pending, credits_pending FROM ledger_accounts WHERE id IN ($1::uuid, $2::uuid) "
    "ORDER BY owner_id IS NULL, id FOR UPDATE"
)
CLAIM = (
    "INSERT INTO ledger_entries (id, idempotency_key, request_hash, kind, status, pending_id, "
    "description, meta, created_at, expires_at) VALUES ($1, $2, $3, 'entry', 'posted', NULL, '', "
    "'{}'::jsonb, $4, NULL) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
REPLAY = (
    "SELECT id, idempotency_key, request_hash, kind, status, pending_id, description, meta, "
    "created_at, expires_at, resolved_at FROM ledger_entries WHERE idempotency_key = $1"
)
UPDATE = (
    "UPDATE ledger_accounts SET debits_posted = $1, credits_posted = $2, debits_pending = $3, "
    "credits_pending = $4 WHERE id = $5"
)
INSERT_POSTING = (
    "INSERT INTO ledger_postings (entry_id, account_id, asset, amount, pending, created_at) "
    "VALUES ($1, $2, 'USD', $3, false, $4)"
)
INSERT_OUTBOX = (
    "INSERT INTO bus_outbox (event_id, topic, event_type, version, key, occurred_at, "
    "recorded_at, payload) VALUES ($1, 'ledger', 'ledger.transfer_posted', 1, $2, $3, $3, "
    "$4::jsonb)"
)


async def _asyncpg(book: Book, scenario: str, writers: int, transfers: int) -> Timing:
    pool = await asyncpg.create_pool(PG_DSN, min_size=writers, max_size=writers)
    assert pool is not None

    async def send(n: int, debit: uuid.UUID, credit: uuid.UUID, amount: int) -> None:
        key = f"raw:{scenario}:{writers}:{n}"
        async with pool.acquire() as conn, conn.transaction():
            locked = {r["id"]: r for r in await conn.fetch(LOCK, *sorted((debit, credit)))}
            source, target = locked[debit], locked[credit]
            available = (
                source["credits_posted"] - source["debits_posted"] - source["debits_pending"]
            )
            if available < amount:
                raise RuntimeError("insufficient funds")
            entry_id, now = new_id(), datetime.now(UTC)
            request_hash = hashlib.sha256(key.encode()).hexdigest()
            if await conn.fetchval(CLAIM, entry_id, key, request_hash, now) is None:
                await conn.fetchrow(REPLAY, key)
                return
            # the engine updates in the order the postings name the accounts
            await conn.executemany(
                UPDATE,
                [
                    (
                        source["debits_posted"] + amount,
                        source["credits_posted"],
                        source["debits_pending"],
                        source["credits_pending"],
                        debit,
                    ),
                    (
                        target["debits_posted"],
                        target["credits_posted"] + amount,
                        target["debits_pending"],
                        target["credits_pending"],
                        credit,
                    ),
                ],
            )
            await conn.executemany(
                INSERT_POSTING, [(entry_id, debit, amount, now), (entry_id, credit, -amount, now)]
            )
            payload = {
                "entry_id": str(entry_id),
                "kind": "entry",
                "postings": [
                    {"account_id": str(debit), "asset": "USD", "amount_minor": amount},
                    {"account_id": str(credit), "asset": "USD", "amount_minor": -amount},
                ],
            }
            await conn.execute(INSERT_OUTBOX, new_id(), str(debit), now, json.dumps(payload))

    try:
        await _drive(book, scenario, writers, writers * 4, _warm(send), seed=7)
        return await _drive(book, scenario, writers, transfers, send, seed=writers)
    finally:
        await pool.close()


def _warm(send: Transfer) -> Transfer:
    async def warm(n: int, debit: uuid.UUID, credit: uuid.UUID, amount: int) -> None:
        await send(-1 - n, debit, credit, amount)  # keys of their own

    return warm


PGBENCH_SCRIPT = """\
\\set x random(0, {last})
\\set y random(1, {last})
\\set y CASE WHEN :scenario = 1 THEN :y WHEN :y <= :x THEN :y - 1 ELSE :y END
\\set x CASE WHEN :scenario = 1 THEN 0 ELSE :x END
\\set amount random(1, 10000)
\\set r random(1, 4611686018427387903)
SELECT (SELECT id FROM bench_ids WHERE n = :x::integer) AS a, \
(SELECT id FROM bench_ids WHERE n = :y::integer) AS b, \
'pgb:' || :client_id::text || ':' || :r::text AS k \\gset
BEGIN;
SELECT id, code, asset, normal_side, non_negative, debits_posted, credits_posted, \
debits_pending, credits_pending FROM ledger_accounts WHERE id IN (:a::uuid, :b::uuid) \
ORDER BY owner_id IS NULL, id FOR UPDATE;
INSERT INTO ledger_entries (id, idempotency_key, request_hash, kind, status, pending_id, \
description, meta, created_at, expires_at) VALUES (gen_random_uuid(), :k::text, \
md5(:k::text) || md5(:r::text), 'entry', 'posted', NULL, '', '{{}}'::jsonb, now(), NULL) \
ON CONFLICT (idempotency_key) DO NOTHING RETURNING id AS e \\gset
\\startpipeline
UPDATE ledger_accounts SET debits_posted = debits_posted + :amount::bigint \
WHERE id = :a::uuid AND credits_posted - debits_posted - debits_pending >= :amount::bigint;
UPDATE ledger_accounts SET credits_posted = credits_posted + :amount::bigint WHERE id = :b::uuid;
\\endpipeline
INSERT INTO ledger_postings (entry_id, account_id, asset, amount, pending, created_at) VALUES \
(:e::uuid, :a::uuid, 'USD', :amount::bigint, false, now()), \
(:e::uuid, :b::uuid, 'USD', 0 - :amount::bigint, false, now());
INSERT INTO bus_outbox (event_id, topic, event_type, version, key, occurred_at, recorded_at, \
payload) VALUES (gen_random_uuid(), 'ledger', 'ledger.transfer_posted', 1, :a::text, now(), \
now(), jsonb_build_object('entry_id', :e::text, 'kind', 'entry', 'postings', \
jsonb_build_array(jsonb_build_object('account_id', :a::text, 'asset', 'USD', 'amount_minor', \
:amount::bigint), jsonb_build_object('account_id', :b::text, 'asset', 'USD', 'amount_minor', \
0 - :amount::bigint))));
COMMIT;
"""


async def _pgbench_ids(book: Book) -> None:
    """pgbench variables are numbers: a table maps 0..999 to the customers' ids."""
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_ids")
        await conn.execute("CREATE TABLE bench_ids (n integer PRIMARY KEY, id uuid NOT NULL)")
        await conn.executemany(
            "INSERT INTO bench_ids VALUES ($1, $2)", list(enumerate(book.customers))
        )
        await conn.execute("ANALYZE bench_ids")
    finally:
        await conn.close()


def _pgbench(
    pgbench: str, script: Path, scenario: str, writers: int, transfers: int
) -> float | None:
    """Transactions per second pgbench reports, or None when it failed."""
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [
            pgbench,
            "-n",
            "-M",
            "prepared",
            "-c",
            str(writers),
            "-j",
            str(min(writers, os.cpu_count() or 1)),
            "-t",
            str(transfers // writers),
            "-D",
            f"scenario={1 if scenario == 'hot' else 0}",
            "-f",
            str(script),
            PG_DSN,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("tps =") and result.returncode == 0:
            return float(line.split()[2])
    print(f"  pgbench failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return None


# -- the run --------------------------------------------------------------------------------


async def _fresh_postgres() -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    print(f"postgresql {version} (fresh database {PG_BENCH_DB})")
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


HEADER = (
    f"{'database':<11}{'scenario':<16}{'writers':>7}{'engine tx/s':>12}{'p50 ms':>8}"
    f"{'p99 ms':>8}{'cpu ms/tx':>10}{'asyncpg tx/s':>13}{'cpu ms/tx':>10}{'ratio':>7}"
    f"{'pgbench tx/s':>13}{'ratio':>7}"
)


def _row(
    database: str,
    scenario: str,
    writers: int,
    engine: Timing,
    raw: Timing | None = None,
    bench: float | None = None,
) -> str:
    line = (
        f"{database:<11}{SCENARIO_NAMES[scenario]:<16}{writers:>7}{engine.rate:>12.0f}"
        f"{engine.percentile_ms(50):>8.1f}{engine.percentile_ms(99):>8.1f}{engine.cpu_ms:>10.2f}"
    )
    if raw is None:
        line += f"{'-':>13}{'-':>10}{'-':>7}"
    else:
        line += f"{raw.rate:>13.0f}{raw.cpu_ms:>10.2f}{engine.rate / raw.rate:>7.2f}"
    line += f"{bench:>13.0f}{engine.rate / bench:>7.2f}" if bench else f"{'-':>13}{'-':>7}"
    return line


async def _postgresql(transfers: int) -> None:
    database = Database(await _fresh_postgres(), pool_size=max(PG_WRITERS))
    try:
        await upgrade(database)
        uows = _uows(database)
        book = await _open_book(uows)
        await _pgbench_ids(book)
        pgbench = shutil.which("pgbench")
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "transfer.sql"
            script.write_text(PGBENCH_SCRIPT.format(last=CUSTOMERS - 1))
            print(HEADER)
            for scenario in SCENARIOS:
                for writers in PG_WRITERS:
                    engine = await _engine(uows, book, scenario, writers, transfers, "pg")
                    raw = await _asyncpg(book, scenario, writers, transfers)
                    bench = None
                    if pgbench is not None:
                        bench = await asyncio.to_thread(
                            _pgbench, pgbench, script, scenario, writers, transfers
                        )
                    print(_row("postgresql", scenario, writers, engine, raw, bench), flush=True)
        print(await _check_ledger(database))
    finally:
        await database.dispose()


async def _sqlite(transfers: int) -> None:
    print(f"sqlite {sqlite3.sqlite_version} (WAL, synchronous=FULL, a fresh file)")
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'ledger.db'}")
        try:
            await upgrade(database)
            uows = _uows(database)
            book = await _open_book(uows)
            print(HEADER)
            for scenario in SCENARIOS:
                for writers in SQLITE_WRITERS:
                    engine = await _engine(uows, book, scenario, writers, transfers, "sqlite")
                    print(_row("sqlite", scenario, writers, engine), flush=True)
            print(await _check_ledger(database))
        finally:
            await database.dispose()


async def run(transfers: int = 1000) -> None:
    print(
        f"ledger benchmark: {transfers} posted transfers per measurement, each its own unit of "
        f"work; {CUSTOMERS} funded customer accounts; {os.cpu_count()} CPUs shared with the "
        "database server\n"
        "engine = post_entry; asyncpg, pgbench = the engine's statements sent without it; "
        "ratio = engine tx/s / ceiling tx/s;\n"
        "cpu ms/tx = this Python process's CPU per transfer (the server's is not counted)\n"
    )
    await _postgresql(transfers)
    print()
    await _sqlite(transfers)


if __name__ == "__main__":
    asyncio.run(run())
