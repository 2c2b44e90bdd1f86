"""The quick payload check says yes only where jsonschema says yes, for every event schema."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from finplat.platform.bus.fastcheck import compile_check
from tests.support.events import events_registry

SCHEMAS = events_registry().schemas()

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False)
    | st.integers(-3, 3).map(float)  # jsonschema takes 1.0 for an integer
    | st.text(max_size=8)
    | st.uuids().map(str),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if schema.get("format") == "uuid":
        return st.uuids().map(str) | st.uuids().map(lambda u: u.hex) | st.just("not-a-uuid")
    if "pattern" in schema:
        return st.from_regex(schema["pattern"]) | st.text(max_size=4)
    return st.text(max_size=schema.get("maxLength", 16) + 2)


def _of_type(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if name == "object":
        return _object(schema)
    if name == "array":
        low = schema.get("minItems", 0)
        return st.lists(near(schema.get("items", {})), min_size=max(low - 1, 0), max_size=low + 2)
    if name == "string":
        return _string(schema)
    if name == "integer":
        low = schema.get("minimum", -5)
        return st.integers(low - 2, low + 10)
    if name == "boolean":
        return st.booleans()
    return st.none()


def _object(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {name: near(sub) for name, sub in props.items() if name in required},
        optional={
            **{name: near(sub) for name, sub in props.items() if name not in required},
            "unexpected": JSON,
        },
    )


def strict(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the exact types `schema` names: mostly valid, sometimes off in one detail."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.just("other")
    kind = schema.get("type", "string")
    names = [kind] if isinstance(kind, str) else kind
    return st.one_of(*(_of_type(name, schema) for name in names))


def near(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Like `strict`, with any part replaced by arbitrary JSON now and then."""
    return strict(schema) | JSON


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_quick_check_accepts_only_what_jsonschema_accepts(name: str, data: Any) -> None:
    schema = SCHEMAS[name]
    quick = compile_check(schema, FormatChecker())
    if quick is None:
        pytest.skip("a keyword the quick check does not know: jsonschema alone validates")
    full = Draft202012Validator(schema, format_checker=FormatChecker())
    payload = data.draw(near(schema))
    if quick(payload):
        assert full.is_valid(payload), payload
    exact = data.draw(strict(schema))
    assert quick(exact) == full.is_valid(exact), exact


def test_schemas_with_other_keywords_get_no_quick_check() -> None:
    assert compile_check({"type": "object", "anyOf": [{}]}, FormatChecker()) is None
    assert compile_check({"enum": [1, True]}, FormatChecker()) is None
    assert compile_check({"type": "array", "prefixItems": [{}]}, FormatChecker()) is None


def test_a_transfer_payload_takes_the_quick_path() -> None:
    quick = compile_check(SCHEMAS["ledger.transfer_posted/v1"], FormatChecker())
    assert quick is not None
    account = str(uuid.uuid4())
    posting = {"account_id": account, "asset": "USD", "amount_minor": 5}
    payload = {"entry_id": account, "kind": "entry", "postings": [posting, posting]}
    assert quick(payload)
    assert not quick({**payload, "postings": [posting]})  # minItems
    assert not quick({**payload, "entry_id": account[:-1]})  # format
    assert not quick({**payload, "postings": [posting, {**posting, "amount_minor": True}]})
