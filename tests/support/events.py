"""Events used by the bus tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from finplat.kernel import IntegrationEvent
from finplat.platform.bus import EventRegistry


@dataclass(frozen=True, kw_only=True)
class WalletCredited(IntegrationEvent):
    event_type: ClassVar[str] = "testing.wallet_credited"
    version: ClassVar[int] = 1
    payload_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["wallet", "n", "amount"],
        "properties": {
            "wallet": {"type": "string"},
            "n": {"type": "integer", "minimum": 0},
            "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
        },
    }

    wallet: str
    n: int
    amount: Decimal

    @property
    def key(self) -> str:
        return self.wallet


def events_registry() -> EventRegistry:
    """The test event plus every domain's events, as the application registers them."""
    from finplat.app import DOMAIN_EVENTS  # noqa: PLC0415 - the app imports every domain

    return EventRegistry([WalletCredited, *DOMAIN_EVENTS])
