"""Shared trading fixtures, on both databases (they build on `uows` and `clock`).

- `marketdata_kit`: market data on the test database: an in-memory tick cache, a stream hub,
  and a live feed without a provider. Tests move the market by hand, through the feed, as
  the provider would: `await market.quote("AAPL", "189.98", "190.02")` (the `market` fixture)
  or `await marketdata_kit.feed.ingest(quote)`.
- `instruments`: AAPL (fractionable), F (whole shares) and BTC/USD (crypto) on the paper
  venue (`simulated`), and IWM (whole shares) on the internal book, from `INSTRUMENTS_CSV`.
- `trading_kit`: a TradingKit with the default limits and fees of the settings; no venue is
  registered on it (`paper_venue` registers one; other venues register theirs).
- `customer`: a paper customer (onboarding's approved paper case, a paper trading account)
  with $100,000.00 of cash. `make_customer` makes more, live ones too.
- `paper_venue`: a running PaperVenue registered on the kit, stopped after the test;
  `await paper_venue.idle()` waits until it has worked everything handed to it, and
  `paper_venue.check_time()` makes it look at deadlines (move the clock first);
  `async with running(trading_kit, latency=...) as venue:` runs one with other settings.
- `ledger_view`: a customer's cash, shares and the fees revenue, as the ledger has them.

The clock is the `clock` fixture's ManualClock (2026-01-05 14:30 UTC: Monday, the open in
New York); quotes are stamped with its time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from finplat import ledger, marketdata, onboarding
from finplat.kernel import ManualClock, new_id
from finplat.marketdata import MarketDataKit, Quote
from finplat.marketdata.cache import MemoryMarketCache
from finplat.marketdata.feed import LiveFeed
from finplat.marketdata.hub import StreamHub
from finplat.marketdata.live import LiveBars
from finplat.onboarding.store import cases
from finplat.platform.db import UnitOfWork, UnitOfWorkFactory
from finplat.platform.settings import Settings
from finplat.trading import TradingKit, open_trading_account, service
from finplat.trading.booking import share_asset
from finplat.trading.setup import trading_policy
from finplat.trading.venues.simulated import PaperVenue

INSTRUMENTS_CSV = "\n".join(
    [
        "symbol,name,asset_class,exchange,currency,tick_size,lot_size,min_order_size,"
        "fractionable,shortable,easy_to_borrow,marginable,status,venue",
        "AAPL,Apple Inc.,us_equity,XNAS,USD,0.01,0.000000001,0.000000001,"
        "true,true,true,true,active,simulated",
        "F,Ford Motor Company,us_equity,XNYS,USD,0.01,1,1,false,true,true,true,active,simulated",
        "IWM,iShares Russell 2000 ETF,us_equity,ARCX,USD,0.01,1,1,"
        "false,true,true,true,active,internal",
        "BTC/USD,Bitcoin / US Dollar,crypto,CRYPTO,USD,0.01,0.000000001,0.0001,"
        "true,false,false,false,active,simulated",
    ]
)

USD = ledger.currency("USD")
STARTING_CASH = Decimal("100000.00")


class _NoProvider:
    """The feed's provider in tests: the tests are the market."""

    name = "test"

    async def bars(self, *_: object) -> list[marketdata.Bar]:
        return []

    def stream(self, symbols: object) -> Any:
        raise AssertionError("tests drive quotes through feed.ingest")


def _no_provider(_: object) -> Any:
    return _NoProvider()


@pytest.fixture
def marketdata_kit(uows: UnitOfWorkFactory, clock: ManualClock) -> MarketDataKit:
    kit = MarketDataKit(
        uows=uows,
        clock=clock,
        cache=MemoryMarketCache(),
        hub=StreamHub(),
        provider_factory=_no_provider,
        live=LiveBars({}),
    )
    kit.feed = LiveFeed(
        provider=_NoProvider(),
        symbols=[],
        cache=kit.cache,
        hub=kit.hub,
        live=kit.live,
        uows=uows,
        clock=clock,
    )
    return kit


@pytest.fixture
async def instruments(marketdata_kit: MarketDataKit) -> dict[str, marketdata.Instrument]:
    await marketdata.seed_instruments(marketdata_kit, INSTRUMENTS_CSV)
    async with marketdata_kit.uows(read_only=True) as uow:
        return {i.symbol: i for i in await marketdata.list_instruments(uow)}


@pytest.fixture
def trading_kit(
    uows: UnitOfWorkFactory,
    clock: ManualClock,
    marketdata_kit: MarketDataKit,
    instruments: dict[str, marketdata.Instrument],
) -> TradingKit:
    return TradingKit(
        uows=uows, clock=clock, marketdata=marketdata_kit, policy=trading_policy(Settings())
    )


