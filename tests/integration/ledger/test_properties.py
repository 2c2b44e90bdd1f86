"""The posting engine against a shadow model, through random sequences of operations.

A hypothesis state machine drives the real engine (deposits, transfers between customers,
holds with and without expiry, partial releases, fills that spend from a hold and release what
they use (capped or not), full, partial and zero posts, voids, expiry sweeps as a manual clock
moves, retries and key reuse) on a fresh database per example. After every step it checks
that the trial balance is zero, that every account's counters equal what its postings say
(pending ones: per hold still pending, its postings plus its releases'), that every hold still
holds what the model says, that no customer's available cash is negative, and that the engine
agrees with the model. Every rejected operation, and every retry, must leave the database
exactly as it was.

Hypothesis drives synchronous code, so each example owns an `asyncio.Runner` and runs one
coroutine per step on it. The database is a copy of the migrated SQLite template (a new file
per example) or the session's PostgreSQL database, truncated before and after each example.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from finplat.kernel import (
    Asset,
    BusinessRuleViolation,
    Conflict,
    DomainError,
    InvalidInput,
    ManualClock,
)
from finplat.ledger.accounts import open_account
from finplat.ledger.domain import AccountKind, transfer
from finplat.ledger.events import LEDGER_EVENTS
from finplat.ledger.journal import (
    Entry,
    Release,
    expire_holds,
    held_amount,
    hold,
    post_entry,
    post_hold,
    release_hold,
    void_hold,
)
from finplat.ledger.store import accounts, entries, postings
from finplat.platform.bus import EventRegistry, OutboxRecorder
from finplat.platform.bus.tables import outbox
from finplat.platform.db import Database, UnitOfWork, UnitOfWorkFactory
from tests.support import databases

USD = Asset("USD", 2)
CUSTOMERS = 3
PAIRS = [(a, b) for a in range(CUSTOMERS) for b in range(CUSTOMERS) if a != b]
EXAMPLES = {"sqlite": 35, "postgresql": 10}
STEPS = 25
SHARE = st.integers(1, 125)  # percent of the available balance a customer tries to move
REGISTRY = EventRegistry(LEDGER_EVENTS)  # built once: compiling the schemas is not free

T = TypeVar("T")
Call = Callable[[UnitOfWork], Awaitable[Entry]]
Counters = tuple[int, int, int, int]  # debits posted, credits posted, debits/credits pending


@dataclass
class Shadow:
    """What an account's counters should be, kept apart from the engine's arithmetic."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    def counters(self) -> Counters:
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)

    def customer_available(self) -> int:  # customer cash is credit-normal
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass
class ShadowHold:
    debit: uuid.UUID
    credit: uuid.UUID
    amount: int
    expires_at: datetime | None
    status: str = "pending"
    released: int = 0

    @property
    def remaining(self) -> int:
        return self.amount - self.released if self.status == "pending" else 0


@dataclass(frozen=True)
class Done:
    """A write that succeeded: the same request again, and a different one under its key."""

    key: str
    entry_id: uuid.UUID
    again: Call
    clash: Call


@dataclass(frozen=True)
class State:
    """Everything the ledger stores, as plain values (two equal states are the same ledger)."""

    accounts: dict[uuid.UUID, tuple[Counters, bool]]  # counters, restricted
    # kind, status, resolved_at, pending_id
    entries: dict[uuid.UUID, tuple[str, str, datetime | None, uuid.UUID | None]]
    postings: tuple[tuple[Any, ...], ...]  # (seq, entry, account, asset, amount, pending)
    events: int  # rows in the outbox


