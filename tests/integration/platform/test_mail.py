"""The mail outbox: transactional enqueue, encrypted bodies, relay retries, dev mailbox."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from finplat.kernel import ManualClock
from finplat.platform.crypto import DecryptionFailed, FieldCipher, KeyRing
from finplat.platform.db import Database, UnitOfWorkFactory
from finplat.platform.http import HttpAppSpec, build_http_app
from finplat.platform.mail import (
    BODY_CONTEXT,
    DevMailbox,
    MailOutbox,
    MailRelay,
    Message,
    mail_outbox,
    mailbox_router,
)

WAIT_SECONDS = 30.0


class RecordingTransport:
    """Accepts every message and remembers it."""

    def __init__(self) -> None:
        self.delivered: list[Message] = []

    async def deliver(self, message: Message) -> None:
        self.delivered.append(message)


class NotifyingTransport(RecordingTransport):
    """Sets `arrived` when a message is delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    async def deliver(self, message: Message) -> None:
        await super().deliver(message)
        self.arrived.set()


class FlakyTransport(RecordingTransport):
    """Refuses the first `failures` deliveries (or those to `refuse`), then accepts."""

    def __init__(self, failures: int = 0, refuse: str | None = None) -> None:
        super().__init__()
        self.failures_left = failures
        self.refuse = refuse
        self.calls = 0

    async def deliver(self, message: Message) -> None:
        self.calls += 1
        if self.failures_left > 0 or message.to == self.refuse:
            self.failures_left -= 1
            raise ConnectionRefusedError("smtp.example.test:25 refused the connection")
        await super().deliver(message)


class DyingTransport:
    """Stands for a process that is stopped while it delivers."""

    async def deliver(self, message: Message) -> None:
        raise asyncio.CancelledError


def confirmation(to: str = "alice@example.com", n: int = 0) -> Message:
    return Message(
        to=to,
        subject=f"Confirm your address ({n})",
        text=f"Open https://finplat.test/confirm?token=secret-{n}-4f9c to confirm.",
    )


async def enqueue(uows: UnitOfWorkFactory, outbox: MailOutbox, *messages: Message) -> None:
    async with uows() as uow:
        for message in messages:
            await outbox.enqueue(uow.session, message)


async def outbox_rows(database: Database) -> list[dict[str, object]]:
    async with database.session(read_only=True) as session, session.begin():
        rows = (await session.execute(select(mail_outbox).order_by(mail_outbox.c.seq))).all()
    return [dict(row._mapping) for row in rows]


