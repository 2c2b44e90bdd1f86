"""Structured logs with request ids, and Prometheus metrics."""

from finplat.platform.observability.context import current_request_id, request_id_var
from finplat.platform.observability.logging import JsonFormatter, configure_logging, redact

__all__ = ["JsonFormatter", "configure_logging", "current_request_id", "redact", "request_id_var"]