@dataclass(frozen=True)
class Market:
    """Quotes by hand, through the live feed (stamped with the clock's time)."""

    kit: MarketDataKit
    clock: ManualClock

    async def quote(
        self,
        symbol: str,
        bid: str,
        ask: str,
        *,
        bid_size: str = "100",
        ask_size: str = "100",
    ) -> Quote:
        quote = Quote(
            symbol,
            Decimal(bid),
            Decimal(bid_size),
            Decimal(ask),
            Decimal(ask_size),
            self.clock.now(),
            provider="test",
        )
        assert self.kit.feed is not None
        await self.kit.feed.ingest(quote)
        return quote


@pytest.fixture
def market(marketdata_kit: MarketDataKit, clock: ManualClock) -> Market:
    return Market(marketdata_kit, clock)


@dataclass(frozen=True)
class Customer:
    id: uuid.UUID
    paper: bool


async def _approve_live_case(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """An approved KYC case written straight into onboarding's table: the KYC flow has its
    own tests (and `tests/support/kyc.approved_customer` drives it through the API)."""
    now = uow.clock.now()
    await uow.session.execute(
        insert(cases).values(
            id=new_id(),
            user_id=user_id,
            status=onboarding.CaseStatus.APPROVED.value,
            version=1,
            created_at=now,
            updated_at=now,
            submitted_at=now,
            decided_at=now,
        )
    )


async def fund(uow: UnitOfWork, user_id: uuid.UUID, amount: Decimal, *, book: str) -> None:
    """Cash from the book's omnibus bank account, settled at once (as a deposit settles)."""
    bank = await ledger.open_account(
        uow, kind=ledger.AccountKind.OMNIBUS_BANK, asset=USD, book=book
    )
    cash = await ledger.open_account(
        uow, kind=ledger.AccountKind.CUSTOMER_CASH, asset=USD, owner_id=user_id
    )
    await ledger.post_entry(
        uow,
        key=f"test-funding:{user_id}:{new_id()}",
        postings_=ledger.transfer(bank.id, cash.id, USD.code, int(amount.scaleb(USD.scale))),
        description="test funding",
    )


MakeCustomer = Callable[..., Awaitable[Customer]]


@pytest.fixture
def make_customer(trading_kit: TradingKit) -> MakeCustomer:
    async def make(*, cash: Decimal = STARTING_CASH, paper: bool = True) -> Customer:
        user_id = new_id()
        async with trading_kit.uows() as uow:
            if paper:
                await onboarding.approve_paper_case(uow, user_id)
            else:
                await _approve_live_case(uow, user_id)
            account = await open_trading_account(uow, user_id, paper=paper)
            if cash:
                await fund(uow, user_id, cash, book=account.book)
        return Customer(user_id, paper)

    return make


@pytest.fixture
async def customer(make_customer: MakeCustomer) -> Customer:
    return await make_customer()


@asynccontextmanager
async def running(kit: TradingKit, **options: Any) -> AsyncIterator[PaperVenue]:
    """A paper venue (`options` as PaperVenue takes them) registered on `kit` and running
    until the block ends, its open orders resumed. Its time checks (deadlines, trailing
    marks) happen when the test calls `check_time()`, not on the wall clock's schedule."""
    options.setdefault("check_every", timedelta(days=1))
    venue = PaperVenue(kit, desk=service, **options)
    kit.venues[venue.name] = venue
    stop = asyncio.Event()
    task = asyncio.create_task(venue.run(stop))
    try:
        await venue.idle()
        yield venue
    finally:
        stop.set()
        await task


@pytest.fixture
async def paper_venue(trading_kit: TradingKit) -> AsyncIterator[PaperVenue]:
    async with running(trading_kit) as venue:
        yield venue


@dataclass(frozen=True)
class LedgerView:
    """Balances as the ledger has them, in dollars and shares (posted; `available` less
    holds)."""

    kit: TradingKit

    async def _account(
        self, kind: ledger.AccountKind, asset: Any, *, owner: uuid.UUID | None, book: str
    ) -> ledger.Account:
        async with self.kit.uows() as uow:
            return await ledger.open_account(uow, kind=kind, asset=asset, owner_id=owner, book=book)

    async def cash(self, user_id: uuid.UUID, *, available: bool = False) -> Decimal:
        account = await self._account(
            ledger.AccountKind.CUSTOMER_CASH, USD, owner=user_id, book="live"
        )
        return _amount(account, available=available)

    async def shares(self, user_id: uuid.UUID, symbol: str, *, available: bool = False) -> Decimal:
        asset = share_asset(symbol)
        account = await self._account(
            ledger.AccountKind.CUSTOMER_SECURITIES, asset, owner=user_id, book="live"
        )
        return _amount(account, available=available)

    async def fees(self, *, book: str = "paper") -> Decimal:
        account = await self._account(ledger.AccountKind.FEES_REVENUE, USD, owner=None, book=book)
        return _amount(account, available=False)


def _amount(account: ledger.Account, *, available: bool) -> Decimal:
    units = account.available if available else account.posted
    return Decimal(units).scaleb(-account.asset.scale)


@pytest.fixture
def ledger_view(trading_kit: TradingKit) -> LedgerView:
    return LedgerView(trading_kit)
