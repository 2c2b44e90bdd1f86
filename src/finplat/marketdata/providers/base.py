"""The interface every market data provider implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

from finplat.marketdata.domain import Bar, Tick, Timeframe


class FeedStopped(RuntimeError):
    """A live feed ended or lost its connection; a failover feed switches on it."""


class MarketDataProvider(Protocol):
    """Live quotes and trades, and historical bars."""

    @property
    def name(self) -> str: ...

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        """Quotes and trades for `symbols` as they happen, in time order per symbol. The
        iterator ends, or raises FeedStopped, when the feed stops."""
        ...

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        """Bars with `start <= bar.start < end`, oldest first."""
        ...