async def test_only_mail_enqueued_by_a_committed_unit_of_work_is_sent(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    outbox = MailOutbox(protector, clock)
    async with uows() as uow:
        committed_id = await outbox.enqueue(uow.session, confirmation(n=1))
    with pytest.raises(RuntimeError, match="use case failed"):
        async with uows() as uow:
            await outbox.enqueue(uow.session, confirmation(n=2))
            raise RuntimeError("use case failed")

    transport = RecordingTransport()
    relay = MailRelay(database, transport, protector, clock)
    assert await relay.send_due() == 1
    assert await relay.send_due() == 0
    assert transport.delivered == [confirmation(n=1)]
    [row] = await outbox_rows(database)
    assert row["id"] == committed_id
    assert row["sent_at"] == clock.now()
    assert row["attempts"] == 0


async def test_the_body_is_stored_encrypted(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    message = confirmation(n=7)
    await enqueue(uows, MailOutbox(protector, clock), message)
    [row] = await outbox_rows(database)
    stored = row["body_encrypted"]
    assert isinstance(stored, str)
    assert "secret-7" not in stored
    assert "finplat.test" not in stored
    assert protector.decrypt_text(stored, context=BODY_CONTEXT) == message.text
    with pytest.raises(DecryptionFailed):
        protector.decrypt_text(stored, context="identity.users.email")
    with pytest.raises(DecryptionFailed):
        FieldCipher(KeyRing.generate()).decrypt_text(stored, context=BODY_CONTEXT)
    assert (row["recipient"], row["subject"]) == (message.to, message.subject)


async def test_a_failed_delivery_is_retried_with_exponential_backoff(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    await enqueue(uows, MailOutbox(protector, clock), confirmation())
    transport = FlakyTransport(failures=2)
    relay = MailRelay(database, transport, protector, clock, first_backoff=timedelta(seconds=30))
    started = clock.now()

    assert await relay.send_due() == 0
    [row] = await outbox_rows(database)
    assert row["attempts"] == 1
    assert row["sent_at"] is None
    assert row["next_attempt_at"] == started + timedelta(seconds=30)
    assert "ConnectionRefusedError: smtp.example.test:25 refused" in str(row["last_error"])

    clock.advance(timedelta(seconds=29))
    assert await relay.send_due() == 0
    assert transport.calls == 1  # not due yet

    clock.advance(timedelta(seconds=1))
    assert await relay.send_due() == 0
    [row] = await outbox_rows(database)
    assert row["attempts"] == 2
    assert row["next_attempt_at"] == clock.now() + timedelta(seconds=60)

    clock.advance(timedelta(seconds=60))
    assert await relay.send_due() == 1
    [row] = await outbox_rows(database)
    assert row["sent_at"] == clock.now()
    assert row["last_error"] is None
    assert transport.delivered == [confirmation()]


async def test_the_relay_gives_up_after_max_attempts(
    database: Database,
    uows: UnitOfWorkFactory,
    clock: ManualClock,
    protector: FieldCipher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await enqueue(uows, MailOutbox(protector, clock), confirmation())
    transport = FlakyTransport(failures=1_000)
    relay = MailRelay(database, transport, protector, clock, max_attempts=3)
    with caplog.at_level(logging.WARNING, logger="finplat.platform.mail"):
        for _ in range(6):
            assert await relay.send_due() == 0
            clock.advance(timedelta(days=1))
    assert transport.calls == 3
    [row] = await outbox_rows(database)
    assert (row["attempts"], row["sent_at"]) == (3, None)
    assert row["last_error"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "giving up" in errors[0].getMessage()
    assert "secret-0" not in caplog.text


def test_backoff_doubles_up_to_a_cap(
    database: Database, clock: ManualClock, protector: FieldCipher
) -> None:
    relay = MailRelay(
        database,
        RecordingTransport(),
        protector,
        clock,
        first_backoff=timedelta(seconds=30),
        max_backoff=timedelta(minutes=10),
    )
    waits = [relay.backoff(n) for n in range(1, 8)]
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 600, 600)]
    assert relay.backoff(10_000) == timedelta(minutes=10)


async def test_one_failing_message_does_not_hold_up_the_others(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    outbox = MailOutbox(protector, clock)
    await enqueue(uows, outbox, confirmation("bounce@example.com", 1), confirmation(n=2))
    transport = FlakyTransport(refuse="bounce@example.com")
    relay = MailRelay(database, transport, protector, clock)
    assert await relay.send_due() == 1
    assert [m.to for m in transport.delivered] == ["alice@example.com"]


async def test_two_relays_send_each_message_once(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    outbox = MailOutbox(protector, clock)
    await enqueue(uows, outbox, *(confirmation(n=n) for n in range(30)))
    transport = RecordingTransport()
    relays = [MailRelay(database, transport, protector, clock, batch_size=4) for _ in range(2)]

    total = 0
    while sent := sum(await asyncio.gather(*(relay.send_due() for relay in relays))):
        total += sent
    assert total == 30
    assert sorted(m.subject for m in transport.delivered) == sorted(
        confirmation(n=n).subject for n in range(30)
    )


async def test_a_claimed_message_waits_for_its_lease(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    """A relay that died after claiming a row leaves it to be retried when the lease ends."""
    await enqueue(uows, MailOutbox(protector, clock), confirmation())
    dying = MailRelay(database, DyingTransport(), protector, clock, lease=timedelta(minutes=5))
    with pytest.raises(asyncio.CancelledError):
        await dying.send_due()  # the process stops mid-delivery: claimed, never marked

    transport = RecordingTransport()
    relay = MailRelay(database, transport, protector, clock)
    assert await relay.send_due() == 0
    clock.advance(timedelta(minutes=5))
    assert await relay.send_due() == 1
    [row] = await outbox_rows(database)
    assert row["attempts"] == 0  # the interrupted try was never a delivery failure


async def test_run_sends_when_woken_after_a_commit(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    transport = NotifyingTransport()
    relay = MailRelay(database, transport, protector, clock)
    outbox = MailOutbox(protector, clock)
    stop = asyncio.Event()
    # a poll interval far longer than the test: only the wake-up can deliver in time
    task = asyncio.create_task(relay.run(stop, poll_interval=timedelta(hours=1)))
    try:
        await asyncio.sleep(0)  # let the relay find the outbox empty and start waiting
        async with uows() as uow:
            await outbox.enqueue(uow.session, confirmation())
            uow.after_commit(relay.wake)
        await asyncio.wait_for(transport.arrived.wait(), WAIT_SECONDS)
    finally:
        stop.set()
        await task
    assert transport.delivered == [confirmation()]


async def test_the_dev_mailbox_shows_decrypted_mail_newest_first(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    outbox = MailOutbox(protector, clock)
    await enqueue(uows, outbox, confirmation(n=1), confirmation("bob@example.com", 2))
    clock.advance(timedelta(seconds=1))
    await enqueue(uows, outbox, confirmation(n=3))
    await MailRelay(database, RecordingTransport(), protector, clock, batch_size=1).send_due()

    mailbox = DevMailbox(database, protector)
    entries = await mailbox.recent()
    assert [e.subject for e in entries] == [confirmation(n=n).subject for n in (3, 2, 1)]
    assert entries[0].text == confirmation(n=3).text
    assert entries[2].sent_at == clock.now()  # the oldest went first
    assert entries[0].sent_at is None
    assert entries[0].created_at == clock.now()

    only_bob = await mailbox.recent(recipient="bob@example.com")
    assert [e.text for e in only_bob] == [confirmation("bob@example.com", 2).text]
    assert len(await mailbox.recent(limit=2)) == 2


async def test_the_dev_mailbox_endpoint(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock, protector: FieldCipher
) -> None:
    outbox = MailOutbox(protector, clock)
    await enqueue(uows, outbox, confirmation(n=1), confirmation("bob@example.com", 2))
    app = build_http_app(
        HttpAppSpec(
            title="probe", version="0", routers=[mailbox_router(DevMailbox(database, protector))]
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        everything = await client.get("/api/v1/dev/mailbox")
        to_bob = await client.get("/api/v1/dev/mailbox", params={"to": "bob@example.com"})
        bad = await client.get("/api/v1/dev/mailbox", params={"limit": 0})
        spec = (await client.get("/api/v1/openapi.json")).json()

    assert everything.status_code == 200
    assert everything.headers["cache-control"] == "no-store"
    assert [m["to"] for m in everything.json()] == ["bob@example.com", "alice@example.com"]
    [item] = to_bob.json()
    assert set(item) == {"id", "to", "subject", "text", "created_at", "sent_at"}
    assert item["text"] == confirmation("bob@example.com", 2).text
    assert item["sent_at"] is None
    assert bad.status_code == 422
    assert spec["paths"]["/api/v1/dev/mailbox"]["get"]["operationId"] == "list_dev_mailbox"
