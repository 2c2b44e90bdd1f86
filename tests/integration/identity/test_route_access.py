"""Every route declares who may call it; the documented permission matrix is the code's."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, FastAPI

from finplat.app import create_app
from finplat.identity import ROLE_PERMISSIONS, Permission, Role
from finplat.platform.http.access import RouteInfo, iter_routes, public
from tests.support.identity import identity_settings

DOCS = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"
UNDECLARED_OK = {"/api/v1/openapi.json", "/api/v1/docs", "/metrics"}  # framework pages


def all_routes(tmp_path: Path) -> list[RouteInfo]:
    app = create_app(identity_settings("sqlite+aiosqlite:///:memory:", tmp_path))
    return list(iter_routes(app.routes))


def test_every_route_declares_a_permission_or_is_public(tmp_path: Path) -> None:
    routes = all_routes(tmp_path)
    assert len(routes) > 20
    undeclared = [
        f"{sorted(route.methods)} {route.path}"
        for route in routes
        if route.path not in UNDECLARED_OK and not route.access
    ]
    assert undeclared == []


def test_the_walk_sees_router_level_declarations_and_catches_missing_ones() -> None:
    inner = APIRouter()

    @inner.get("/sneaky", name="sneaky")
    async def sneaky() -> dict[str, str]:
        return {}

    guarded = APIRouter(dependencies=[public("test")])
    guarded.include_router(inner)
    app = FastAPI()
    app.include_router(inner, prefix="/open")
    app.include_router(guarded, prefix="/guarded")
    found = {route.path: route.access for route in iter_routes(app.routes)}
    assert found["/open/sneaky"] == ()
    assert found["/guarded/sneaky"] == ("public: test",)


def test_staff_routes_are_not_public(tmp_path: Path) -> None:
    staff = [route for route in all_routes(tmp_path) if route.path.startswith("/api/v1/admin")]
    assert staff
    for route in staff:
        assert route.access
        assert all(label.startswith("permission:") for label in route.access)
        assert all("+mfa" in label for label in route.access)


def test_the_permission_matrix_in_the_docs_matches_the_code() -> None:
    text = DOCS.read_text().split("## API key scopes")[0]
    rows = re.findall(r"^\| `([a-z_:]+)` \|(.+)\|$", text, flags=re.MULTILINE)
    documented = {
        Permission(name): {
            role for role, cell in zip(Role, cells.split("|"), strict=True) if "✓" in cell
        }
        for name, cells in rows
    }
    actual = {
        permission: {role for role in Role if permission in ROLE_PERMISSIONS[role]}
        for permission in Permission
    }
    assert documented == actual
