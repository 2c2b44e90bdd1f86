import json
import logging

import pytest

from finplat.platform.observability import JsonFormatter, redact, request_id_var


def format_record(message: str, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("finplat.test", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    result = json.loads(JsonFormatter().format(record))
    assert isinstance(result, dict)
    return result


def test_a_log_line_is_one_json_object_with_the_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        line = format_record("hello", account="a1")
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "hello"
    assert line["request_id"] == "req-42"
    assert line["account"] == "a1"
    assert line["level"] == "info"


@pytest.mark.parametrize(
    "key", ["password", "new_password", "access_token", "Authorization", "api_key", "secret", "ssn"]
)
def test_secret_fields_are_redacted(key: str) -> None:
    line = format_record("login", **{key: "hunter2"})
    assert line[key] == "[redacted]"


def test_redaction_reaches_nested_values() -> None:
    cleaned = redact({"user": {"email": "a@b.c", "password": "x"}, "items": [{"token": "t"}]})
    assert cleaned == {
        "user": {"email": "a@b.c", "password": "[redacted]"},
        "items": [{"token": "[redacted]"}],
    }
