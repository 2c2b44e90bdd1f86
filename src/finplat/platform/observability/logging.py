"""JSON log lines on stderr: one object per line, with the request id, secrets redacted.

Redaction works on field names (password, token, secret, authorization, api key, cookie...)
anywhere in the structured extras, so `log.info("login", extra={"password": p})` logs
`"password": "[redacted]"`. Messages themselves are not rewritten: never format a secret
into a message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from finplat.platform.observability.context import current_request_id

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authorization|api[_-]?key|cookie|credential|"
    r"private[_-]?key|otp|totp|ssn|tax[_-]?id",
    re.IGNORECASE,
)
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "color_message"}
)


def redact(value: Any, *, depth: int = 0) -> Any:
    """A copy of `value` with the values of secret-looking keys replaced."""
    if depth > 8:
        return "[nested]"
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if _SECRET_NAME.search(str(key)) else redact(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, depth=depth + 1) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
        entry.update(redact(extras))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class ConsoleFormatter(logging.Formatter):
    """Readable lines for a developer's terminal; the same redaction applies."""

    def format(self, record: logging.LogRecord) -> str:
        extras = redact({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        request_id = current_request_id()
        tail = " ".join(f"{k}={v}" for k, v in extras.items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        if request_id:
            line += f" [{request_id}]"
        if tail:
            line += f" {tail}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (uvicorn's included) through one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # finplat writes its own access log
    quiet = max(logging.getLevelName(level), logging.WARNING)
    for noisy in ("aiokafka", "alembic"):
        logging.getLogger(noisy).setLevel(quiet)
