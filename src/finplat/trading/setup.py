"""Builds trading's kit from settings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from finplat.kernel import Clock
from finplat.marketdata import MarketDataKit
from finplat.platform.db import UnitOfWorkFactory
from finplat.platform.settings import Settings
from finplat.trading import service
from finplat.trading.context import TradingKit, TradingPolicy
from finplat.trading.domain.fees import FeeSchedule
from finplat.trading.domain.risk import RiskLimits
from finplat.trading.venues.internal import InternalVenue
from finplat.trading.venues.simulated import PaperVenue


def trading_policy(settings: Settings) -> TradingPolicy:
    return TradingPolicy(
        limits=RiskLimits(
            max_order_qty=settings.trading_max_order_qty,
            max_order_notional=settings.trading_max_order_notional,
            collar_percent=settings.trading_collar_percent,
            max_orders_per_minute=settings.trading_max_orders_per_minute,
        ),
        fees=FeeSchedule(
            commission_bps=settings.trading_commission_bps,
            sec_fee_rate=settings.trading_sec_fee_rate,
            taf_per_share=settings.trading_taf_per_share,
            taf_max=settings.trading_taf_max,
            crypto_bps=settings.trading_crypto_fee_bps,
        ),
        currency=settings.funding_currency,
        paper_slippage_bps=settings.paper_slippage_bps,
    )


def build_trading_kit(
    settings: Settings, uows: UnitOfWorkFactory, clock: Clock, marketdata: MarketDataKit
) -> TradingKit:
    """The kit; venues register themselves on it when the process that runs them starts."""
    return TradingKit(
        uows=uows, clock=clock, marketdata=marketdata, policy=trading_policy(settings)
    )


async def run_venues(kit: TradingKit, settings: Settings, stop: asyncio.Event) -> None:
    """Run the venues of this process until `stop`: the paper venue (fills against quotes)
    and the internal venue (the order books)."""
    paper = PaperVenue(
        kit,
        desk=service,
        latency=timedelta(milliseconds=settings.paper_latency_ms),
        slippage_bps=kit.policy.paper_slippage_bps,
    )
    internal = InternalVenue(kit)
    kit.venues[paper.name] = paper
    kit.venues[internal.name] = internal
    await asyncio.gather(paper.run(stop), internal.run(stop))
