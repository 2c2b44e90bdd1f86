from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from finplat.kernel import uuid7
from finplat.platform.bus.registry import InvalidEventPayload, UnknownEventType
from finplat.platform.bus.tables import inbox, outbox
from finplat.platform.db import UnitOfWork, UnitOfWorkFactory
from finplat.platform.db.uow import ReadOnlyViolation
from tests.support.events import WalletCredited


async def outbox_count(uows: UnitOfWorkFactory) -> int:
    async with uows(read_only=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(outbox)) or 0)


async def test_events_are_recorded_only_when_the_unit_of_work_commits(
    uows: UnitOfWorkFactory,
) -> None:
    committed: list[str] = []
    async with uows() as uow:
        await uow.publish(WalletCredited(wallet="w1", n=0, amount=Decimal("5.00")))
        uow.after_commit(lambda: committed.append("first"))

    with pytest.raises(RuntimeError, match="boom"):
        async with uows() as uow:
            await uow.publish(WalletCredited(wallet="w1", n=1, amount=Decimal("5.00")))
            uow.after_commit(lambda: committed.append("second"))
            raise RuntimeError("boom")

    assert await outbox_count(uows) == 1
    assert committed == ["first"]


async def test_the_outbox_row_carries_an_exact_payload(uows: UnitOfWorkFactory) -> None:
    async with uows() as uow:
        await uow.publish(WalletCredited(wallet="w9", n=3, amount=Decimal("0.10")))
    async with uows(read_only=True) as uow:
        row = (await uow.session.execute(select(outbox))).one()
    assert row.payload == {"wallet": "w9", "n": 3, "amount": "0.10"}
    assert row.topic == "testing"
    assert row.key == "w9"
    assert row.occurred_at.tzinfo is not None
    assert row.published_at is None


async def test_invalid_events_never_enter_the_outbox(uows: UnitOfWorkFactory) -> None:
    with pytest.raises(InvalidEventPayload, match="minimum"):
        async with uows() as uow:
            await uow.publish(WalletCredited(wallet="w1", n=-1, amount=Decimal("1")))

    class Unregistered(WalletCredited):
        event_type = "testing.unregistered"

    with pytest.raises(UnknownEventType):
        async with uows() as uow:
            await uow.publish(Unregistered(wallet="w1", n=1, amount=Decimal("1")))
    assert await outbox_count(uows) == 0


async def test_a_read_only_unit_of_work_cannot_publish(uows: UnitOfWorkFactory) -> None:
    with pytest.raises(ReadOnlyViolation):
        async with uows(read_only=True) as uow:
            await uow.publish(WalletCredited(wallet="w1", n=1, amount=Decimal("1")))


@pytest.mark.parametrize("session_first", [True, False], ids=["session-first", "connection-first"])
async def test_the_session_and_the_connection_share_one_transaction(
    uows: UnitOfWorkFactory, session_first: bool
) -> None:
    async def work(uow: UnitOfWork, n: int) -> None:
        event = WalletCredited(wallet="w1", n=n, amount=Decimal("1.00"))
        row = {"consumer": "c", "event_id": uuid7(), "processed_at": uow.clock.now()}
        if session_first:
            await uow.session.execute(insert(inbox).values(row))
            await uow.publish(event)  # on the connection
        else:
            await uow.publish(event)
            await uow.session.execute(insert(inbox).values(row))

    with pytest.raises(RuntimeError, match="boom"):
        async with uows() as uow:
            await work(uow, 1)
            raise RuntimeError("boom")
    async with uows() as uow:
        await work(uow, 2)
    async with uows(read_only=True) as uow:
        inbox_rows = await uow.session.scalar(select(func.count()).select_from(inbox))
        events = (await (await uow.connection()).execute(select(outbox.c.payload))).scalars().all()
    assert inbox_rows == 1
    assert [event["n"] for event in events] == [2]