class LedgerMachine(RuleBasedStateMachine):
    """One example: a fresh database, a bank, a clearing account and three customers."""

    done = Bundle[Done]("done")
    holds = Bundle[Done]("holds")

    def fresh_url(self) -> str:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = ManualClock(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
        self.database = Database(self.fresh_url())
        recorder = OutboxRecorder(REGISTRY, self.clock)
        self.uows = UnitOfWorkFactory(self.database, recorder, self.clock)
        self.keys = itertools.count()
        self.entry_count = 0
        self.run(self._clean())
        self.bank, self.clearing, *self.cash = self.run(self._open_accounts())
        self.model = {account_id: Shadow() for account_id in (self.bank, self.clearing, *self.cash)}
        self.model_holds: dict[uuid.UUID, ShadowHold] = {}
        self.checked: State | None = None  # the state the last invariant check saw

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    async def _clean(self) -> None:
        if not self.database.is_sqlite:
            await databases.truncate_all(self.database)

    async def _open_accounts(self) -> list[uuid.UUID]:
        async with self.uows() as uow:
            opened = [
                await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=USD),
                await open_account(uow, kind=AccountKind.CLEARING, asset=USD),
            ]
            for n in range(CUSTOMERS):
                opened.append(
                    await open_account(
                        uow,
                        kind=AccountKind.CUSTOMER_CASH,
                        asset=USD,
                        owner_id=uuid.UUID(int=n + 1),
                    )
                )
        return [account.id for account in opened]

    def teardown(self) -> None:
        try:
            self.run(self._clean())
            self.run(self.database.dispose())
        finally:
            self.runner.close()

    # -- running writes -------------------------------------------------------------------

    def key(self) -> str:
        return f"op-{next(self.keys)}"

    async def _in_uow(self, call: Call) -> Entry:
        self.checked = None
        async with self.uows() as uow:
            return await call(uow)

    async def _read_state(self) -> State:
        async with self.uows(read_only=True) as uow:
            account_rows = await uow.session.execute(select(accounts))
            entry_rows = await uow.session.execute(select(entries))
            posting_rows = await uow.session.execute(
                select(
                    postings.c.seq,
                    postings.c.entry_id,
                    postings.c.account_id,
                    postings.c.asset,
                    postings.c.amount,
                    postings.c.pending,
                ).order_by(postings.c.seq)
            )
            return State(
                {
                    r.id: (
                        (r.debits_posted, r.credits_posted, r.debits_pending, r.credits_pending),
                        r.restricted,
                    )
                    for r in account_rows
                },
                {r.id: (r.kind, r.status, r.resolved_at, r.pending_id) for r in entry_rows},
                tuple(tuple(r) for r in posting_rows),
                int(await uow.session.scalar(select(func.count()).select_from(outbox)) or 0),
            )

    def state(self) -> State:
        return self.run(self._read_state())

    def state_before(self) -> State:
        """The current state: the one the invariant saw after the last step, if nothing wrote
        since (it runs after every step), else read now."""
        return self.checked or self.state()

    def accepted(self, call: Call, *, entries_: int = 1) -> Entry:
        entry = self.run(self._in_uow(call))
        assert not entry.replayed
        self.entry_count += entries_
        return entry

    def rejected(self, call: Call, kind: type[DomainError], code: str) -> None:
        """`call` must fail with `kind` and `code`, and leave every table as it was."""
        before = self.state_before()
        with pytest.raises(kind) as caught:
            self.run(self._in_uow(call))
        assert caught.value.code == code
        assert self.state() == before

    def book(self, debit: uuid.UUID, credit: uuid.UUID, amount: int) -> Done:
        key = self.key()

        def call(uow: UnitOfWork, amount: int = amount) -> Awaitable[Entry]:
            return post_entry(uow, key=key, postings_=transfer(debit, credit, "USD", amount))

        entry = self.accepted(call)
        self.model[debit].debits_posted += amount
        self.model[credit].credits_posted += amount
        return Done(key, entry.id, call, lambda uow: call(uow, amount + 1))

    def _close(self, held: ShadowHold, status: str) -> None:
        self._give_back(held, held.remaining)
        held.status = status

    def _give_back(self, held: ShadowHold, amount: int) -> None:
        held.released += amount
        self.model[held.debit].debits_pending -= amount
        self.model[held.credit].credits_pending -= amount

    async def _held(self, hold_id: uuid.UUID) -> int:
        async with self.uows(read_only=True) as uow:
            return await held_amount(uow, hold_id)

    # -- rules ----------------------------------------------------------------------------

    @initialize(target=done, opening=st.lists(st.integers(0, 1000), min_size=3, max_size=3))
    def opening_deposits(self, opening: list[int]) -> Any:
        """Customers start with some cash, so spending is possible even when hypothesis
        leaves the deposit rule out of an example."""
        return multiple(
            *(
                self.book(self.bank, account_id, amount)
                for account_id, amount in zip(self.cash, opening, strict=True)
                if amount
            )
        )

    @rule(target=done, customer=st.integers(0, CUSTOMERS - 1), amount=st.integers(1, 1000))
    def deposit(self, customer: int, amount: int) -> Done:
        return self.book(self.bank, self.cash[customer], amount)

    def _share_of_available(self, account_id: uuid.UUID, percent: int) -> int:
        """`percent` of what the account could spend: above 100 (or from nothing) it overdraws."""
        return max(1, self.model[account_id].customer_available() * percent // 100)

    @rule(target=done, pair=st.sampled_from(PAIRS), percent=SHARE)
    def move_between_customers(self, pair: tuple[int, int], percent: int) -> Any:
        source, target = self.cash[pair[0]], self.cash[pair[1]]
        amount = self._share_of_available(source, percent)
        if self.model[source].customer_available() >= amount:
            return self.book(source, target, amount)
        key = self.key()
        self.rejected(
            lambda uow: post_entry(uow, key=key, postings_=transfer(source, target, "USD", amount)),
            BusinessRuleViolation,
            "insufficient_funds",
        )
        return multiple()

    @rule(
        targets=(done, holds),
        customer=st.integers(0, CUSTOMERS - 1),
        percent=SHARE,
        expires_in=st.none() | st.integers(1, 90),
    )
    def place_hold(self, customer: int, percent: int, expires_in: int | None) -> Any:
        debit, credit = self.cash[customer], self.clearing
        amount = self._share_of_available(debit, percent)
        expires_at = (
            None if expires_in is None else self.clock.now() + timedelta(minutes=expires_in)
        )
        key = self.key()

        def call(uow: UnitOfWork, amount: int = amount) -> Awaitable[Entry]:
            return hold(
                uow,
                key=key,
                debit=debit,
                credit=credit,
                asset="USD",
                amount=amount,
                expires_at=expires_at,
            )

        if self.model[debit].customer_available() < amount:
            self.rejected(call, BusinessRuleViolation, "insufficient_funds")
            return multiple()
        entry = self.accepted(call)
        assert entry.status == "pending"
        self.model[debit].debits_pending += amount
        self.model[credit].credits_pending += amount
        self.model_holds[entry.id] = ShadowHold(debit, credit, amount, expires_at)
        return Done(key, entry.id, call, lambda uow: call(uow, amount + 1))

    @rule(
        target=done,
        ref=holds,
        how=st.sampled_from(["full", "partial", "zero", "too much"]),
        percent=st.integers(1, 100),
    )
    def settle_hold(self, ref: Done, how: str, percent: int) -> Any:
        held = self.model_holds[ref.entry_id]
        amount = {
            "full": None,
            "partial": max(1, held.remaining * percent // 100),
            "zero": 0,
            "too much": held.remaining + 1,
        }[how]
        key = self.key()

        def call(uow: UnitOfWork, amount: int | None = amount) -> Awaitable[Entry]:
            return post_hold(uow, key=key, hold_id=ref.entry_id, amount=amount)

        if held.status != "pending":
            self.rejected(call, BusinessRuleViolation, "hold_not_pending")
            return multiple()
        if held.expires_at is not None and held.expires_at <= self.clock.now():
            self.rejected(call, BusinessRuleViolation, "hold_expired")
            return multiple()
        settled = held.remaining if amount is None else amount
        if settled > held.remaining:
            self.rejected(call, InvalidInput, "invalid_post_amount")
            return multiple()
        entry = self.accepted(call)
        assert entry.pending_id == ref.entry_id
        assert sorted(p.amount for p in entry.postings) == ([-settled, settled] if settled else [])
        self._close(held, "settled")
        self.model[held.debit].debits_posted += settled
        self.model[held.credit].credits_posted += settled
        return Done(key, entry.id, call, lambda uow: call(uow, 1 if amount is None else None))

    @rule(target=done, ref=holds)
    def void(self, ref: Done) -> Any:
        held = self.model_holds[ref.entry_id]
        key = self.key()

        def call(uow: UnitOfWork) -> Awaitable[Entry]:
            return void_hold(uow, key=key, hold_id=ref.entry_id)

        if held.status != "pending":
            self.rejected(call, BusinessRuleViolation, "hold_not_pending")
            return multiple()
        entry = self.accepted(call)
        assert entry.postings == ()
        self._close(held, "voided")
        # the same key for a post of the same hold is a different request
        return Done(key, entry.id, call, lambda uow: post_hold(uow, key=key, hold_id=ref.entry_id))

    @rule(
        target=done,
        ref=holds,
        how=st.sampled_from(["part", "all", "too much"]),
        percent=st.integers(1, 100),
    )
    def release_part(self, ref: Done, how: str, percent: int) -> Any:
        """Give part of a hold back; the rest stays held (also once its expiry has passed)."""
        held = self.model_holds[ref.entry_id]
        amount = {
            "part": max(1, held.remaining * percent // 100),
            "all": max(1, held.remaining),
            "too much": held.remaining + 1,
        }[how]
        key = self.key()

        def call(uow: UnitOfWork, amount: int = amount) -> Awaitable[Entry]:
            return release_hold(uow, key=key, hold_id=ref.entry_id, amount=amount)

        if held.status != "pending":
            self.rejected(call, BusinessRuleViolation, "hold_not_pending")
            return multiple()
        if amount > held.remaining:
            self.rejected(call, InvalidInput, "invalid_release_amount")
            return multiple()
        entry = self.accepted(call)
        assert (entry.kind, entry.status, entry.pending_id) == ("release", "released", ref.entry_id)
        assert sorted(p.amount for p in entry.postings) == [-amount, amount]
        self._give_back(held, amount)
        assert self.run(self._held(ref.entry_id)) == held.remaining
        return Done(key, entry.id, call, lambda uow: call(uow, amount + 1))

    @rule(
        target=done,
        ref=holds,
        percent=SHARE,
        capped=st.booleans(),
    )
    def fill_from_hold(self, ref: Done, percent: int, capped: bool) -> Any:
        """A fill: the customer pays clearing and releases what it pays of the hold, in one
        entry; uncapped, it may not release more than is held; either way it may not spend
        more than it has."""
        held = self.model_holds[ref.entry_id]
        payer, payee = held.debit, held.credit
        available = self.model[payer].customer_available()
        amount = max(1, (held.remaining + available) * percent // 100)
        key = self.key()

        def call(uow: UnitOfWork, amount: int = amount) -> Awaitable[Entry]:
            return post_entry(
                uow,
                key=key,
                postings_=transfer(payer, payee, "USD", amount),
                releases=[Release(ref.entry_id, amount, capped=capped)],
            )

        if held.status != "pending":
            self.rejected(call, BusinessRuleViolation, "hold_not_pending")
            return multiple()
        if not capped and amount > held.remaining:
            self.rejected(call, InvalidInput, "invalid_release_amount")
            return multiple()
        released = min(amount, held.remaining)
        if amount > released and available - amount + released < 0:
            self.rejected(call, BusinessRuleViolation, "insufficient_funds")
            return multiple()
        entry = self.accepted(call, entries_=2 if released else 1)
        assert entry.postings == transfer(payer, payee, "USD", amount)
        self._give_back(held, released)
        self.model[payer].debits_posted += amount
        self.model[payee].credits_posted += amount
        return Done(key, entry.id, call, lambda uow: call(uow, amount + 1))

    def _holds_can_expire(self) -> bool:
        return any(h.status == "pending" and h.expires_at for h in self.model_holds.values())

    @precondition(_holds_can_expire)
    @rule(minutes=st.integers(1, 120))
    def advance_clock(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @precondition(_holds_can_expire)
    @rule(minutes=st.integers(0, 120))
    def sweep_expired(self, minutes: int) -> None:
        """Time passes, then the sweep releases every pending hold whose expiry has come."""
        now = self.clock.advance(timedelta(minutes=minutes))
        due = [
            held
            for held in self.model_holds.values()
            if held.status == "pending" and held.expires_at is not None and held.expires_at <= now
        ]

        async def sweep() -> int:
            self.checked = None
            async with self.uows() as uow:
                return await expire_holds(uow)

        assert self.run(sweep()) == len(due)
        for held in due:
            self._close(held, "expired")

    @rule(ref=done)
    def retry(self, ref: Done) -> None:
        """The first answer was lost; the client sends the same request again."""
        before = self.state_before()
        again = self.run(self._in_uow(ref.again))
        assert again.replayed
        assert (again.id, again.idempotency_key) == (ref.entry_id, ref.key)
        assert self.state() == before

    @rule(ref=done)
    def reuse_key(self, ref: Done) -> None:
        """A different request under a used key is a conflict and changes nothing."""
        self.rejected(ref.clash, Conflict, "idempotency_key_reused")

    # -- after every step -----------------------------------------------------------------

    @invariant()
    def ledger_is_consistent_and_matches_the_model(self) -> None:
        state = self.checked = self.state()
        counters = {account_id: c for account_id, (c, _) in state.accounts.items()}
        statuses = {entry_id: status for entry_id, (_, status, _, _) in state.entries.items()}

        # the trial balance: posted postings sum to zero per asset (and so do pending ones)
        totals: dict[tuple[str, bool], int] = {}
        for _, _, _, asset, amount, pending in state.postings:
            totals[(asset, pending)] = totals.get((asset, pending), 0) + amount
        assert all(total == 0 for total in totals.values()), totals

        # every account's counters are what its postings say; a pending hold holds its
        # postings plus its releases' (which reverse part of them) on each of its accounts
        derived = {account_id: Shadow() for account_id in counters}
        still_held: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
        for _, entry_id, account_id, _, amount, pending in state.postings:
            sums = derived[account_id]
            kind, _, _, pending_id = state.entries[entry_id]
            if not pending:
                sums.debits_posted += max(amount, 0)
                sums.credits_posted += max(-amount, 0)
                continue
            hold_id = pending_id if kind == "release" else entry_id
            assert hold_id is not None
            if statuses[hold_id] == "pending":
                still_held[(hold_id, account_id)] = (
                    still_held.get((hold_id, account_id), 0) + amount
                )
        for (_, account_id), net in still_held.items():
            derived[account_id].debits_pending += max(net, 0)
            derived[account_id].credits_pending += max(-net, 0)
        assert {k: v.counters() for k, v in derived.items()} == counters
        assert {hold_id: net for (hold_id, account_id), net in still_held.items() if net > 0} == {
            k: v.remaining for k, v in self.model_holds.items() if v.remaining
        }

        # no customer below zero, nothing restricted, and the engine agrees with the model
        for account_id in self.cash:
            d_posted, c_posted, d_pending, _ = counters[account_id]
            assert c_posted - d_posted - d_pending >= 0
        assert not any(restricted for _, restricted in state.accounts.values())
        assert counters == {k: v.counters() for k, v in self.model.items()}
        assert {
            entry_id: status
            for entry_id, (kind, status, _, _) in state.entries.items()
            if kind == "hold"
        } == {k: v.status for k, v in self.model_holds.items()}
        assert len(state.entries) == self.entry_count


SETTINGS = settings(
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_engine_matches_a_shadow_model_under_random_operations(
    db_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        examples = itertools.count()

        def fresh() -> str:
            directory = tmp_path / f"example-{next(examples)}"
            directory.mkdir()
            return databases.copy_sqlite(template, directory)

    else:
        url: str = request.getfixturevalue("postgres_url")

        def fresh() -> str:
            return url

    class Machine(LedgerMachine):
        def fresh_url(self) -> str:
            return fresh()

    run_state_machine_as_test(
        Machine, settings=settings(SETTINGS, max_examples=EXAMPLES[db_backend])
    )
