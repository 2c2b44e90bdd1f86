"""Liveness (`/health`: the process answers) and readiness (`/ready`: its dependencies do)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from finplat.platform.http.access import public
from finplat.platform.http.problems import problem_response

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


async def _run(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("readiness check failed: %r", exc)
        return "failing"
    return "ok"


def health_router(version: str, checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"], dependencies=[public("probes for orchestrators")])

    @router.get("/health", response_model=Health, name="get_health")
    async def get_health() -> Health:
        """Liveness: the process is up and serving."""
        return Health(status="ok", version=version)

    @router.get(
        "/ready",
        response_model=Readiness,
        name="get_readiness",
        responses={503: {"description": "A dependency is failing", "model": Any}},
    )
    async def get_readiness() -> Readiness | JSONResponse:
        """Readiness: the database and the event bus answer."""
        names = list(checks)
        results = dict(
            zip(names, await asyncio.gather(*(_run(checks[n]) for n in names)), strict=True)
        )
        if all(result == "ok" for result in results.values()):
            return Readiness(status="ready", checks=results)
        return problem_response(
            503, "not_ready", "A dependency is failing.", extra={"checks": results}
        )

    return router
