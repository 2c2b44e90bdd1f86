"""marketdata domain: instruments, calendars, providers (simulated, replay, Alpaca),
quotes, trades and bars, and their streaming.

This package is its public face: other domains import only from here. Trading reads
instruments, the latest quote and the calendar; portfolio reads bars and quotes.
"""

from finplat.marketdata.api import (
    ALPACA_ERROR_FORMATS,
    marketdata_root_routers,
    marketdata_routers,
)
from finplat.marketdata.bars import latest_bars, read_bars
from finplat.marketdata.bridge import RedisTickBridge
from finplat.marketdata.calendars import TradingCalendar, calendar_for
from finplat.marketdata.context import HistoryPolicy, MarketDataKit
from finplat.marketdata.domain import (
    AssetClass,
    Bar,
    Instrument,
    InstrumentStatus,
    MarketClock,
    Quote,
    Timeframe,
    Trade,
    Venue,
)
from finplat.marketdata.instruments import find_instrument, get_instrument, list_instruments
from finplat.marketdata.service import (
    BackfillSummary,
    backfill,
    backfill_active,
    seed_instruments,
    snapshot,
    start_feed,
)
from finplat.marketdata.setup import ProviderNotConfigured, build_marketdata_kit

__all__ = [
    "ALPACA_ERROR_FORMATS",
    "AssetClass",
    "BackfillSummary",
    "Bar",
    "HistoryPolicy",
    "Instrument",
    "InstrumentStatus",
    "MarketClock",
    "MarketDataKit",
    "ProviderNotConfigured",
    "Quote",
    "RedisTickBridge",
    "Timeframe",
    "Trade",
    "TradingCalendar",
    "Venue",
    "backfill",
    "backfill_active",
    "build_marketdata_kit",
    "calendar_for",
    "find_instrument",
    "get_instrument",
    "latest_bars",
    "list_instruments",
    "marketdata_root_routers",
    "marketdata_routers",
    "read_bars",
    "seed_instruments",
    "snapshot",
    "start_feed",
]
