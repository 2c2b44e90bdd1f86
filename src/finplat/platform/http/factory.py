"""Builds the FastAPI application shell: routes under /api/v1 (and compatibility surfaces at
the root), errors, middleware, docs."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from finplat.platform.http.metrics import HttpMetrics
from finplat.platform.http.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from finplat.platform.http.problems import (
    ERROR_FORMATS_STATE,
    ErrorFormatter,
    install_problem_handlers,
)

API_PREFIX = "/api/v1"
DOCS_PATH = f"{API_PREFIX}/docs"


@dataclass(frozen=True)
class HttpAppSpec:
    title: str
    version: str
    routers: Sequence[APIRouter]
    lifespan: Any = None
    cors_allow_origins: Sequence[str] = ()
    max_request_body_bytes: int = 1_048_576
    body_limit_overrides: dict[str, int] = field(default_factory=dict)
    metrics_enabled: bool = True
    hsts: bool = False
    description: str = ""
    extra_state: dict[str, Any] = field(default_factory=dict)
    #: (middleware class, options) run inside CORS and outside the body limit, e.g. rate limits
    middleware: Sequence[tuple[type[Any], dict[str, Any]]] = ()
    #: routers served at the root instead of under /api/v1: compatibility surfaces that must
    #: keep another API's paths (e.g. /v2/...)
    root_routers: Sequence[APIRouter] = ()
    #: (path prefix, formatter): errors under the prefix take the formatter's shape instead of
    #: problem+json
    error_formats: Sequence[tuple[str, ErrorFormatter]] = ()


def operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids: the route's name, which each route sets explicitly."""
    return route.name


def build_http_app(spec: HttpAppSpec) -> FastAPI:
    app = FastAPI(
        title=spec.title,
        version=spec.version,
        description=spec.description,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=spec.lifespan,
        generate_unique_id_function=operation_id,
    )
    for key, value in spec.extra_state.items():
        setattr(app.state, key, value)
    for router in spec.routers:
        app.include_router(router, prefix=API_PREFIX)
    for router in spec.root_routers:
        app.include_router(router)
    formats = sorted(spec.error_formats, key=lambda pair: len(pair[0]), reverse=True)
    setattr(app.state, ERROR_FORMATS_STATE, tuple(formats))
    install_problem_handlers(app)
    _install_docs(app)

    metrics = HttpMetrics() if spec.metrics_enabled else None
    if metrics is not None:
        app.state.metrics = metrics

        @app.get("/metrics", include_in_schema=False, name="get_metrics")
        async def get_metrics() -> Response:
            body, content_type = metrics.render()
            return Response(body, media_type=content_type)

    # add_middleware wraps: the last added runs first.
    app.add_middleware(
        BodySizeLimitMiddleware,
        limit=spec.max_request_body_bytes,
        overrides=spec.body_limit_overrides,
    )
    for middleware_class, options in reversed(spec.middleware):
        app.add_middleware(middleware_class, **options)
    if spec.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(spec.cors_allow_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(SecurityHeadersMiddleware, relaxed_prefixes=[DOCS_PATH], hsts=spec.hsts)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def _docs_assets() -> Path | None:
    """Swagger UI's files, from the `fastapi-offline` package, so the docs work offline."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


def _install_docs(app: FastAPI) -> None:
    assets = _docs_assets()
    if assets is None:
        return
    app.mount(f"{DOCS_PATH}/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False, name="get_api_docs")
    async def get_api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_PATH}/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_PATH}/assets/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_PATH}/assets/favicon.png",
        )
