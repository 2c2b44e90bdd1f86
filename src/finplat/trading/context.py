"""What trading's use cases need, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from finplat import ledger
from finplat.kernel import Clock
from finplat.marketdata import MarketDataKit
from finplat.platform.db import UnitOfWorkFactory
from finplat.trading.domain.fees import FeeSchedule
from finplat.trading.domain.risk import RiskLimits
from finplat.trading.updates import TradeUpdates
from finplat.trading.venue import Venue


@dataclass(frozen=True)
class TradingPolicy:
    limits: RiskLimits
    fees: FeeSchedule
    currency: str = "USD"
    paper_slippage_bps: Decimal = Decimal(0)


@dataclass
class TradingKit:
    uows: UnitOfWorkFactory
    clock: Clock
    marketdata: MarketDataKit
    policy: TradingPolicy
    updates: TradeUpdates = field(default_factory=TradeUpdates)
    venues: dict[str, Venue] = field(default_factory=dict)
    #: platform account ids by (kind, asset, book), see `booking.books_for`
    platform_accounts: dict[tuple[str, str, str], ledger.Account] = field(default_factory=dict)

    def venue(self, name: str) -> Venue:
        try:
            return self.venues[name]
        except KeyError:
            raise LookupError(f"venue {name!r} is not running in this process") from None
