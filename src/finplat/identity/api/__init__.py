"""Identity's HTTP surface: /auth (public flows), /me (the caller), /admin (staff)."""

from fastapi import APIRouter

from finplat.identity.api.admin import router as admin_router
from finplat.identity.api.auth import router as auth_router
from finplat.identity.api.me import router as me_router


def identity_routers() -> list[APIRouter]:
    return [auth_router, me_router, admin_router]


__all__ = ["identity_routers"]
