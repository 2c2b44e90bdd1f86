"""A trading seed for the Alpaca-compatible API's tests: instruments and quotes, a funded
paper customer with API keys, and a venue that only records what it is told."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import FastAPI

from finplat import ledger, onboarding, trading
from finplat.app import Platform
from finplat.identity import ApiKeyScope
from finplat.identity.accounts import create_user
from finplat.identity.apikeys import create_key_for_email
from finplat.marketdata.domain import AssetClass, Instrument, Quote, Venue
from finplat.marketdata.instruments import upsert_instrument
from finplat.trading.api import trading_root_routers
from finplat.trading.domain.orders import Order
from tests.support.identity import PASSWORD

D = Decimal
NANO = D("0.000000001")
QUOTED_AT = datetime(2026, 1, 5, 14, 29, 59, tzinfo=UTC)


def _instrument(
    symbol: str,
    exchange: str,
    *,
    crypto: bool = False,
    fractionable: bool = True,
    venue: Venue = Venue.SIMULATED,
) -> Instrument:
    lot = NANO if fractionable else D(1)
    return Instrument(
        symbol=symbol,
        name=f"{symbol} (trading tests)",
        asset_class=AssetClass.CRYPTO if crypto else AssetClass.US_EQUITY,
        exchange=exchange,
        currency="USD",
        tick_size=D("0.01"),
        lot_size=lot,
        min_order_size=lot,
        fractionable=fractionable,
        shortable=not crypto,
        easy_to_borrow=not crypto,
        venue=venue,
    )


AAPL = _instrument("AAPL", "XNAS")
MSFT = _instrument("MSFT", "XNAS", fractionable=False)
IWM = _instrument("IWM", "ARCX", venue=Venue.INTERNAL)
BTC = _instrument("BTC/USD", "CRYPTO", crypto=True)
INSTRUMENTS = (AAPL, MSFT, IWM, BTC)

QUOTES = (
    Quote("AAPL", D("190.40"), D(300), D("190.42"), D(200), QUOTED_AT),
    Quote("MSFT", D("440.10"), D(100), D("440.12"), D(100), QUOTED_AT),
    Quote("IWM", D("220.00"), D(500), D("220.02"), D(500), QUOTED_AT),
    Quote("BTC/USD", D("91999.99"), D("0.5"), D("92000.01"), D("1.5"), QUOTED_AT),
)


def mount_alpaca(app: FastAPI) -> None:
    """Serve the Alpaca routes on `app` unless the composition root already does."""
    if not any(getattr(route, "path", "") == "/v2/account" for route in app.routes):
        for router in trading_root_routers():
            app.include_router(router)


async def seed_market(platform: Platform) -> None:
    async with platform.uows() as uow:
        for instrument in INSTRUMENTS:
            await upsert_instrument(uow, instrument, now=platform.clock.now())
    for quote in QUOTES:
        await platform.marketdata.cache.put(quote)


async def fund(platform: Platform, user_id: uuid.UUID, cash: Decimal) -> None:
    """Paper cash from the paper book's omnibus account."""
    usd = ledger.currency("USD")
    async with platform.uows() as uow:
        bank = await ledger.open_account(
            uow, kind=ledger.AccountKind.OMNIBUS_BANK, asset=usd, book="paper"
        )
        account = await ledger.open_account(
            uow, kind=ledger.AccountKind.CUSTOMER_CASH, asset=usd, owner_id=user_id
        )
        await ledger.post_entry(
            uow,
            key=f"test-funding:{uuid.uuid4()}",
            postings_=ledger.transfer(bank.id, account.id, "USD", int(cash * 100)),
            description="paper funding (tests)",
            meta={},
        )


async def paper_trader(platform: Platform, email: str, cash: Decimal) -> uuid.UUID:
    """A customer with an approved paper case, a paper trading account and `cash`."""
    async with platform.uows() as uow:
        created = await create_user(
            platform.identity,
            uow,
            email=email,
            password=PASSWORD,
            verified=True,
            actor_type="system",
        )
        await onboarding.approve_paper_case(uow, created.user_id)
        await trading.open_trading_account(uow, created.user_id, paper=True)
    if cash:
        await fund(platform, created.user_id, cash)
    return created.user_id


async def api_key(platform: Platform, email: str, *scopes: ApiKeyScope) -> tuple[str, str]:
    key = await create_key_for_email(
        platform.identity, email, scopes=scopes, name="tests", expires_in=None
    )
    return key.key_id, key.secret


def alpaca_headers(key: tuple[str, str]) -> dict[str, str]:
    return {"APCA-API-KEY-ID": key[0], "APCA-API-SECRET-KEY": key[1]}


@dataclass
class RecordingVenue:
    """A venue that fills nothing: it records what the service tells it, so a test can
    report fills itself through `apply_execution`."""

    name: str
    cancels_at_once: bool = True
    working_orders: list[Order] = field(default_factory=list)
    withdrawn_ids: list[uuid.UUID] = field(default_factory=list)
    cancel_requests: list[Order] = field(default_factory=list)

    def working(self, order: Order) -> None:
        self.working_orders.append(order)

    def withdrawn(self, order_id: uuid.UUID) -> None:
        self.withdrawn_ids.append(order_id)

    def cancel_requested(self, order: Order) -> None:
        self.cancel_requests.append(order)

    def replace_requested(self, old: Order, new: Order) -> None:
        raise AssertionError("the service does not ask for replaces yet")
