import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

import pytest
from jsonschema import Draft202012Validator

from finplat.kernel import Amount, Asset, IntegrationEvent, to_json_value, uuid7
from finplat.platform.bus import Envelope, EventRegistry, MalformedEnvelope
from finplat.platform.bus.envelope import envelope_validator, load_schema
from tests.support.events import WalletCredited


def sample_envelope() -> Envelope:
    moment = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    return Envelope(
        id=uuid7(),
        type="testing.wallet_credited",
        version=1,
        topic="testing",
        key="w1",
        occurred_at=moment,
        recorded_at=moment,
        payload={"wallet": "w1", "n": 1, "amount": "2.50"},
    )


def test_the_envelope_schema_is_valid_json_schema() -> None:
    Draft202012Validator.check_schema(load_schema("envelope.v1.schema.json"))


def test_an_envelope_round_trips_through_bytes() -> None:
    envelope = sample_envelope()
    raw = envelope.to_bytes()
    assert not list(envelope_validator().iter_errors(json.loads(raw)))
    assert Envelope.from_bytes(raw) == envelope


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("key"), "'key' is a required property"),
        (lambda d: d.update(extra=1), "Additional properties"),
        (lambda d: d.update(version=0), "less than the minimum"),
        (lambda d: d.update(type="NoDomain"), "does not match"),
        (lambda d: d.update(id="not-a-uuid"), "is not a 'uuid'"),
    ],
)
def test_malformed_envelopes_are_refused(mutate: Any, message: str) -> None:
    data = sample_envelope().to_dict()
    mutate(data)
    with pytest.raises(MalformedEnvelope, match=message):
        Envelope.from_dict(data)


def test_floats_on_the_wire_are_refused() -> None:
    data = sample_envelope().to_dict()
    data["payload"]["amount"] = 2.5
    with pytest.raises(MalformedEnvelope, match="float"):
        Envelope.from_bytes(json.dumps(data).encode())
    with pytest.raises(MalformedEnvelope, match="not JSON"):
        Envelope.from_bytes(b"\xff")


class Side(Enum):
    BUY = "buy"


def test_domain_values_convert_to_json_without_floats() -> None:
    value = {
        "amount": Amount(Asset("USD", 2), 1050),
        "price": Decimal("101.2500"),
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "day": date(2026, 1, 2),
        "id": uuid.UUID(int=1),
        "side": Side.BUY,
        "tags": ("a", "b"),
    }
    assert to_json_value(value) == {
        "amount": {"asset": "USD", "value": "10.50"},
        "price": "101.2500",
        "at": "2026-01-01T00:00:00+00:00",
        "day": "2026-01-02",
        "id": "00000000-0000-0000-0000-000000000001",
        "side": "buy",
        "tags": ["a", "b"],
    }
    with pytest.raises(TypeError, match="float"):
        to_json_value({"x": 1.5})
    with pytest.raises(ValueError, match="naive"):
        to_json_value(datetime(2026, 1, 1))  # noqa: DTZ001


def test_the_registry_refuses_bad_schemas_and_duplicates() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Broken(IntegrationEvent):
        event_type: ClassVar[str] = "testing.broken"
        payload_schema: ClassVar[dict[str, Any]] = {"type": "no-such-type"}

    with pytest.raises(Exception, match="no-such-type"):
        EventRegistry([Broken])

    @dataclass(frozen=True, kw_only=True)
    class Twin(WalletCredited):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        EventRegistry([WalletCredited, Twin])
