"""Composition root: builds the platform for a process role and the ASGI app that serves it.

This module and `cli.py` are the only ones that know every domain.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis

from finplat import __version__, identity, ledger, marketdata, onboarding, trading
from finplat.kernel import Amount, Clock, IntegrationEvent, SystemClock
from finplat.platform.bus import (
    BusBackend,
    Consumer,
    EventRegistry,
    MemoryBus,
    OutboxRecorder,
    OutboxRelay,
)
from finplat.platform.bus.kafka import KafkaBus
from finplat.platform.crypto import BlindIndex, FieldCipher, KeyRing
from finplat.platform.crypto.rotation import EncryptedColumn
from finplat.platform.db import Database, UnitOfWorkFactory
from finplat.platform.db.migrate import upgrade
from finplat.platform.http import HttpAppSpec, build_http_app
from finplat.platform.http.access import public
from finplat.platform.http.health import health_router
from finplat.platform.http.ratelimit import RateLimitMiddleware
from finplat.platform.mail import (
    BODY_CONTEXT,
    DevMailbox,
    LogTransport,
    MailRelay,
    MailTransport,
    SmtpTransport,
    mail_outbox,
)
from finplat.platform.mail import mailbox_router as dev_mailbox_router
from finplat.platform.ratelimit import RateLimiter, build_rate_limiter
from finplat.platform.settings import Settings

log = logging.getLogger(__name__)

#: Integration events of every domain; each domain adds its event classes here.
DOMAIN_EVENTS: Sequence[type[IntegrationEvent]] = (
    *identity.IDENTITY_EVENTS,
    *onboarding.ONBOARDING_EVENTS,
    *ledger.LEDGER_EVENTS,
    *trading.TRADING_EVENTS,
)


def ENCRYPTED_COLUMNS() -> list[EncryptedColumn]:  # noqa: N802 - reads as the constant it lists
    """Every column of encrypted values, for `finplat keys rotate`."""
    return [
        *identity.encrypted_columns(),
        *onboarding.encrypted_columns(),
        EncryptedColumn(mail_outbox, mail_outbox.c.seq, mail_outbox.c.body_encrypted, BODY_CONTEXT),
    ]


#: A domain's demo-data seeder: idempotent, returns a line saying what it did.
DemoSeeder = Callable[["Platform"], Awaitable[str]]


class Role(StrEnum):
    """What a process does. `all` is the embedded single process."""

    ALL = "all"
    API = "api"
    ENGINE = "engine"
    WORKER = "worker"

    @property
    def serves_api(self) -> bool:
        return self in {Role.ALL, Role.API}

    @property
    def runs_workers(self) -> bool:
        return self in {Role.ALL, Role.WORKER}


class RoleNotSupported(ValueError):
    pass


@dataclass
class Platform:
    """The services one process shares across its domains."""

    settings: Settings
    role: Role
    clock: Clock
    database: Database
    registry: EventRegistry
    uows: UnitOfWorkFactory
    bus: BusBackend
    relay: OutboxRelay
    keyring: KeyRing
    cipher: FieldCipher
    limiter: RateLimiter
    mail_relay: MailRelay
    identity: identity.IdentityKit
    onboarding: onboarding.OnboardingKit
    marketdata: marketdata.MarketDataKit
    trading: trading.TradingKit
    consumers: list[Consumer] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        if self.database.is_sqlite:
            await upgrade(self.database)  # the embedded database migrates itself on start
        if self.role.runs_workers:
            for consumer in self.consumers:
                self.bus.subscribe(consumer)
        await self.bus.start()
        try:
            await onboarding.rebuild_index(self.onboarding)
        except Exception:  # the database may be down at start; readiness retries
            log.exception("could not load the screening index; KYC submissions will wait")
        if self.role.runs_workers:
            self.uows.on_publish_committed(self.relay.wake)
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="outbox"))
            self._tasks.append(
                asyncio.create_task(
                    self.mail_relay.run(self._stop, timedelta(seconds=1)), name="mail"
                )
            )
            self._tasks.append(asyncio.create_task(self._expire_holds(), name="hold-expiry"))
            self._tasks.append(asyncio.create_task(self._market_data_feed(), name="marketdata"))
        if self.role in {Role.ALL, Role.ENGINE}:
            self._tasks.append(asyncio.create_task(self._venues(), name="venues"))
        self._bridge_ticks()
        log.info(
            "finplat started",
            extra={
                "role": self.role.value,
                "database": self.database.dialect,
                "bus": self.bus.name,
            },
        )

    async def _expire_holds(self) -> None:
        """Release ledger holds past their expiry, every few seconds."""
        while not self._stop.is_set():
            try:
                async with self.uows() as uow:
                    await ledger.expire_holds(uow)
            except Exception:
                log.exception("expiring holds failed; retrying")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=5)

    def _bridge_ticks(self) -> None:
        """Split roles: the worker runs the feed and publishes its ticks to Redis; API
        processes republish them to their WebSocket subscribers. One process needs neither."""
        if self.role is Role.ALL or self.role is Role.ENGINE:
            return
        if not self.settings.redis_url:
            log.warning("no FINPLAT_REDIS_URL: market data will not stream across processes")
            return
        client = Redis.from_url(self.settings.redis_url)
        bridge = marketdata.RedisTickBridge(
            client, prefix=f"{self.settings.redis_key_prefix}md:stream:"
        )
        work = bridge.forward if self.role is Role.WORKER else bridge.run

        async def bridged() -> None:
            try:
                await work(self.marketdata.hub, self._stop)
            finally:
                await client.aclose()

        self._tasks.append(asyncio.create_task(bridged(), name="marketdata-bridge"))

    async def _venues(self) -> None:
        """Run the trading venues; if they fail (the database is down at start), retry."""
        while not self._stop.is_set():
            try:
                await trading.run_venues(self.trading, self.settings, self._stop)
                return
            except Exception:
                log.exception("the trading venues stopped; restarting them in 5 s")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=5)

    async def _market_data_feed(self) -> None:
        """Fill the bar history since the last run, then stream the live feed until stop."""
        try:
            summary = await marketdata.backfill_active(self.marketdata)
            log.info("market data history filled", extra={"summary": str(summary)})
            feed = await marketdata.start_feed(self.marketdata)
        except Exception:
            log.exception("the market data feed could not start; quotes will not move")
            return
        await feed.run(self._stop)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        await self.bus.stop()
        await self.marketdata.aclose()
        await self.limiter.aclose()
        await self.database.dispose()

    async def check_database(self) -> None:
        await self.database.ping()

    async def check_screening(self) -> None:
        if self.onboarding.screening.screener is None:
            await onboarding.rebuild_index(self.onboarding)

    async def check_bus(self) -> None:
        if not await self.bus.healthy():
            raise RuntimeError(f"{self.bus.name} bus is not healthy")


def build_bus(settings: Settings) -> BusBackend:
    if settings.bus_backend == "kafka":
        return KafkaBus(
            settings.kafka_bootstrap_servers,
            topic_prefix=settings.kafka_topic_prefix,
            group_prefix=settings.kafka_consumer_group_prefix,
            idempotent_producer=settings.kafka_idempotent_producer,
        )
    return MemoryBus()


def funding_policy(settings: Settings) -> ledger.FundingPolicy:
    asset = ledger.currency(settings.funding_currency)
    return ledger.FundingPolicy(
        currency=asset,
        approval_threshold=Amount.of(settings.withdrawal_approval_threshold, asset),
        daily_withdrawal_limit=Amount.of(settings.daily_withdrawal_limit, asset),
        daily_deposit_limit=Amount.of(settings.daily_deposit_limit, asset),
    )


def build_mail_transport(settings: Settings) -> MailTransport:
    if settings.mail_transport == "smtp":
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
        )
    return LogTransport(settings.mail_from)


def build_platform(
    settings: Settings, role: Role = Role.ALL, clock: Clock | None = None
) -> Platform:
    if role is not Role.ALL and settings.bus_backend == "memory":
        raise RoleNotSupported(
            f"role '{role}' runs beside other processes and needs a shared bus: set "
            "FINPLAT_BUS_BACKEND=kafka, or run everything in one process with --role all"
        )
    clock = clock or SystemClock()
    database = Database(
        settings.resolved_database_url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
    )
    registry = EventRegistry(DOMAIN_EVENTS)
    uows = UnitOfWorkFactory(database, OutboxRecorder(registry, clock), clock)
    bus = build_bus(settings)
    relay = OutboxRelay(
        database,
        bus,
        clock,
        batch_size=settings.relay_batch_size,
        poll_interval=timedelta(milliseconds=settings.relay_poll_interval_ms),
    )
    keyring = identity.load_key_ring(settings)
    cipher = FieldCipher(keyring)
    limiter = build_rate_limiter(
        settings.rate_limit_backend,
        settings.redis_url,
        clock,
        prefix=f"{settings.redis_key_prefix}rl:",
    )
    mail_relay = MailRelay(database, build_mail_transport(settings), cipher, clock)
    blind_index = BlindIndex(keyring)
    kit = identity.build_identity_kit(settings, uows, clock, limiter, cipher, blind_index)
    market = marketdata.build_marketdata_kit(settings, uows, clock)
    identity.APPROVAL_HANDLERS[identity.SensitiveAction.KYC_HIGH_RISK_APPROVAL] = (
        onboarding.approve_high_risk
    )
    identity.APPROVAL_HANDLERS[identity.SensitiveAction.WITHDRAWAL_APPROVAL] = (
        ledger.on_withdrawal_approved
    )
    return Platform(
        settings=settings,
        role=role,
        clock=clock,
        database=database,
        registry=registry,
        uows=uows,
        bus=bus,
        relay=relay,
        keyring=keyring,
        cipher=cipher,
        limiter=limiter,
        mail_relay=mail_relay,
        identity=kit,
        onboarding=onboarding.build_onboarding_kit(settings, uows, clock, cipher, blind_index),
        marketdata=market,
        trading=trading.build_trading_kit(settings, uows, clock, market),
    )


def _routers(runtime: Platform) -> list[APIRouter]:
    routers = [
        health_router(
            __version__,
            {
                "database": runtime.check_database,
                "bus": runtime.check_bus,
                "screening": runtime.check_screening,
            },
        )
    ]
    if runtime.role.serves_api:
        routers.extend(identity.identity_routers())
        routers.extend(onboarding.onboarding_routers())
        routers.append(ledger.ledger_router)
        routers.extend(marketdata.marketdata_routers())
        routers.extend(trading.trading_routers())
        settings = runtime.settings
        if settings.environment == "development" and settings.mail_transport == "log":
            mailbox = dev_mailbox_router(DevMailbox(runtime.database, runtime.cipher))
            guarded = APIRouter(dependencies=[public("development mailbox, never in production")])
            guarded.include_router(mailbox)
            routers.append(guarded)
    return routers


def create_app(
    settings: Settings, role: Role = Role.ALL, platform: Platform | None = None
) -> FastAPI:
    """The ASGI app for `role`. Roles without the API still serve health, readiness, metrics."""
    runtime = platform or build_platform(settings, role)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    spec = HttpAppSpec(
        title="finplat",
        version=__version__,
        description="Self-hostable financial services platform.",
        routers=_routers(runtime),
        root_routers=(
            [*marketdata.marketdata_root_routers(), *trading.trading_root_routers()]
            if role.serves_api
            else ()
        ),
        error_formats=marketdata.ALPACA_ERROR_FORMATS,
        lifespan=lifespan,
        cors_allow_origins=settings.cors_allow_origins,
        max_request_body_bytes=settings.max_request_body_bytes,
        metrics_enabled=settings.metrics_enabled,
        hsts=settings.is_production,
        extra_state={
            "platform": runtime,
            "identity": runtime.identity,
            "onboarding": runtime.onboarding,
            "marketdata": runtime.marketdata,
            "trading": runtime.trading,
            "funding_policy": funding_policy(settings),
        },
        body_limit_overrides={"/api/v1/kyc/case/documents": settings.document_max_bytes + 65_536},
        middleware=[
            (
                RateLimitMiddleware,
                {
                    "limiter": runtime.limiter,
                    "limit": settings.rate_limit_per_ip_per_minute,
                    "window": timedelta(minutes=1),
                },
            )
        ],
    )
    return build_http_app(spec)


async def _seed_identity(platform: Platform) -> str:
    seed = identity.derive_secret(platform.settings, "demo")
    lines = await identity.seed_demo_accounts(platform.identity, seed)
    return "demo accounts:\n  " + "\n  ".join(lines)


#: The UN consolidated list shipped in the repository for the demo (see its PROVENANCE.md).
DEMO_SANCTIONS_LIST = Path("data/sanctions/un/UN_consolidated.xml")


async def _seed_screening(platform: Platform) -> str:
    if not await asyncio.to_thread(DEMO_SANCTIONS_LIST.is_file):
        return (
            f"screening: {DEMO_SANCTIONS_LIST} not found; load a list with `finplat screening load`"
        )
    if await onboarding.rebuild_index(platform.onboarding):
        return "screening: lists already loaded"
    summary = await onboarding.load_list(platform.onboarding, DEMO_SANCTIONS_LIST)
    return f"screening: loaded {summary.entries} entries from the {summary.source} list"


#: Demo instruments: real listings (see its PROVENANCE.md).
DEMO_INSTRUMENTS = Path("data/instruments/demo.csv")


async def _seed_marketdata(platform: Platform) -> str:
    if not await asyncio.to_thread(DEMO_INSTRUMENTS.is_file):
        return f"market data: {DEMO_INSTRUMENTS} not found; import instruments with the CLI"
    text = await asyncio.to_thread(DEMO_INSTRUMENTS.read_text, encoding="utf-8")
    imported = await marketdata.seed_instruments(platform.marketdata, text)
    history = await marketdata.backfill_active(platform.marketdata)
    return (
        f"market data: {imported.created} instruments created, {imported.updated} updated; "
        f"history: {history}"
    )


#: Seeders in dependency order; each domain adds its own.
DEMO_SEEDERS: Sequence[DemoSeeder] = (_seed_identity, _seed_screening, _seed_marketdata)


async def seed_demo(platform: Platform) -> list[str]:
    """Run every domain's demo seeder; returns what each one reports."""
    if platform.settings.is_production:
        raise RoleNotSupported("demo data is never seeded in production")
    return [await seeder(platform) for seeder in DEMO_SEEDERS]
