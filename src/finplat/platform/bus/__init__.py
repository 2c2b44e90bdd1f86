"""Integration events: transactional outbox, relay, idempotent inbox, pluggable backends."""

from finplat.platform.bus.backend import BusBackend, Publisher
from finplat.platform.bus.consumer import Consumer, Handler, Subscription
from finplat.platform.bus.envelope import Envelope, MalformedEnvelope
from finplat.platform.bus.memory import MemoryBus
from finplat.platform.bus.outbox import OutboxRecorder, OutboxRelay
from finplat.platform.bus.registry import EventRegistry, InvalidEventPayload, UnknownEventType

__all__ = [
    "BusBackend",
    "Consumer",
    "Envelope",
    "EventRegistry",
    "Handler",
    "InvalidEventPayload",
    "MalformedEnvelope",
    "MemoryBus",
    "OutboxRecorder",
    "OutboxRelay",
    "Publisher",
    "Subscription",
    "UnknownEventType",
]
