"""Pure ASGI middleware: request context and access log, security headers, body size limit."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finplat.kernel import uuid7
from finplat.platform.http.metrics import HttpMetrics
from finplat.platform.http.problems import error_response
from finplat.platform.observability import request_id_var

access_log = logging.getLogger("finplat.access")
log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template with any router prefix, e.g. /api/v1/orders/{id}."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    path_regex = getattr(route, "path_regex", None)
    if not template or path_regex is None:
        return "unmatched"
    path = str(scope.get("path", ""))
    for cut in (i for i, char in enumerate(path) if char == "/"):
        if path_regex.fullmatch(path[cut:]):
            return path[:cut] + str(template)
    return str(template)


class RequestContextMiddleware:
    """Assigns the request id, times the request, logs it, and turns crashes into a 500.

    The crash guard lives here, inside the request-id scope, so that even a 500 carries the
    request id that the log line has.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else str(uuid7())
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if response_started:
                raise
            response = error_response(
                scope,
                500,
                "internal_error",
                "The server failed to handle this request; quote the request id when reporting it.",
            )
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            if self.metrics is not None:
                self.metrics.observe(scope.get("method", ""), template, status, elapsed)
            access_log.info(
                "%s %s %d",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            request_id_var.reset(token)


class SecurityHeadersMiddleware:
    """Adds the headers every response should carry; pages under `relaxed_prefixes` (the
    API docs) may run the documentation UI's own scripts and styles."""

    STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"
    DOCS_CSP = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'"
    )

    def __init__(
        self, app: ASGIApp, relaxed_prefixes: Sequence[str] = (), hsts: bool = False
    ) -> None:
        self.app = app
        self.relaxed_prefixes = tuple(relaxed_prefixes)
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        relaxed = str(scope.get("path", "")).startswith(self.relaxed_prefixes)
        csp = self.DOCS_CSP if relaxed else self.STRICT_CSP
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            (b"content-security-policy", csp.encode()),
        ]
        if self.hsts:
            extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(header for header in extra if header[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


class BodySizeLimitMiddleware:
    """Refuses request bodies over `limit` bytes, declared or streamed; paths starting with a
    prefix in `overrides` (uploads) have their own limit."""

    def __init__(self, app: ASGIApp, limit: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_limit = limit
        self.overrides = sorted((overrides or {}).items(), key=lambda item: -len(item[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next(
            (size for prefix, size in self.overrides if path.startswith(prefix)), self.default_limit
        )
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(scope, 400, "bad_request", "Invalid Content-Length.")(
                    scope, receive, send
                )
                return
            if int(declared) > limit:
                await error_response(
                    scope, 413, "payload_too_large", f"The request body exceeds {limit} bytes."
                )(scope, receive, send)
                return
        await self.app(scope, _counting(receive, limit), send)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
