"""HTTP kit: app factory, problem+json errors, middleware, strict request models."""

from finplat.platform.http.factory import HttpAppSpec, build_http_app
from finplat.platform.http.models import DecimalString, StrictModel
from finplat.platform.http.problems import PROBLEM_JSON, problem_response

__all__ = [
    "PROBLEM_JSON",
    "DecimalString",
    "HttpAppSpec",
    "StrictModel",
    "build_http_app",
    "problem_response",
]
