"""What a bus backend must do: publish envelopes in order, and feed subscribed consumers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from finplat.platform.bus.consumer import Consumer
from finplat.platform.bus.envelope import Envelope


class Publisher(Protocol):
    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Deliver `envelopes` in order; return only when the backend holds them durably."""


class BusBackend(Publisher, Protocol):
    name: str

    def subscribe(self, consumer: Consumer) -> None:
        """Register a consumer; call before `start`."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def healthy(self) -> bool:
        """True when the backend can accept events now (for the readiness probe)."""
