"""Integration events the ledger publishes. Amounts travel as decimal strings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from finplat.kernel import IntegrationEvent
from finplat.kernel.events import object_schema

_UUID = {"type": "string", "format": "uuid"}
_AMOUNT = {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}


@dataclass(frozen=True, kw_only=True)
class TransferPosted(IntegrationEvent):
    """A journal entry was booked (a transfer, a fill, a deposit, a settled hold)."""

    event_type: ClassVar[str] = "ledger.transfer_posted"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "entry_id": _UUID,
            "kind": {"type": "string"},
            "postings": {
                "type": "array",
                "minItems": 2,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["account_id", "asset", "amount_minor"],
                    "properties": {
                        "account_id": _UUID,
                        "asset": {"type": "string"},
                        "amount_minor": {"type": "integer"},
                    },
                },
            },
        }
    )
    entry_id: str
    kind: str
    postings: tuple[dict[str, Any], ...]
    first_account: str

    @property
    def key(self) -> str:
        return self.first_account

    def payload(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "kind": self.kind, "postings": list(self.postings)}


def _funding_schema() -> dict[str, Any]:
    return object_schema(
        {"funding_id": _UUID, "user_id": _UUID, "asset": {"type": "string"}, "amount": _AMOUNT}
    )


@dataclass(frozen=True, kw_only=True)
class _FundingEvent(IntegrationEvent):
    payload_schema: ClassVar[dict[str, Any]] = _funding_schema()
    funding_id: str
    user_id: str
    asset: str
    amount: str

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class DepositSettled(_FundingEvent):
    event_type: ClassVar[str] = "ledger.deposit_settled"


@dataclass(frozen=True, kw_only=True)
class DepositReturned(_FundingEvent):
    event_type: ClassVar[str] = "ledger.deposit_returned"


@dataclass(frozen=True, kw_only=True)
class WithdrawalRequested(_FundingEvent):
    event_type: ClassVar[str] = "ledger.withdrawal_requested"


@dataclass(frozen=True, kw_only=True)
class WithdrawalApproved(_FundingEvent):
    event_type: ClassVar[str] = "ledger.withdrawal_approved"


@dataclass(frozen=True, kw_only=True)
class WithdrawalSettled(_FundingEvent):
    event_type: ClassVar[str] = "ledger.withdrawal_settled"


LEDGER_EVENTS: tuple[type[IntegrationEvent], ...] = (
    TransferPosted,
    DepositSettled,
    DepositReturned,
    WithdrawalRequested,
    WithdrawalApproved,
    WithdrawalSettled,
)
