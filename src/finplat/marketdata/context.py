"""What market data's use cases and routes need, built once by the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from finplat.kernel import Clock
from finplat.marketdata.cache import MarketCache
from finplat.marketdata.domain import Instrument
from finplat.marketdata.feed import LiveFeed
from finplat.marketdata.hub import StreamHub
from finplat.marketdata.live import LiveBars
from finplat.marketdata.providers import MarketDataProvider
from finplat.platform.db import UnitOfWorkFactory


@dataclass(frozen=True)
class HistoryPolicy:
    """How much history the demo backfill creates (from the provider's `bars`)."""

    daily_days: int = 5 * 365
    minute_days: int = 14


@dataclass
class MarketDataKit:
    uows: UnitOfWorkFactory
    clock: Clock
    cache: MarketCache
    hub: StreamHub
    #: builds the configured provider (primary, with failover when a secondary is set) for
    #: the instruments loaded at start
    provider_factory: Callable[[Sequence[Instrument]], MarketDataProvider]
    history: HistoryPolicy = field(default_factory=HistoryPolicy)
    live: LiveBars = field(default_factory=lambda: LiveBars({}))
    feed: LiveFeed | None = None  # set in the process that runs the feed
    provider: MarketDataProvider | None = None

    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def mark_dead_soon(self, provider: str) -> None:
        """Mark `provider`'s cached quotes stale (from a synchronous failover callback)."""
        task = asyncio.get_running_loop().create_task(self.cache.mark_dead(provider))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Release the cache's connection and the provider's (an HTTP client for Alpaca)."""
        close = getattr(self.provider, "aclose", None)
        if close is not None:
            await close()
        await self.cache.aclose()

    def provider_for(self, instruments: Sequence[Instrument]) -> MarketDataProvider:
        if self.provider is None:
            self.provider = self.provider_factory(instruments)
        return self.provider
