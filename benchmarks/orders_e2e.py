"""Orders accepted per second through the HTTP API, next to the ledger-hold ceiling.

Setup: a fresh PostgreSQL database, the whole app (middleware, authentication by API key,
validation, pre-trade risk, the ledger hold, the order and event rows, the outbox event)
served in process through an ASGI transport (no sockets: this measures the server's work,
not HTTP parsing), with 32 paper customers, each funded and KYC-approved (paper case). Each
client sends `POST /api/v1/orders` for good-till-canceled limit buys far below the market,
so every order is accepted and rests: its cost is acceptance, not matching. Clients are
asyncio tasks: 8, 32 and 128 of them.

The ceiling, in the same run on the same database: the part of accepting an order that
cannot be avoided, a ledger hold (lock, counters, entry, postings, outbox) in its own unit
of work, through the posting engine at the same concurrency.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from benchmarks.ledger import PG_ADMIN
from finplat import ledger, onboarding, trading
from finplat.app import build_platform, create_app
from finplat.identity import ApiKeyScope, Role
from finplat.identity.accounts import create_user
from finplat.identity.apikeys import create_key_for_email
from finplat.kernel import SystemClock, new_id
from finplat.marketdata import seed_instruments
from finplat.platform.db.migrate import upgrade
from finplat.platform.settings import Settings

CUSTOMERS = 32
CLIENTS = (8, 32, 128)
DEMO = Path("data/instruments/demo.csv")


DATABASE = "finplat_bench_orders"  # its own: the ledger benchmark recreates its database


async def _fresh_postgres() -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"


def _percentile(latencies: list[float], q: int) -> float:
    return statistics.quantiles(latencies, n=100)[q - 1] * 1000


async def _drive(
    clients: int, orders: int, send: Callable[[int, int], Awaitable[None]]
) -> tuple[float, float, float]:
    per_client = max(1, orders // clients)
    latencies: list[float] = []

    async def client(c: int) -> None:
        for n in range(per_client):
            started = time.perf_counter()
            await send(c, n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    elapsed = time.perf_counter() - started
    return per_client * clients / elapsed, _percentile(latencies, 50), _percentile(latencies, 99)


async def run(orders: int = 2000) -> None:
    url = await _fresh_postgres()
    data_dir = Path(tempfile.mkdtemp(prefix="finplat-bench-orders-"))
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        log_level="WARNING",
        rate_limit_per_ip_per_minute=10_000_000,
        rate_limit_per_principal_per_minute=10_000_000,
        trading_max_orders_per_minute=10_000_000,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
        argon2_parallelism=1,
        database_pool_size=40,
        marketdata_daily_history_days=0,  # no backfill competing with the measurement
        marketdata_minute_history_days=0,
    )
    platform = build_platform(settings, clock=SystemClock())
    await upgrade(platform.database)
    app = create_app(settings, platform=platform)
    keys: list[dict[str, str]] = []
    listing = await asyncio.to_thread(DEMO.read_text, encoding="utf-8")
    await seed_instruments(platform.marketdata, listing)
    for n in range(CUSTOMERS):
        email = f"bench{n}@example.com"
        async with platform.uows() as uow:
            user = await create_user(
                platform.identity,
                uow,
                email=email,
                password="a long bench passphrase 42",  # noqa: S106 - a throwaway bench user
                roles=frozenset({Role.CUSTOMER}),
                verified=True,
                actor_type="system",
            )
            await onboarding.approve_paper_case(uow, user.user_id)
            await trading.open_trading_account(uow, user.user_id, paper=True)
            await ledger.fund_paper(
                uow,
                user_id=user.user_id,
                asset=ledger.currency("USD"),
                amount=Decimal(100_000_000),
                key="bench",
            )
        key = await create_key_for_email(
            platform.identity,
            email,
            scopes=[ApiKeyScope.TRADE, ApiKeyScope.READ],
            name="bench",
            expires_in=None,
        )
        keys.append({"APCA-API-KEY-ID": key.key_id, "APCA-API-SECRET-KEY": key.secret})

    print(f"\norders_e2e: POST /api/v1/orders, {orders} orders per row, {CUSTOMERS} customers")
    print(
        f"{'clients':>8}{'orders/s':>10}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'hold tx/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>7}"
    )
    await platform.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def order(c: int, n: int) -> None:
                response = await http.post(
                    "/api/v1/orders",
                    headers=keys[c % CUSTOMERS],
                    json={
                        "symbol": "AAPL",
                        "side": "buy",
                        "type": "limit",
                        "time_in_force": "gtc",
                        "qty": "1",
                        "limit_price": "1.00",
                        "client_order_id": f"{c}-{n}-{uuid.uuid4().hex[:8]}",
                    },
                )
                if response.status_code != 201:
                    raise RuntimeError(f"order refused: {response.status_code} {response.text}")

            await _drive(8, 64, order)  # warm-up: connections, statement caches
            for clients in CLIENTS:
                accepted, p50, p99 = await _drive(clients, orders, order)
                ceiling, c50, c99 = await _drive(clients, orders, _holder(platform))
                print(
                    f"{clients:>8}{accepted:>10.0f}{p50:>8.1f}{p99:>8.1f}"
                    f"{ceiling:>11.0f}{c50:>8.1f}{c99:>8.1f}{accepted / ceiling:>7.2f}"
                )
    finally:
        await platform.stop()


def _holder(platform: object) -> Callable[[int, int], Awaitable[None]]:
    """A ledger hold per call, on a pre-funded account per client: the ceiling."""
    uows = platform.uows  # type: ignore[attr-defined]
    accounts: dict[int, tuple[uuid.UUID, uuid.UUID]] = {}

    async def hold(c: int, n: int) -> None:
        key = c % CUSTOMERS
        if key not in accounts:
            async with uows() as uow:
                owner = uuid.UUID(int=10_000 + key)
                await ledger.fund_paper(
                    uow,
                    user_id=owner,
                    asset=ledger.currency("USD"),
                    amount=Decimal(100_000_000),
                    key="ceiling",
                )
                cash = await ledger.open_account(
                    uow,
                    kind=ledger.AccountKind.CUSTOMER_CASH,
                    asset=ledger.currency("USD"),
                    owner_id=owner,
                )
                clearing = await ledger.open_account(
                    uow,
                    kind=ledger.AccountKind.CLEARING,
                    asset=ledger.currency("USD"),
                    book="paper",
                )
                accounts[key] = (cash.id, clearing.id)
        cash_id, clearing_id = accounts[key]
        async with uows() as uow:
            await ledger.hold(
                uow,
                key=f"ceiling:{new_id()}",
                debit=cash_id,
                credit=clearing_id,
                asset="USD",
                amount=100,
            )

    return hold
