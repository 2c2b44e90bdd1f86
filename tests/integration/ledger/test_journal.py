"""The posting engine on both databases: a bank-statement walk-through, idempotency,
invariants under concurrency, and crashes part-way through a transfer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from finplat.kernel import Asset, BusinessRuleViolation, Conflict, InvalidInput, ManualClock
from finplat.ledger.accounts import Account, by_id, open_account, posted_balance_at
from finplat.ledger.domain import AccountKind, EntryStatus, Posting, transfer
from finplat.ledger.journal import Entry, expire_holds, hold, post_entry, post_hold, void_hold
from finplat.ledger.store import entries, postings
from finplat.platform.bus.tables import outbox
from finplat.platform.db import UnitOfWorkFactory

USD = Asset("USD", 2)


async def accounts(uows: UnitOfWorkFactory) -> tuple[Account, Account, Account]:
    customer = uuid.UUID(int=7)
    async with uows() as uow:
        bank = await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=USD)
        clearing = await open_account(uow, kind=AccountKind.CLEARING, asset=USD)
        cash = await open_account(uow, kind=AccountKind.CUSTOMER_CASH, asset=USD, owner_id=customer)
    return bank, clearing, cash


async def fresh(uows: UnitOfWorkFactory, account: Account) -> Account:
    async with uows(read_only=True) as uow:
        return await by_id(uow, account.id)


async def test_deposit_hold_partial_post_and_void_read_like_a_statement(
    uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    bank, clearing, cash = await accounts(uows)
    async with uows() as uow:
        await post_entry(uow, key="dep-1", postings_=transfer(bank.id, cash.id, "USD", 100_00))
    deposited_at = clock.now()
    clock.advance(timedelta(minutes=1))
    async with uows() as uow:
        order = await hold(
            uow, key="hold-1", debit=cash.id, credit=clearing.id, asset="USD", amount=60_00
        )
        other = await hold(
            uow, key="hold-2", debit=cash.id, credit=clearing.id, asset="USD", amount=15_00
        )
    now = await fresh(uows, cash)
    assert (now.posted, now.available) == (100_00, 25_00)

    clock.advance(timedelta(minutes=1))
    async with uows() as uow:
        settled = await post_hold(uow, key="post-1", hold_id=order.id, amount=45_50)
        await void_hold(uow, key="void-2", hold_id=other.id)
    assert settled.pending_id == order.id
    now = await fresh(uows, cash)
    assert (now.posted, now.available) == (54_50, 54_50)
    assert now.balances.debits_pending == 0
    assert (await fresh(uows, clearing)).posted == 45_50
    assert (await fresh(uows, bank)).posted == 100_00

    async with uows(read_only=True) as uow:
        assert await posted_balance_at(uow, cash, deposited_at) == 100_00
        assert await posted_balance_at(uow, cash, deposited_at - timedelta(seconds=1)) == 0
        assert await posted_balance_at(uow, cash, clock.now()) == 54_50
        statuses = dict(
            (await uow.session.execute(select(entries.c.idempotency_key, entries.c.status))).all()
        )
    assert statuses == {
        "dep-1": "posted",
        "hold-1": "settled",
        "hold-2": "voided",
        "post-1": "posted",
        "void-2": "voided",
    }


async def test_a_retry_returns_the_first_answer_and_a_reused_key_conflicts(
    uows: UnitOfWorkFactory,
) -> None:
    bank, _, cash = await accounts(uows)
    async with uows() as uow:
        first = await post_entry(uow, key="k1", postings_=transfer(bank.id, cash.id, "USD", 5_00))
    async with uows() as uow:  # the first response was lost; the client retries
        again = await post_entry(uow, key="k1", postings_=transfer(bank.id, cash.id, "USD", 5_00))
    assert again.id == first.id
    assert again.replayed
    assert (await fresh(uows, cash)).posted == 5_00
    with pytest.raises(Conflict, match="different request"):
        async with uows() as uow:
            await post_entry(uow, key="k1", postings_=transfer(bank.id, cash.id, "USD", 6_00))


async def test_a_retry_gets_its_first_answer_even_once_the_funds_are_spent(
    uows: UnitOfWorkFactory,
) -> None:
    bank, clearing, cash = await accounts(uows)
    async with uows() as uow:
        await post_entry(uow, key="d", postings_=transfer(bank.id, cash.id, "USD", 15_00))
        held = await hold(uow, key="h", debit=cash.id, credit=clearing.id, asset="USD", amount=5_00)
    spend = transfer(cash.id, clearing.id, "USD", 10_00)
    async with uows() as uow:
        first = await post_entry(uow, key="spend", postings_=spend)
        settled = await post_hold(uow, key="settle", hold_id=held.id)
    async with uows() as uow:  # no cash left and the hold settled, but these are retries
        again = await post_entry(uow, key="spend", postings_=spend)
        settled_again = await post_hold(uow, key="settle", hold_id=held.id)
    assert (again.id, again.replayed) == (first.id, True)
    assert (settled_again.id, settled_again.replayed) == (settled.id, True)
    with pytest.raises(Conflict, match="different request"):  # declined or not, a reused key
        async with uows() as uow:
            await post_entry(uow, key="spend", postings_=transfer(cash.id, bank.id, "USD", 1_00))
    assert (await fresh(uows, cash)).posted == 0
    async with uows(read_only=True) as uow:  # one event per booked transfer, none for replays
        assert await uow.session.scalar(select(func.count()).select_from(outbox)) == 3


async def test_requests_racing_under_one_key_book_once(uows: UnitOfWorkFactory) -> None:
    bank, clearing, cash = await accounts(uows)
    async with uows() as uow:
        suspense = await open_account(uow, kind=AccountKind.SUSPENSE, asset=USD)

    async def send(key: str, debit: uuid.UUID, credit: uuid.UUID) -> Entry | Conflict:
        try:
            async with uows() as uow:  # the two requests lock different accounts
                return await post_entry(uow, key=key, postings_=transfer(debit, credit, "USD", 1))
        except Conflict as conflict:
            return conflict

    for n in range(5):
        results = await asyncio.gather(
            send(f"same-{n}", bank.id, cash.id), send(f"same-{n}", suspense.id, clearing.id)
        )
        # one books; the other waits for it and is told the key is taken (no IntegrityError)
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "Entry"]
    async with uows(read_only=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(entries)) == 5


async def test_no_overdraft_and_holds_count_against_available(uows: UnitOfWorkFactory) -> None:
    bank, clearing, cash = await accounts(uows)
    async with uows() as uow:
        await post_entry(uow, key="d", postings_=transfer(bank.id, cash.id, "USD", 10_00))
        await hold(uow, key="h", debit=cash.id, credit=clearing.id, asset="USD", amount=8_00)
    with pytest.raises(BusinessRuleViolation, match="insufficient funds"):
        async with uows() as uow:
            await post_entry(uow, key="w", postings_=transfer(cash.id, bank.id, "USD", 3_00))
    with pytest.raises(InvalidInput, match="between 0 and 800"):
        async with uows() as uow:  # a hold settles for at most what it holds
            await post_hold(uow, key="p", hold_id=(await _hold_id(uows, "h")), amount=9_00)


async def _hold_id(uows: UnitOfWorkFactory, key: str) -> uuid.UUID:
    async with uows(read_only=True) as uow:
        found = await uow.session.scalar(
            select(entries.c.id).where(entries.c.idempotency_key == key)
        )
    assert isinstance(found, uuid.UUID)
    return found


async def test_a_resolved_hold_cannot_be_resolved_again(uows: UnitOfWorkFactory) -> None:
    bank, clearing, cash = await accounts(uows)
    async with uows() as uow:
        await post_entry(uow, key="d", postings_=transfer(bank.id, cash.id, "USD", 10_00))
        held = await hold(uow, key="h", debit=cash.id, credit=clearing.id, asset="USD", amount=5_00)
        await void_hold(uow, key="v", hold_id=held.id)
    with pytest.raises(BusinessRuleViolation, match="voided"):
        async with uows() as uow:
            await post_hold(uow, key="p", hold_id=held.id)


async def test_expired_holds_are_released(uows: UnitOfWorkFactory, clock: ManualClock) -> None:
    bank, clearing, cash = await accounts(uows)
    async with uows() as uow:
        await post_entry(uow, key="d", postings_=transfer(bank.id, cash.id, "USD", 10_00))
        await hold(
            uow,
            key="h",
            debit=cash.id,
            credit=clearing.id,
            asset="USD",
            amount=4_00,
            expires_at=clock.now() + timedelta(hours=1),
        )
    async with uows() as uow:
        assert await expire_holds(uow) == 0
    clock.advance(timedelta(hours=2))
    with pytest.raises(BusinessRuleViolation, match="expired"):
        async with uows() as uow:  # past its expiry, a hold cannot settle even before a sweep
            await post_hold(uow, key="late", hold_id=await _hold_id(uows, "h"))
    async with uows() as uow:
        assert await expire_holds(uow) == 1
    assert (await fresh(uows, cash)).available == 10_00


async def test_concurrent_writers_on_one_hot_account_neither_overdraw_nor_lose_updates(
    uows: UnitOfWorkFactory,
) -> None:
    bank, clearing, cash = await accounts(uows)
    async with uows() as uow:
        await post_entry(uow, key="seed", postings_=transfer(bank.id, cash.id, "USD", 100_00))

    async def spend(n: int) -> bool:
        try:
            async with uows() as uow:
                await post_entry(
                    uow, key=f"spend-{n}", postings_=transfer(cash.id, clearing.id, "USD", 7_00)
                )
        except BusinessRuleViolation:
            return False
        return True

    async def top_up(n: int) -> None:
        async with uows() as uow:
            await post_entry(uow, key=f"top-{n}", postings_=transfer(bank.id, cash.id, "USD", 1_00))

    results = await asyncio.gather(*(spend(n) for n in range(30)), *(top_up(n) for n in range(10)))
    spent = sum(1 for r in results[:30] if r)
    final = await fresh(uows, cash)
    assert final.posted == 100_00 + 10 * 1_00 - spent * 7_00
    assert final.posted >= 0
    # 100.00 covers 14 spends whatever the order; the top-ups make room for a 15th at most
    assert spent in {14, 15}
    async with uows(read_only=True) as uow:
        total = await uow.session.scalar(select(func.sum(postings.c.amount)))
    assert total == 0  # the trial balance


async def test_a_crash_part_way_leaves_nothing_behind(uows: UnitOfWorkFactory) -> None:
    bank, _, cash = await accounts(uows)
    with pytest.raises(RuntimeError, match="killed"):
        async with uows() as uow:
            await post_entry(uow, key="crash", postings_=transfer(bank.id, cash.id, "USD", 9_00))
            raise RuntimeError("process killed after the postings were written")
    assert (await fresh(uows, cash)).posted == 0
    async with uows(read_only=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(postings)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(entries)) == 0
    async with uows() as uow:  # the retry after the crash goes through once
        await post_entry(uow, key="crash", postings_=transfer(bank.id, cash.id, "USD", 9_00))
    assert (await fresh(uows, cash)).posted == 9_00


async def test_entries_must_balance_and_match_account_assets(uows: UnitOfWorkFactory) -> None:
    bank, _, cash = await accounts(uows)
    with pytest.raises(InvalidInput, match="sum to zero"):
        async with uows() as uow:
            await post_entry(
                uow, key="x", postings_=[Posting(bank.id, "USD", 5), Posting(cash.id, "USD", -4)]
            )
    with pytest.raises(InvalidInput, match="holds USD"):
        async with uows() as uow:
            await post_entry(uow, key="y", postings_=transfer(bank.id, cash.id, "EUR", 5))
    assert EntryStatus.POSTED.value == "posted"
