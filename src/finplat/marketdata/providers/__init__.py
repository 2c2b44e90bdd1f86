"""Market data providers behind one interface: simulated (embedded default), replay, alpaca."""

from finplat.marketdata.providers.base import FeedStopped, MarketDataProvider

__all__ = ["FeedStopped", "MarketDataProvider"]
