"""Pure shared types used by every domain: amounts, ids, clocks, errors and events.

The kernel imports nothing else of finplat and no framework.
"""

from finplat.kernel.clock import Clock, ManualClock, SystemClock
from finplat.kernel.errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from finplat.kernel.events import IntegrationEvent, to_json_value
from finplat.kernel.ids import new_id, uuid7, uuid7_time
from finplat.kernel.money import Amount, Asset, InvalidAmount

__all__ = [
    "Amount",
    "Asset",
    "BusinessRuleViolation",
    "Clock",
    "Conflict",
    "DomainError",
    "IntegrationEvent",
    "InvalidAmount",
    "InvalidInput",
    "ManualClock",
    "NotFound",
    "PermissionDenied",
    "SystemClock",
    "Unauthenticated",
    "Unavailable",
    "new_id",
    "to_json_value",
    "uuid7",
    "uuid7_time",
]
