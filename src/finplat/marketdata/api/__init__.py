"""Market data's HTTP surfaces: the native routes and the stream (under /api/v1) and the
Alpaca-compatible data API (at the root, with Alpaca's error body)."""

from fastapi import APIRouter

from finplat.marketdata.api.alpaca_data import ALPACA_ERROR_FORMATS
from finplat.marketdata.api.alpaca_data import router as alpaca_data_router
from finplat.marketdata.api.native import router as native_router
from finplat.marketdata.api.stream import router as stream_router


def marketdata_routers() -> list[APIRouter]:
    """Routers served under /api/v1."""
    return [native_router, stream_router]


def marketdata_root_routers() -> list[APIRouter]:
    """Routers served at the root: Alpaca's /v2/stocks and /v1beta3/crypto paths."""
    return [alpaca_data_router]


__all__ = ["ALPACA_ERROR_FORMATS", "marketdata_root_routers", "marketdata_routers"]
