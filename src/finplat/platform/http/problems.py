"""RFC 9457 problem+json for every error, each with a stable `code`.

Clients branch on `code`; `title` and `detail` are for people. A 500 says only that something
failed and which request it was: internals go to the log, not to the caller.

A compatibility surface that must answer in another API's error shape registers an
`ErrorFormatter` for its path prefix (`HttpAppSpec.error_formats`); every handler here, and
the rate-limit middleware, render errors under that prefix with it instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from finplat.kernel import errors
from finplat.platform.observability import current_request_id

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Renders an error as (status, stable code, message for people) -> response. The caller adds
#: the headers the error needs (Retry-After, WWW-Authenticate) to whatever it returns.
ErrorFormatter = Callable[[int, str, str], Response]
#: The `app.state` attribute holding the (path prefix, formatter) pairs, longest prefix first.
ERROR_FORMATS_STATE = "error_formats"

DOMAIN_STATUS: Sequence[tuple[type[errors.DomainError], int]] = (
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.BusinessRuleViolation, 422),
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.Unavailable, 503),
)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def problem_response(
    status: int,
    code: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:finplat:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class ProblemException(Exception):
    """Raise from a route to answer with a specific problem (status, code, headers)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extra = extra


def _under(path: str, prefix: str) -> bool:
    """A prefix covers itself and the paths below it, not siblings ("/v2" but not "/v2x")."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def formatter_for(scope: Scope) -> ErrorFormatter | None:
    """The formatter registered for the request's path, if any (the longest prefix wins)."""
    app = scope.get("app")
    formats: Sequence[tuple[str, ErrorFormatter]] = getattr(
        getattr(app, "state", None), ERROR_FORMATS_STATE, ()
    )
    path = str(scope.get("path", ""))
    return next((render for prefix, render in formats if _under(path, prefix)), None)


def error_response(
    scope: Scope,
    status: int,
    code: str,
    detail: str | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error for this request: in the shape registered for its path, else problem+json."""
    render = formatter_for(scope)
    if render is None:
        return problem_response(
            status, code, detail, instance=scope.get("path"), extra=extra, headers=headers
        )
    response = render(status, code, detail or HTTPStatus(status).phrase)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def status_for(error: errors.DomainError) -> int:
    for kind, status in DOMAIN_STATUS:
        if isinstance(error, kind):
            return status
    return 422


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        return parts[0] + ("." + ".".join(parts[1:]) if parts[1:] else "")
    return ".".join(parts)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    problems = exc.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(
            request.scope, 400, "malformed_json", "The request body is not valid JSON."
        )
    # The offending input is not echoed: it may be a password or a tax id.
    details = [
        {"field": _location(p.get("loc", ())), "message": p.get("msg", ""), "type": p.get("type")}
        for p in problems
    ]
    return error_response(
        request.scope,
        422,
        "validation_error",
        "The request has invalid or unknown fields.",
        extra={"errors": details},
    )


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return error_response(request.scope, exc.status_code, code, detail, headers=exc.headers)


async def _on_domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)  # noqa: S101
    extra = {"details": dict(exc.details)} if exc.details else None
    status = status_for(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="finplat"'} if status == 401 else None
    return error_response(
        request.scope, status, exc.code, exc.message, extra=extra, headers=headers
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemException)  # noqa: S101
    return error_response(
        request.scope, exc.status, exc.code, exc.detail, extra=exc.extra, headers=exc.headers
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request.scope,
        500,
        "internal_error",
        "The server failed to handle this request; quote the request id when reporting it.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(errors.DomainError, _on_domain)
    app.add_exception_handler(ProblemException, _on_problem)
    app.add_exception_handler(Exception, _on_unexpected)
