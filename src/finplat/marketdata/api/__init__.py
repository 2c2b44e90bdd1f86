"""Market data's HTTP surfaces: the native routes (under /api/v1)."""

from fastapi import APIRouter

from finplat.marketdata.api.native import router as native_router


def marketdata_routers() -> list[APIRouter]:
    """Routers served under /api/v1."""
    return [native_router]
