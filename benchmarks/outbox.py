"""Outbox cost and throughput.

For each database it measures, in one run:

- baseline: N transactions that each insert one business row (what a use case costs without
  events);
- outbox: N transactions that each insert the same row and publish one event to the outbox
  (the cost the outbox adds to a use case);
- delivery: relaying those N events through the memory backend to a consumer that applies
  each once via the inbox (end-to-end events per second).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from finplat.kernel import IntegrationEvent, SystemClock
from finplat.platform.bus import (
    Consumer,
    Envelope,
    EventRegistry,
    MemoryBus,
    OutboxRecorder,
    OutboxRelay,
    Subscription,
)
from finplat.platform.db import Database, UnitOfWork, UnitOfWorkFactory
from finplat.platform.db.migrate import upgrade

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "finplat_bench"

bench_meta = MetaData()
business = Table(
    "bench_business",
    bench_meta,
    Column("id", Integer, primary_key=True),
    Column("account", String(32), nullable=False),
    Column("amount", String(32), nullable=False),
)


@dataclass(frozen=True, kw_only=True)
class Credited(IntegrationEvent):
    event_type: ClassVar[str] = "bench.credited"
    payload_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["account", "amount"],
        "properties": {"account": {"type": "string"}, "amount": {"type": "string"}},
    }
    account: str
    amount: Decimal

    @property
    def key(self) -> str:
        return self.account


async def _prepare(url: str) -> Database:
    database = Database(url)
    await upgrade(database)
    async with database.engine.begin() as conn:
        await conn.run_sync(bench_meta.drop_all)
        await conn.run_sync(bench_meta.create_all)
    return database


async def _use_cases(uows: UnitOfWorkFactory, n: int, *, publish: bool) -> float:
    started = time.perf_counter()
    for i in range(n):
        async with uows() as uow:
            account = f"acct-{i % 50}"
            await uow.session.execute(insert(business).values(account=account, amount="1.25"))
            if publish:
                await uow.publish(Credited(account=account, amount=Decimal("1.25")))
    return time.perf_counter() - started


async def _measure(name: str, url: str, n: int) -> None:
    database = await _prepare(url)
    clock = SystemClock()
    uows = UnitOfWorkFactory(database, OutboxRecorder(EventRegistry([Credited]), clock), clock)
    applied = 0

    async def on_credit(uow: UnitOfWork, envelope: Envelope) -> None:
        nonlocal applied
        await uow.session.execute(
            insert(business).values(account=envelope.key, amount=str(envelope.payload["amount"]))
        )
        applied += 1

    bus = MemoryBus()
    bus.subscribe(Consumer(Subscription("bench", {Credited.event_type: on_credit}), uows))
    relay = OutboxRelay(database, bus, clock, batch_size=500)
    try:
        baseline = await _use_cases(uows, n, publish=False)
        with_outbox = await _use_cases(uows, n, publish=True)
        started = time.perf_counter()
        delivered = await relay.drain()
        delivery = time.perf_counter() - started
    finally:
        await database.dispose()
    assert delivered == n == applied, (delivered, applied)
    print(f"{name:<11} baseline use case        {n / baseline:>9.0f} tx/s")
    print(
        f"{name:<11} use case + outbox event  {n / with_outbox:>9.0f} tx/s   "
        f"({with_outbox / baseline:.2f}x the baseline's time)"
    )
    print(f"{name:<11} relay + inbox consumer   {n / delivery:>9.0f} events/s")


async def _fresh_postgres() -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


async def run(n: int, databases: list[str]) -> None:
    print(f"outbox benchmark: {n} use cases per measurement")
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory() as tmp:
            await _measure("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", n)
    if "postgresql" in databases:
        await _measure("postgresql", await _fresh_postgres(), n)


if __name__ == "__main__":
    asyncio.run(run(2000, ["sqlite", "postgresql"]))
