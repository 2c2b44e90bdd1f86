"""Trading's HTTP surfaces.

- Under /api/v1 (`trading_routers`): the native routes (`native.py`).
- At the root (`trading_root_routers`): Alpaca's Trading API v2 (`alpaca_router`, paths
  /v2/...) and its `trade_updates` WebSocket (`trade_updates_router`, path /stream). Errors
  under /v2 take Alpaca's shape through marketdata's `ALPACA_ERROR_FORMATS`.
"""

from fastapi import APIRouter

from finplat.trading.api.alpaca import alpaca_router
from finplat.trading.api.alpaca_stream import router as trade_updates_router
from finplat.trading.api.native import router as native_router


def trading_routers() -> list[APIRouter]:
    """Routers served under /api/v1."""
    return [native_router]


def trading_root_routers() -> list[APIRouter]:
    """Routers served at the root: Alpaca's /v2 trading paths and the /stream WebSocket."""
    return [alpaca_router, trade_updates_router]


__all__ = ["alpaca_router", "trade_updates_router", "trading_root_routers", "trading_routers"]
