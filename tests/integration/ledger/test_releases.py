"""Releasing part of a hold, and booking fills that release what they use, on both databases:
statements, the hold's remaining amount through post, void and expiry, idempotency, fills of
five and six postings across cash and shares, and writers racing on shared accounts."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Table, func, select

from finplat.kernel import (
    Asset,
    BusinessRuleViolation,
    Conflict,
    InvalidInput,
    ManualClock,
    NotFound,
)
from finplat.ledger import (
    AccountBalance,
    Release,
    account_balances,
    customer_account,
    held_amount,
    release_hold,
)
from finplat.ledger.accounts import Account, open_account
from finplat.ledger.domain import AccountKind, Posting, transfer
from finplat.ledger.journal import (
    Entry,
    expire_holds,
    hold,
    lock_accounts,
    post_entry,
    post_hold,
    void_hold,
)
from finplat.ledger.reconcile import check_ledger
from finplat.ledger.store import entries, postings
from finplat.platform.bus.tables import outbox
from finplat.platform.db import Database, UnitOfWorkFactory

USD = Asset("USD", 2)
AAPL = Asset("AAPL", 9)
SHARE = 10**9  # one AAPL in minor units
ALICE, BOB = uuid.UUID(int=1), uuid.UUID(int=2)


@dataclass(frozen=True)
class Books:
    bank: Account
    clearing_cash: Account
    clearing_shares: Account
    fees: Account
    alice_cash: Account
    alice_shares: Account
    bob_cash: Account
    bob_shares: Account


async def open_books(uows: UnitOfWorkFactory) -> Books:
    async with uows() as uow:

        async def customer(owner: uuid.UUID, kind: AccountKind, asset: Asset) -> Account:
            return await open_account(uow, kind=kind, asset=asset, owner_id=owner)

        return Books(
            bank=await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=USD),
            clearing_cash=await open_account(uow, kind=AccountKind.CLEARING, asset=USD),
            clearing_shares=await open_account(uow, kind=AccountKind.CLEARING, asset=AAPL),
            fees=await open_account(uow, kind=AccountKind.FEES_REVENUE, asset=USD),
            alice_cash=await customer(ALICE, AccountKind.CUSTOMER_CASH, USD),
            alice_shares=await customer(ALICE, AccountKind.CUSTOMER_SECURITIES, AAPL),
            bob_cash=await customer(BOB, AccountKind.CUSTOMER_CASH, USD),
            bob_shares=await customer(BOB, AccountKind.CUSTOMER_SECURITIES, AAPL),
        )


async def balances(uows: UnitOfWorkFactory, account: Account) -> AccountBalance:
    async with uows(read_only=True) as uow:
        return await account_balances(uow, account.id)


async def held(uows: UnitOfWorkFactory, hold_id: uuid.UUID) -> int:
    async with uows(read_only=True) as uow:
        return await held_amount(uow, hold_id)


async def deposit(uows: UnitOfWorkFactory, books: Books, account: Account, minor: int) -> None:
    async with uows() as uow:
        await post_entry(
            uow,
            key=f"dep-{account.id}-{minor}",
            postings_=transfer(books.bank.id, account.id, "USD", minor),
        )


async def place_hold(
    uows: UnitOfWorkFactory, key: str, debit: Account, credit: Account, minor: int
) -> Entry:
    async with uows() as uow:
        return await hold(
            uow, key=key, debit=debit.id, credit=credit.id, asset=debit.asset.code, amount=minor
        )


async def rows_by_key(uows: UnitOfWorkFactory) -> dict[str, tuple[str, str]]:
    async with uows(read_only=True) as uow:
        found = await uow.session.execute(
            select(entries.c.idempotency_key, entries.c.kind, entries.c.status)
        )
        return {key: (kind, status) for key, kind, status in found}


async def count(uows: UnitOfWorkFactory, table: Table) -> int:
    async with uows(read_only=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_partial_release_keeps_the_rest_pending_until_posted_for_zero(
    uows: UnitOfWorkFactory, database: Database
) -> None:
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 100_00)
    order = await place_hold(uows, "hold", books.alice_cash, books.clearing_cash, 60_00)
    assert await balances(uows, books.alice_cash) == (100_00, 40_00)

    async with uows() as uow:
        first = await release_hold(uow, key="rel-1", hold_id=order.id, amount=25_00)
    assert (first.kind, first.status, first.pending_id) == ("release", "released", order.id)
    assert first.postings == (
        Posting(books.alice_cash.id, "USD", -25_00),
        Posting(books.clearing_cash.id, "USD", 25_00),
    )
    assert await held(uows, order.id) == 35_00
    assert await balances(uows, books.alice_cash) == AccountBalance(posted=100_00, available=65_00)
    assert (await balances(uows, books.clearing_cash)).posted == 0

    async with uows() as uow:  # all the rest: the hold holds nothing, and is still pending
        await release_hold(uow, key="rel-2", hold_id=order.id, amount=35_00)
    assert await held(uows, order.id) == 0
    assert await balances(uows, books.alice_cash) == (100_00, 100_00)
    async with uows() as uow:
        closed = await post_hold(uow, key="done", hold_id=order.id, amount=0)
    assert (closed.kind, closed.status, closed.postings) == ("post", "posted", ())
    assert await held(uows, order.id) == 0
    assert await balances(uows, books.alice_cash) == (100_00, 100_00)
    assert {k: v for k, v in (await rows_by_key(uows)).items() if not k.startswith("dep-")} == {
        "hold": ("hold", "settled"),
        "rel-1": ("release", "released"),
        "rel-2": ("release", "released"),
        "done": ("post", "posted"),
    }
    assert await count(uows, outbox) == 1  # the deposit; a post of nothing moved nothing
    check = await check_ledger(database)
    assert check.problems == []
    assert check.entries_checked == 5


async def test_post_void_and_expiry_take_only_what_the_hold_still_holds(
    uows: UnitOfWorkFactory, clock: ManualClock, database: Database
) -> None:
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 100_00)
    posted = await place_hold(uows, "h-post", books.alice_cash, books.clearing_cash, 50_00)
    voided = await place_hold(uows, "h-void", books.alice_cash, books.clearing_cash, 20_00)
    async with uows() as uow:
        expiring = await hold(
            uow,
            key="h-exp",
            debit=books.alice_cash.id,
            credit=books.clearing_cash.id,
            asset="USD",
            amount=10_00,
            expires_at=clock.now() + timedelta(hours=1),
        )
        await release_hold(uow, key="r-post", hold_id=posted.id, amount=20_00)
        await release_hold(uow, key="r-void", hold_id=voided.id, amount=5_00)
        await release_hold(uow, key="r-exp", hold_id=expiring.id, amount=4_00)
    assert await balances(uows, books.alice_cash) == (100_00, 100_00 - 30_00 - 15_00 - 6_00)

    with pytest.raises(InvalidInput, match="between 0 and 3000") as caught:
        async with uows() as uow:
            await post_hold(uow, key="too-much", hold_id=posted.id, amount=30_01)
    assert caught.value.code == "invalid_post_amount"
    async with uows() as uow:
        settled = await post_hold(uow, key="p", hold_id=posted.id)  # all it still holds
        await void_hold(uow, key="v", hold_id=voided.id)
    assert settled.postings == transfer(books.alice_cash.id, books.clearing_cash.id, "USD", 30_00)
    assert await balances(uows, books.alice_cash) == (70_00, 64_00)
    clock.advance(timedelta(hours=2))
    async with uows() as uow:
        assert await expire_holds(uow) == 1
    assert await balances(uows, books.alice_cash) == (70_00, 70_00)
    assert await balances(uows, books.clearing_cash) == (30_00, 30_00)
    assert [await held(uows, h.id) for h in (posted, voided, expiring)] == [0, 0, 0]
    assert (await check_ledger(database)).problems == []


async def test_a_release_is_idempotent_and_checked(uows: UnitOfWorkFactory) -> None:
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 100_00)
    order = await place_hold(uows, "hold", books.alice_cash, books.clearing_cash, 60_00)
    async with uows() as uow:
        first = await release_hold(uow, key="rel", hold_id=order.id, amount=10_00)
    async with uows() as uow:  # the answer was lost; the retry gets it and releases nothing
        again = await release_hold(uow, key="rel", hold_id=order.id, amount=10_00)
    assert (again.id, again.replayed, again.postings) == (first.id, True, first.postings)
    assert await held(uows, order.id) == 50_00
    with pytest.raises(Conflict) as conflict:
        async with uows() as uow:
            await release_hold(uow, key="rel", hold_id=order.id, amount=11_00)
    assert conflict.value.code == "idempotency_key_reused"

    async def refused(key: str, hold_id: uuid.UUID, amount: int) -> str:
        with pytest.raises((InvalidInput, BusinessRuleViolation, NotFound)) as caught:
            async with uows() as uow:
                await release_hold(uow, key=key, hold_id=hold_id, amount=amount)
        return str(caught.value.code)

    assert await refused("x1", order.id, 50_01) == "invalid_release_amount"
    assert await refused("x2", order.id, 0) == "invalid_release_amount"
    assert await refused("x3", uuid.UUID(int=99), 1) == "hold_not_found"
    assert await refused("x4", first.id, 1) == "hold_not_found"  # a release is not a hold
    async with uows() as uow:
        await void_hold(uow, key="void", hold_id=order.id)
    assert await refused("x5", order.id, 1) == "hold_not_pending"
    async with uows() as uow:  # a retry after the hold closed still gets its first answer
        assert (await release_hold(uow, key="rel", hold_id=order.id, amount=10_00)).replayed
    with pytest.raises(NotFound):
        await held(uows, uuid.UUID(int=99))
    assert await held(uows, order.id) == 0
    assert await balances(uows, books.alice_cash) == (100_00, 100_00)
    assert sorted(k for k in await rows_by_key(uows) if not k.startswith("dep-")) == [
        "hold",
        "rel",
        "void",
    ]


async def test_a_buy_and_a_sell_fill_each_book_in_one_entry_across_cash_and_shares(
    uows: UnitOfWorkFactory, database: Database
) -> None:
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 10_000_00)
    async with uows() as uow:  # Bob holds 10 AAPL (bought earlier, through the clearing house)
        await post_entry(
            uow,
            key="bob-shares",
            postings_=transfer(books.clearing_shares.id, books.bob_shares.id, "AAPL", 10 * SHARE),
        )
    buy_hold = await place_hold(uows, "buy", books.alice_cash, books.clearing_cash, 1_000_00)
    sell_hold = await place_hold(uows, "sell", books.bob_shares, books.clearing_shares, 4 * SHARE)
    assert await balances(uows, books.alice_cash) == (10_000_00, 9_000_00)
    assert await balances(uows, books.bob_shares) == (10 * SHARE, 6 * SHARE)

    # Alice buys 5 AAPL at 187.25 and pays a 1.00 fee: six postings, the fee apart
    buy = [
        Posting(books.alice_cash.id, "USD", 936_25),
        Posting(books.alice_cash.id, "USD", 1_00),
        Posting(books.clearing_cash.id, "USD", -936_25),
        Posting(books.fees.id, "USD", -1_00),
        Posting(books.clearing_shares.id, "AAPL", 5 * SHARE),
        Posting(books.alice_shares.id, "AAPL", -5 * SHARE),
    ]
    # Bob sells 4 AAPL at 187.30 and pays 0.50: five postings, the fee netted from his cash
    sell = [
        Posting(books.bob_shares.id, "AAPL", 4 * SHARE),
        Posting(books.clearing_shares.id, "AAPL", -4 * SHARE),
        Posting(books.clearing_cash.id, "USD", 749_20),
        Posting(books.bob_cash.id, "USD", -748_70),
        Posting(books.fees.id, "USD", -50),
    ]
    async with uows() as uow:
        bought = await post_entry(
            uow,
            key="exec-1",
            postings_=buy,
            description="buy 5 AAPL",
            releases=[Release(buy_hold.id, 937_25)],
        )
        sold = await post_entry(
            uow,
            key="exec-2",
            postings_=sell,
            description="sell 4 AAPL",
            releases=[Release(sell_hold.id, 4 * SHARE)],
        )
    assert (bought.postings, sold.postings) == (tuple(buy), tuple(sell))
    assert await held(uows, buy_hold.id) == 1_000_00 - 937_25
    assert await held(uows, sell_hold.id) == 0
    assert await balances(uows, books.alice_cash) == (9_062_75, 9_000_00)
    assert await balances(uows, books.alice_shares) == (5 * SHARE, 5 * SHARE)
    assert await balances(uows, books.bob_shares) == (6 * SHARE, 6 * SHARE)
    assert await balances(uows, books.bob_cash) == (748_70, 748_70)
    assert await balances(uows, books.fees) == (1_50, 1_50)
    # clearing owes the venue the cash it took from Alice, less what it paid Bob
    assert await balances(uows, books.clearing_cash) == (936_25 - 749_20, 936_25 - 749_20)
    assert (
        await balances(uows, books.clearing_shares)
    ).posted == -10 * SHARE + 4 * SHARE - 5 * SHARE

    # each fill is one entry and one event; its release is an entry of its own
    async with uows(read_only=True) as uow:
        release = (
            await uow.session.execute(select(entries).where(entries.c.pending_id == buy_hold.id))
        ).one()
        payloads = (await uow.session.execute(select(outbox.c.payload))).scalars().all()
    assert release.kind == "release"
    assert release.idempotency_key == f"{bought.id}:release:{buy_hold.id}"
    assert release.meta == {"entry_id": str(bought.id)}
    assert release.description == "buy 5 AAPL"
    fill_events = [p for p in payloads if p["entry_id"] in {str(bought.id), str(sold.id)}]
    assert sorted(len(p["postings"]) for p in fill_events) == [5, 6]

    async with uows() as uow:  # both orders are done: post the holds for zero
        await post_hold(uow, key="buy-done", hold_id=buy_hold.id, amount=0)
        await post_hold(uow, key="sell-done", hold_id=sell_hold.id, amount=0)
    assert await balances(uows, books.alice_cash) == (9_062_75, 9_062_75)
    check = await check_ledger(database)
    assert check.problems == []
    async with uows(read_only=True) as uow:
        totals = dict(
            (
                await uow.session.execute(
                    select(postings.c.asset, func.sum(postings.c.amount))
                    .where(postings.c.pending.is_(False))
                    .group_by(postings.c.asset)
                )
            ).all()
        )
    assert totals == {"USD": 0, "AAPL": 0}


async def test_a_fill_may_spend_cash_that_only_its_hold_covers(uows: UnitOfWorkFactory) -> None:
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 100_00)
    order = await place_hold(uows, "hold", books.alice_cash, books.clearing_cash, 100_00)
    spend = transfer(books.alice_cash.id, books.clearing_cash.id, "USD", 80_00)
    with pytest.raises(BusinessRuleViolation) as caught:
        async with uows() as uow:  # without the release it would spend the cash twice
            await post_entry(uow, key="fill", postings_=spend)
    assert caught.value.code == "insufficient_funds"
    async with uows() as uow:
        await post_entry(uow, key="fill", postings_=spend, releases=[Release(order.id, 80_00)])
    assert await balances(uows, books.alice_cash) == (20_00, 0)
    assert await held(uows, order.id) == 20_00
    with pytest.raises(BusinessRuleViolation) as caught:
        async with uows() as uow:  # releasing less than it spends beyond the hold overdraws
            await post_entry(
                uow,
                key="fill-2",
                postings_=transfer(books.alice_cash.id, books.clearing_cash.id, "USD", 20_01),
                releases=[Release(order.id, 20_00)],
            )
    assert caught.value.code == "insufficient_funds"
    assert await held(uows, order.id) == 20_00


async def test_capped_releases_and_their_refusals(uows: UnitOfWorkFactory) -> None:
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 100_00)
    order = await place_hold(uows, "hold", books.alice_cash, books.clearing_cash, 30_00)
    pay = transfer(books.alice_cash.id, books.clearing_cash.id, "USD", 35_00)
    with pytest.raises(InvalidInput) as caught:
        async with uows() as uow:
            await post_entry(uow, key="f1", postings_=pay, releases=[Release(order.id, 35_00)])
    assert caught.value.code == "invalid_release_amount"
    async with uows() as uow:  # capped: the fill costs more than was held, it takes it all
        await post_entry(
            uow, key="f1", postings_=pay, releases=[Release(order.id, 35_00, capped=True)]
        )
    assert await held(uows, order.id) == 0
    assert await balances(uows, books.alice_cash) == (65_00, 65_00)
    async with uows() as uow:  # holding nothing, a capped release releases nothing
        await post_entry(
            uow,
            key="f2",
            postings_=transfer(books.alice_cash.id, books.clearing_cash.id, "USD", 5_00),
            releases=[Release(order.id, 5_00, capped=True)],
        )
    kinds = [kind for kind, _ in (await rows_by_key(uows)).values()]
    assert sorted(kinds).count("release") == 1
    assert await balances(uows, books.alice_cash) == (60_00, 60_00)

    with pytest.raises(InvalidInput) as caught:
        async with uows() as uow:
            await post_entry(
                uow,
                key="f3",
                postings_=pay,
                releases=[Release(order.id, 1), Release(order.id, 2)],
            )
    assert caught.value.code == "duplicate_release"
    with pytest.raises(InvalidInput) as caught:
        Release(order.id, 0)
    assert caught.value.code == "invalid_release_amount"
    async with uows() as uow:
        await void_hold(uow, key="void", hold_id=order.id)
    with pytest.raises(BusinessRuleViolation) as refused:
        async with uows() as uow:
            await post_entry(
                uow, key="f4", postings_=pay, releases=[Release(order.id, 1, capped=True)]
            )
    assert refused.value.code == "hold_not_pending"
    async with uows() as uow:  # a retry of a fill whose hold has closed since gets its answer
        again = await post_entry(
            uow, key="f1", postings_=pay, releases=[Release(order.id, 35_00, capped=True)]
        )
    assert again.replayed
    with pytest.raises(Conflict):  # the same postings under the same key, other releases
        async with uows() as uow:
            await post_entry(uow, key="f1", postings_=pay)


async def test_customer_account_finds_without_opening(uows: UnitOfWorkFactory) -> None:
    books = await open_books(uows)
    async with uows() as uow:
        found = await customer_account(uow, ALICE, AccountKind.CUSTOMER_CASH, USD)
        missing = await customer_account(uow, ALICE, AccountKind.CUSTOMER_CASH, Asset("EUR", 2))
        with pytest.raises(NotFound):
            await account_balances(uow, uuid.UUID(int=404))
    assert found is not None
    assert found.id == books.alice_cash.id
    assert missing is None
    assert await count(uows, entries) == 0


async def test_concurrent_releases_of_one_hold_never_give_back_more_than_it_holds(
    uows: UnitOfWorkFactory, database: Database
) -> None:
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 100_00)
    order = await place_hold(uows, "hold", books.alice_cash, books.clearing_cash, 100_00)

    async def give_back(n: int) -> str:
        try:
            async with uows() as uow:
                await release_hold(uow, key=f"r{n}", hold_id=order.id, amount=15_00)
        except InvalidInput as refused:
            return str(refused.code)
        return "released"

    results = await asyncio.gather(*(give_back(n) for n in range(10)))
    assert sorted(results) == ["invalid_release_amount"] * 4 + ["released"] * 6
    assert await held(uows, order.id) == 10_00
    assert await balances(uows, books.alice_cash) == (100_00, 90_00)
    assert (await check_ledger(database)).problems == []


async def test_fills_on_both_sides_racing_on_shared_accounts_book_exactly(
    uows: UnitOfWorkFactory, database: Database
) -> None:
    """Buyers hold cash and sellers hold shares; every fill locks its hold, then clearing cash
    and clearing shares, so fills of opposite sides wait for each other instead of
    deadlocking (on PostgreSQL; SQLite runs one writer at a time)."""
    books = await open_books(uows)
    buyers: list[tuple[Account, Account]] = []
    sellers: list[tuple[Account, Account]] = []
    async with uows() as uow:
        for n in range(6):
            cash = await open_account(
                uow, kind=AccountKind.CUSTOMER_CASH, asset=USD, owner_id=uuid.UUID(int=100 + n)
            )
            shares = await open_account(
                uow,
                kind=AccountKind.CUSTOMER_SECURITIES,
                asset=AAPL,
                owner_id=uuid.UUID(int=100 + n),
            )
            await post_entry(
                uow, key=f"cash-{n}", postings_=transfer(books.bank.id, cash.id, "USD", 1_000_00)
            )
            await post_entry(
                uow,
                key=f"shares-{n}",
                postings_=transfer(books.clearing_shares.id, shares.id, "AAPL", 5 * SHARE),
            )
            (buyers if n % 2 == 0 else sellers).append((cash, shares))
    holds: dict[uuid.UUID, Entry] = {}
    for n, (cash, _) in enumerate(buyers):
        holds[cash.id] = await place_hold(uows, f"b{n}", cash, books.clearing_cash, 500_00)
    for n, (_, shares) in enumerate(sellers):
        holds[shares.id] = await place_hold(uows, f"s{n}", shares, books.clearing_shares, 5 * SHARE)

    async def fill(n: int, side: str, cash: Account, shares: Account) -> None:
        sign = 1 if side == "buy" else -1  # one share at 100.00, no fee
        held_account = cash if side == "buy" else shares
        async with uows() as uow:
            await post_entry(
                uow,
                key=f"{side}-{cash.id}-{n}",
                postings_=[
                    Posting(cash.id, "USD", sign * 100_00),
                    Posting(books.clearing_cash.id, "USD", -sign * 100_00),
                    Posting(books.clearing_shares.id, "AAPL", sign * SHARE),
                    Posting(shares.id, "AAPL", -sign * SHARE),
                ],
                releases=[Release(holds[held_account.id].id, 100_00 if side == "buy" else SHARE)],
            )

    await asyncio.gather(
        *(fill(n, "buy", c, s) for n in range(4) for c, s in buyers),
        *(fill(n, "sell", c, s) for n in range(4) for c, s in sellers),
    )
    for cash, shares in buyers:
        assert await balances(uows, cash) == (600_00, 500_00)
        assert await balances(uows, shares) == (9 * SHARE, 9 * SHARE)
        assert await held(uows, holds[cash.id].id) == 100_00
    for cash, shares in sellers:
        assert await balances(uows, cash) == (1_400_00, 1_400_00)
        assert await balances(uows, shares) == (SHARE, 0)
        assert await held(uows, holds[shares.id].id) == SHARE
    assert await balances(uows, books.clearing_cash) == (0, 0)
    assert (await check_ledger(database)).problems == []


async def test_a_caller_may_lock_the_customer_first_then_book_a_fill_that_releases(
    uows: UnitOfWorkFactory, database: Database
) -> None:
    """Trading locks the customer's accounts (for buying power) before it books; a release of
    the same hold racing it must queue, not deadlock: every write locks accounts before
    holds (on PostgreSQL; SQLite runs one writer at a time)."""
    books = await open_books(uows)
    await deposit(uows, books, books.alice_cash, 1_000_00)
    orders = [
        await place_hold(uows, f"h{n}", books.alice_cash, books.clearing_cash, 100_00)
        for n in range(5)
    ]

    async def fill(order: Entry) -> None:
        async with uows() as uow:
            await lock_accounts(uow, [books.alice_cash.id])
            await asyncio.sleep(0.01)  # the release below gets going meanwhile
            await post_entry(
                uow,
                key=f"fill-{order.id}",
                postings_=transfer(books.alice_cash.id, books.clearing_cash.id, "USD", 60_00),
                releases=[Release(order.id, 60_00)],
            )

    async def give_back(order: Entry) -> None:
        async with uows() as uow:
            await release_hold(uow, key=f"rel-{order.id}", hold_id=order.id, amount=40_00)

    await asyncio.gather(*(call(o) for o in orders for call in (fill, give_back)))
    assert [await held(uows, o.id) for o in orders] == [0] * 5
    assert await balances(uows, books.alice_cash) == (1_000_00 - 5 * 60_00, 1_000_00 - 5 * 60_00)
    assert (await check_ledger(database)).problems == []
