"""A quick yes for event payloads that are plainly valid.

jsonschema takes about 60 µs to validate a small payload, nearly all of it in its general
machinery, and a posting records one event per transfer. `compile_check` turns a payload
schema that uses only the keywords below into a plain function that answers True only when
jsonschema would accept the payload too. False means "not sure": the caller then asks
jsonschema, which also words the errors. A schema with any other keyword gets no quick check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import FormatChecker

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated"}
)

# exact Python types only: whatever else jsonschema might accept (1.0 as an integer, a str
# subclass) is left to jsonschema
_TYPES: dict[str, Check] = {
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
}


# the Python types of plain JSON values, and those of the types keywords like minLength apply to
_PLAIN: frozenset[type] = frozenset({type(None), bool, int, float, str, list, dict})
_EXACT: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "number": frozenset({int, float}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}


class _Unsupported(Exception):
    pass


def compile_check(schema: Mapping[str, Any], formats: FormatChecker | None) -> Check | None:
    """A quick check for `schema`, or None when it uses a keyword this module does not know."""
    try:
        return _compile(schema, formats)
    except _Unsupported:
        return None


def _compile(schema: Any, formats: FormatChecker | None) -> Check:
    if not isinstance(schema, Mapping) or not schema.keys() <= _KEYWORDS.keys() | _ANNOTATIONS:
        raise _Unsupported
    checks = tuple(
        check
        for keyword, value in schema.items()
        if keyword in _KEYWORDS
        and (check := _KEYWORDS[keyword](value, schema, formats)) is not None
    )
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


def _type(value: Any, _schema: Any, _formats: Any) -> Check:
    names = [value] if isinstance(value, str) else list(value)
    if not all(name in _TYPES for name in names):
        raise _Unsupported
    tests = tuple(_TYPES[name] for name in names)
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _applying(kind: str, test: Check) -> Check:
    """Run `test` on values of the JSON type `kind`; like jsonschema, the keyword does not
    apply to other plain JSON values. Anything else (a tuple, a str subclass) is unsure."""
    own = _EXACT[kind]

    def check(v: Any) -> bool:
        if type(v) in own:
            return test(v)
        return type(v) in _PLAIN

    return check


def _properties(value: Any, _schema: Any, formats: FormatChecker | None) -> Check:
    props = tuple((name, _compile(sub, formats)) for name, sub in value.items())

    return _applying("object", lambda v: all(check(v[name]) for name, check in props if name in v))


def _required(value: Any, _schema: Any, _formats: Any) -> Check:
    names = frozenset(value)
    return _applying("object", lambda v: names <= v.keys())


def _additional_properties(value: Any, schema: Any, _formats: Any) -> Check | None:
    if value is True:
        return None
    if value is not False:
        raise _Unsupported
    allowed = frozenset(schema.get("properties", ()))
    return _applying("object", lambda v: v.keys() <= allowed)


def _items(value: Any, _schema: Any, formats: FormatChecker | None) -> Check:
    item = _compile(value, formats)
    return _applying("array", lambda v: all(item(x) for x in v))


def _bound(kind: str, test: Callable[[Any, Any], bool]) -> Callable[[Any, Any, Any], Check]:
    def compile_(value: Any, _schema: Any, _formats: Any) -> Check:
        return _applying(kind, lambda v: test(v, value))

    return compile_


def _pattern(value: Any, _schema: Any, _formats: Any) -> Check:
    search = re.compile(value).search
    return _applying("string", lambda v: search(v) is not None)


def _format(value: Any, _schema: Any, formats: FormatChecker | None) -> Check | None:
    if formats is None:
        return None  # an annotation only
    return lambda v: formats.conforms(v, value)


def _enum(value: Any, _schema: Any, _formats: Any) -> Check:
    if not all(option is None or type(option) is str for option in value):
        raise _Unsupported  # jsonschema's equality has rules of its own for other values
    options = frozenset(value)
    return lambda v: (v is None or type(v) is str) and v in options


_KEYWORDS: dict[str, Callable[[Any, Any, Any], Check | None]] = {
    "type": _type,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional_properties,
    "items": _items,
    "minItems": _bound("array", lambda v, n: len(v) >= n),
    "maxItems": _bound("array", lambda v, n: len(v) <= n),
    "minLength": _bound("string", lambda v, n: len(v) >= n),
    "maxLength": _bound("string", lambda v, n: len(v) <= n),
    "minimum": _bound("number", lambda v, n: v >= n),
    "maximum": _bound("number", lambda v, n: v <= n),
    "pattern": _pattern,
    "format": _format,
    "enum": _enum,
}
