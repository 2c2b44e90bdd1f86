"""Helpers for bus tests: a recording consumer and publishing helpers."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from finplat.platform.bus import Consumer, Envelope, Subscription
from finplat.platform.db import UnitOfWork, UnitOfWorkFactory
from tests.support.events import WalletCredited


class Applied:
    """What a consumer has applied, recorded only after its transaction committed."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.failures_left: dict[str, int] = {}

    def by_key(self) -> dict[str, list[int]]:
        result: dict[str, list[int]] = defaultdict(list)
        for envelope in self.events:
            n = envelope.payload["n"]
            assert isinstance(n, int)
            result[envelope.key].append(n)
        return dict(result)

    def ids(self) -> list[str]:
        return [str(e.id) for e in self.events]


def recording_consumer(
    name: str, uows: UnitOfWorkFactory, applied: Applied, *, max_attempts: int = 3
) -> Consumer:
    async def on_credit(uow: UnitOfWork, envelope: Envelope) -> None:
        remaining = applied.failures_left.get(str(envelope.payload["n"]), 0)
        if remaining:
            applied.failures_left[str(envelope.payload["n"])] = remaining - 1
            raise RuntimeError("handler failure injected by the test")
        uow.after_commit(lambda: applied.events.append(envelope))

    subscription = Subscription(name, {WalletCredited.event_type: on_credit})
    return Consumer(subscription, uows, max_attempts=max_attempts, first_backoff_seconds=0.001)


async def publish_credits(uows: UnitOfWorkFactory, keys: list[str], per_key: int) -> None:
    """Record per_key events for each key, interleaved, one transaction each."""
    for n in range(per_key):
        for key in keys:
            async with uows() as uow:
                await uow.publish(WalletCredited(wallet=key, n=n, amount=Decimal("1.25")))
