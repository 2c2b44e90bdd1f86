"""Integration events onboarding publishes. Trading and funding gate on case approval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from finplat.kernel import IntegrationEvent
from finplat.kernel.events import object_schema

_UUID = {"type": "string", "format": "uuid"}
_RATING = {"enum": ["low", "medium", "high"]}


@dataclass(frozen=True, kw_only=True)
class CaseSubmitted(IntegrationEvent):
    event_type: ClassVar[str] = "onboarding.case_submitted"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {"case_id": _UUID, "user_id": _UUID, "case_version": {"type": "integer", "minimum": 1}}
    )
    case_id: str
    user_id: str
    case_version: int

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class CaseApproved(IntegrationEvent):
    event_type: ClassVar[str] = "onboarding.case_approved"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {"case_id": _UUID, "user_id": _UUID, "risk_rating": _RATING, "approved_by": _UUID}
    )
    case_id: str
    user_id: str
    risk_rating: str
    approved_by: str

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class CaseRejected(IntegrationEvent):
    event_type: ClassVar[str] = "onboarding.case_rejected"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {"case_id": _UUID, "user_id": _UUID, "rejected_by": _UUID}
    )
    case_id: str
    user_id: str
    rejected_by: str

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class ScreeningHitRaised(IntegrationEvent):
    event_type: ClassVar[str] = "onboarding.screening_hit"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "hit_id": _UUID,
            "user_id": _UUID,
            "source": {"type": "string"},
            "entry_id": {"type": "string"},
            "score": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
        }
    )
    hit_id: str
    user_id: str
    source: str
    entry_id: str
    score: str

    @property
    def key(self) -> str:
        return self.user_id


@dataclass(frozen=True, kw_only=True)
class RiskRatingChanged(IntegrationEvent):
    event_type: ClassVar[str] = "onboarding.risk_rating_changed"
    payload_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "user_id": _UUID,
            "previous": {"enum": ["low", "medium", "high", None]},
            "current": _RATING,
        }
    )
    user_id: str
    previous: str | None
    current: str

    @property
    def key(self) -> str:
        return self.user_id


ONBOARDING_EVENTS: tuple[type[IntegrationEvent], ...] = (
    CaseSubmitted,
    CaseApproved,
    CaseRejected,
    ScreeningHitRaised,
    RiskRatingChanged,
)
