"""Rate limits at the HTTP edge: a per-client-IP middleware and a helper for routes.

The client is the socket peer (`scope["client"]`), never `X-Forwarded-For`, which any client
can forge; behind a trusted proxy, have the ASGI server (uvicorn `--forwarded-allow-ips`)
rewrite the peer address instead. Wrap this middleware inside `RequestContextMiddleware`
where possible, so that a 429 carries the request id and shows in the access log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finplat.platform.http.problems import error_response
from finplat.platform.ratelimit import Decision, RateLimiter

log = logging.getLogger(__name__)

DEFAULT_EXEMPT_PREFIXES = ("/api/v1/health", "/api/v1/ready", "/metrics")
_SECOND = timedelta(seconds=1)


def retry_after_seconds(decision: Decision) -> int:
    """Whole seconds to wait, rounded up and at least 1 (the Retry-After header's unit)."""
    return max(1, -(-decision.retry_after // _SECOND))


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(retry_after_seconds(decision))
    return headers


class RateLimited(HTTPException):
    """A 429 raised from a route or dependency; the problem handler renders it."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        seconds = retry_after_seconds(decision)
        super().__init__(
            429,
            f"Too many requests; retry after {seconds} seconds.",
            headers=rate_limit_headers(decision),
        )


async def enforce(
    limiter: RateLimiter, key: str, *, limit: int, window: timedelta, cost: int = 1
) -> Decision:
    """Count a hit on `key`; raise `RateLimited` when it is over the limit."""
    decision = await limiter.hit(key, limit=limit, window=window, cost=cost)
    if not decision.allowed:
        raise RateLimited(decision)
    return decision


class RateLimitMiddleware:
    """Limits each client IP to `limit` requests per sliding `window`.

    Paths under one of `exempt_prefixes` (probes, metrics) are not counted. When the
    limiter itself fails (Redis down), requests pass if `fail_open`, else get a 503.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        limit: int,
        window: timedelta,
        exempt_prefixes: Sequence[str] = DEFAULT_EXEMPT_PREFIXES,
        key_prefix: str = "http:ip:",
        fail_open: bool = True,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.limit = limit
        self.window = window
        self.exempt_prefixes = tuple(exempt_prefixes)
        self.key_prefix = key_prefix
        self.fail_open = fail_open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = self.key_prefix + (str(client[0]) if client else "unknown")
        try:
            decision = await self.limiter.hit(key, limit=self.limit, window=self.window)
        except Exception:
            log.exception("rate limiter failed; %s", "allowing" if self.fail_open else "refusing")
            if self.fail_open:
                await self.app(scope, receive, send)
                return
            await error_response(scope, 503, "unavailable", "Rate limiting is unavailable.")(
                scope, receive, send
            )
            return
        headers = rate_limit_headers(decision)
        if not decision.allowed:
            response = error_response(
                scope,
                429,
                "rate_limited",
                f"Too many requests; retry after {headers['Retry-After']} seconds.",
                headers=headers,
            )
            await response(scope, receive, send)
            return
        extra = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _exempt(self, path: str) -> bool:
        """A prefix exempts itself and the paths below it, not siblings ("/metricsX")."""
        return any(
            path == prefix or path.startswith(prefix.rstrip("/") + "/")
            for prefix in self.exempt_prefixes
        )
