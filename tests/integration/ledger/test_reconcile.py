"""The ledger check and bank-statement reconciliation, on both databases (and the pure parts
without one)."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Boolean, Uuid, bindparam, insert, text

from finplat.kernel import Amount, Asset, ManualClock
from finplat.ledger.accounts import Account, open_account
from finplat.ledger.domain import AccountKind, transfer
from finplat.ledger.journal import hold, post_entry, post_hold, release_hold, void_hold
from finplat.ledger.reconcile import (
    LedgerItem,
    MatchBy,
    ProblemKind,
    StatementLine,
    check_ledger,
    format_check,
    format_report,
    parse_statement,
    reconcile,
    reconcile_statement,
)
from finplat.ledger.store import entries
from finplat.platform.db import Database, UnitOfWorkFactory, UtcDateTime

USD = Asset("USD", 2)
SAMPLE = Path(__file__).with_name("statement_sample.csv")


@dataclass(frozen=True)
class Books:
    bank: Account
    suspense: Account
    clearing: Account
    alice: Account
    bob: Account


async def open_books(uows: UnitOfWorkFactory) -> Books:
    async with uows() as uow:
        return Books(
            bank=await open_account(uow, kind=AccountKind.OMNIBUS_BANK, asset=USD),
            suspense=await open_account(uow, kind=AccountKind.SUSPENSE, asset=USD),
            clearing=await open_account(uow, kind=AccountKind.CLEARING, asset=USD),
            alice=await open_account(
                uow, kind=AccountKind.CUSTOMER_CASH, asset=USD, owner_id=uuid.UUID(int=1)
            ),
            bob=await open_account(
                uow, kind=AccountKind.CUSTOMER_CASH, asset=USD, owner_id=uuid.UUID(int=2)
            ),
        )


def usd(minor: int) -> Amount:
    return Amount(USD, minor)


def on(clock: ManualClock, day: int, hour: int = 15) -> None:
    clock.set(datetime(2026, 1, day, hour, tzinfo=UTC))


async def bank_move(
    uows: UnitOfWorkFactory,
    books: Books,
    key: str,
    minor: int,
    reference: str | None,
    *,
    other: Account | None = None,
) -> uuid.UUID:
    """Money into the bank (minor > 0, credited to `other`) or out of it (minor < 0)."""
    counterpart = other or books.alice
    postings_ = (
        transfer(books.bank.id, counterpart.id, "USD", minor)
        if minor > 0
        else transfer(counterpart.id, books.bank.id, "USD", -minor)
    )
    meta = {"bank_reference": reference} if reference is not None else {}
    async with uows() as uow:
        entry = await post_entry(
            uow, key=key, postings_=postings_, description=f"test {key}", meta=meta
        )
    return entry.id


# --- the ledger check ----------------------------------------------------------------------


async def busy_ledger(uows: UnitOfWorkFactory) -> Books:
    """Deposits, a withdrawal, and holds in every state: pending, partly posted, voided."""
    books = await open_books(uows)
    await bank_move(uows, books, "dep-a", 500_00, "DEP-A")
    await bank_move(uows, books, "dep-b", 80_00, "DEP-B", other=books.bob)
    await bank_move(uows, books, "wdr-a", -25_00, "WDR-A")
    async with uows() as uow:
        kept = await hold(
            uow, key="h1", debit=books.alice.id, credit=books.clearing.id, asset="USD", amount=60_00
        )
        settled = await hold(
            uow, key="h2", debit=books.alice.id, credit=books.clearing.id, asset="USD", amount=40_00
        )
        voided = await hold(
            uow, key="h3", debit=books.bob.id, credit=books.clearing.id, asset="USD", amount=30_00
        )
        await post_hold(uow, key="p2", hold_id=settled.id, amount=35_50)
        await void_hold(uow, key="v3", hold_id=voided.id)
    assert kept.id
    return books


async def test_a_clean_ledger_checks_ok(database: Database, uows: UnitOfWorkFactory) -> None:
    await busy_ledger(uows)
    check = await check_ledger(database)
    assert check.problems == []
    assert check.ok
    assert check.accounts_checked == 5
    assert check.entries_checked == 8  # 3 transfers, 3 holds, a post and a void
    assert format_check(check) == "Ledger check: 5 accounts, 8 entries: OK"


async def test_an_empty_ledger_checks_ok(database: Database) -> None:
    check = await check_ledger(database)
    assert (check.ok, check.accounts_checked, check.entries_checked) == (True, 0, 0)


async def test_a_corrupted_counter_is_reported_with_expected_and_found(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    books = await busy_ledger(uows)
    async with uows() as uow:
        await uow.session.execute(
            text("UPDATE ledger_accounts SET credits_posted = credits_posted + 5 WHERE code = :c"),
            {"c": books.alice.code},
        )
    check = await check_ledger(database)
    assert not check.ok
    [problem] = check.problems
    assert problem.kind is ProblemKind.CREDITS_POSTED
    assert problem.account_code == books.alice.code
    assert problem.account_id == books.alice.id
    assert problem.asset == "USD"
    assert problem.expected == 500_00  # the deposit
    assert problem.found == 500_05
    assert f"{books.alice.code}: credits_posted is 500.05 USD" in format_check(check)
    assert "but its postings give 500.00 USD" in format_check(check)


async def test_a_corrupted_pending_counter_is_reported(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    books = await busy_ledger(uows)
    async with uows() as uow:  # forget the one live hold (60.00) on alice
        await uow.session.execute(
            text("UPDATE ledger_accounts SET debits_pending = 0 WHERE code = :c"),
            {"c": books.alice.code},
        )
    [problem] = (await check_ledger(database)).problems
    assert (problem.kind, problem.expected, problem.found) == (
        ProblemKind.DEBITS_PENDING,
        60_00,
        0,
    )


INSERT_POSTING = text(
    "INSERT INTO ledger_postings (entry_id, account_id, asset, amount, pending, created_at) "
    "VALUES (:entry_id, :account_id, :asset, :amount, :pending, :created_at)"
).bindparams(
    bindparam("entry_id", type_=Uuid()),
    bindparam("account_id", type_=Uuid()),
    bindparam("pending", type_=Boolean()),
    bindparam("created_at", type_=UtcDateTime()),
)


async def insert_posting(
    uows: UnitOfWorkFactory,
    clock: ManualClock,
    *,
    entry_id: uuid.UUID,
    account_id: uuid.UUID,
    amount: int,
    asset: str = "USD",
    pending: bool = False,
) -> None:
    async with uows() as uow:
        await uow.session.execute(
            INSERT_POSTING,
            {
                "entry_id": entry_id,
                "account_id": account_id,
                "asset": asset,
                "amount": amount,
                "pending": pending,
                "created_at": clock.now(),
            },
        )


async def test_an_unbalanced_posting_breaks_the_trial_balance(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    books = await open_books(uows)
    entry = await bank_move(uows, books, "dep", 100_00, "DEP-1")
    await insert_posting(uows, clock, entry_id=entry, account_id=books.bank.id, amount=7)
    # keep the counter in step with the postings, so only the balance is wrong
    async with uows() as uow:
        await uow.session.execute(
            text("UPDATE ledger_accounts SET debits_posted = debits_posted + 7 WHERE code = :c"),
            {"c": books.bank.code},
        )
    check = await check_ledger(database)
    kinds = {(p.kind, p.entry_id) for p in check.problems}
    assert kinds == {(ProblemKind.TRIAL_BALANCE, None), (ProblemKind.UNBALANCED_ENTRY, entry)}
    trial = next(p for p in check.problems if p.kind is ProblemKind.TRIAL_BALANCE)
    assert (trial.asset, trial.expected, trial.found) == ("USD", 0, 7)
    report = format_check(check)
    assert "2 PROBLEM(S)" in report
    assert "[trial_balance] posted postings in USD sum to 0.07 USD, not 0" in report
    assert f"[unbalanced_entry] entry {entry}: postings in USD sum to 0.07 USD" in report


async def test_every_problem_is_reported_at_once(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    books = await busy_ledger(uows)
    entry = await bank_move(uows, books, "dep-c", 10_00, "DEP-C")
    nowhere, lost_entry = uuid.UUID(int=404), uuid.UUID(int=405)
    # a stray debit in a posted entry: trial balance, the entry, and bank's counter
    await insert_posting(uows, clock, entry_id=entry, account_id=books.bank.id, amount=3_00)
    # postings to an account that does not exist, in a balanced pair of a real entry
    await insert_posting(uows, clock, entry_id=entry, account_id=nowhere, amount=1_00)
    await insert_posting(uows, clock, entry_id=entry, account_id=books.suspense.id, amount=-1_00)
    # a balanced pair whose entry does not exist
    await insert_posting(uows, clock, entry_id=lost_entry, account_id=books.bob.id, amount=2_00)
    await insert_posting(uows, clock, entry_id=lost_entry, account_id=books.bob.id, amount=-2_00)
    # a EUR posting on a USD account (balanced within its entry by a second one)
    await insert_posting(
        uows, clock, entry_id=entry, account_id=books.clearing.id, amount=9, asset="EUR"
    )
    await insert_posting(
        uows, clock, entry_id=entry, account_id=books.clearing.id, amount=-9, asset="EUR"
    )
    async with uows() as uow:
        await uow.session.execute(
            text("UPDATE ledger_accounts SET debits_posted = 1 WHERE code = :c"),
            {"c": books.bob.code},
        )

    check = await check_ledger(database)
    found = {
        (p.kind, p.account_code or p.account_id or p.entry_id, p.asset, p.expected, p.found)
        for p in check.problems
    }
    assert found == {
        (ProblemKind.TRIAL_BALANCE, None, "USD", 0, 3_00),
        (ProblemKind.UNBALANCED_ENTRY, entry, "USD", 0, 3_00),
        # the bank: 500 + 80 + 10 in, plus the stray 3.00
        (ProblemKind.DEBITS_POSTED, books.bank.code, "USD", 593_00, 590_00),
        (ProblemKind.CREDITS_POSTED, books.suspense.code, "USD", 1_00, 0),
        (ProblemKind.DEBITS_POSTED, books.bob.code, "USD", 2_00, 1),  # 0 + the lost entry's
        (ProblemKind.CREDITS_POSTED, books.bob.code, "USD", 80_00 + 2_00, 80_00),
        (ProblemKind.DEBITS_POSTED, books.clearing.code, "USD", 9, 0),
        (ProblemKind.CREDITS_POSTED, books.clearing.code, "USD", 35_50 + 9, 35_50),
        (ProblemKind.ASSET_MISMATCH, books.clearing.code, "EUR", 0, 2),
        (ProblemKind.UNKNOWN_ACCOUNT, nowhere, "USD", 0, 1),
        (ProblemKind.MISSING_ENTRY, lost_entry, "USD", 0, 2),
    }
    assert len(check.problems) == len(found)
    assert not check.ok
    report = format_check(check).splitlines()
    assert report[0] == "Ledger check: 5 accounts, 9 entries: 11 PROBLEM(S)"
    assert len(report) == 12


# --- the ledger check with releases ----------------------------------------------------------


async def released_ledger(uows: UnitOfWorkFactory) -> tuple[Books, uuid.UUID, uuid.UUID]:
    """Alice holds 60.00 and gives 25.00 back (35.00 still held); Bob's 30.00 hold gives 10.00
    back, then settles for 12.00 (the rest released): open and closed holds with releases."""
    books = await open_books(uows)
    await bank_move(uows, books, "dep-a", 100_00, "DEP-A")
    await bank_move(uows, books, "dep-b", 50_00, "DEP-B", other=books.bob)
    async with uows() as uow:
        alices = await hold(
            uow, key="h1", debit=books.alice.id, credit=books.clearing.id, asset="USD", amount=60_00
        )
        bobs = await hold(
            uow, key="h2", debit=books.bob.id, credit=books.clearing.id, asset="USD", amount=30_00
        )
        await release_hold(uow, key="r1", hold_id=alices.id, amount=25_00)
        await release_hold(uow, key="r2", hold_id=bobs.id, amount=10_00)
        await post_hold(uow, key="p2", hold_id=bobs.id, amount=12_00)
    return books, alices.id, bobs.id


async def test_a_ledger_with_releases_checks_ok(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    await released_ledger(uows)
    check = await check_ledger(database)
    assert check.problems == []
    assert (check.accounts_checked, check.entries_checked) == (5, 7)


async def test_pending_counters_are_proven_net_of_releases(
    database: Database, uows: UnitOfWorkFactory
) -> None:
    books, _, _ = await released_ledger(uows)
    async with uows() as uow:  # as if the release had not lowered the counters
        await uow.session.execute(
            text("UPDATE ledger_accounts SET debits_pending = 6000 WHERE code = :c"),
            {"c": books.alice.code},
        )
        await uow.session.execute(
            text("UPDATE ledger_accounts SET credits_pending = 0 WHERE code = :c"),
            {"c": books.clearing.code},
        )
    found = {
        (p.kind, p.account_code, p.expected, p.found)
        for p in (await check_ledger(database)).problems
    }
    assert found == {
        (ProblemKind.DEBITS_PENDING, books.alice.code, 35_00, 60_00),
        (ProblemKind.CREDITS_PENDING, books.clearing.code, 35_00, 0),
    }


async def test_a_release_beyond_its_hold_is_reported(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    books, alices, bobs = await released_ledger(uows)
    stray = uuid.UUID(int=77)
    async with uows() as uow:  # a forged release of 25.00 more on Bob's closed 30.00 hold
        await uow.session.execute(
            insert(entries).values(
                id=stray,
                idempotency_key="forged",
                request_hash="x",
                kind="release",
                status="released",
                pending_id=bobs,
                description="",
                meta={},
                created_at=clock.now(),
            )
        )
    for account, amount in ((books.bob, -25_00), (books.clearing, 25_00)):
        await insert_posting(
            uows, clock, entry_id=stray, account_id=account.id, amount=amount, pending=True
        )
    check = await check_ledger(database)
    found = {(p.kind, p.entry_id, p.account_code, p.expected, p.found) for p in check.problems}
    # the hold is closed, so no counter moves; only its history is wrong
    assert found == {
        (ProblemKind.OVER_RELEASED, bobs, books.bob.code, 30_00, 35_00),
        (ProblemKind.OVER_RELEASED, bobs, books.clearing.code, 30_00, 35_00),
    }
    assert (
        f"[over_released] hold {bobs}: its releases on {books.bob.code} come to 35.00 USD "
        "against 30.00 USD held"
    ) in format_check(check)
    assert alices not in {p.entry_id for p in check.problems}


# --- statements: parsing (no database) -----------------------------------------------------


def test_the_sample_statement_parses_exactly() -> None:
    lines, errors = parse_statement(SAMPLE, USD)
    assert errors == []
    assert [(s.line_no, s.date, s.amount, s.reference) for s in lines] == [
        (2, date(2026, 1, 5), usd(100_00), "DEP-1001"),
        (3, date(2026, 1, 5), usd(250_50), "DEP-1002"),
        (4, date(2026, 1, 6), usd(-40_00), "WDR-2001"),
        (5, date(2026, 1, 6), usd(75_00), "DEP-1003"),
        (6, date(2026, 1, 7), usd(20_00), "DEP-1004"),
        (7, date(2026, 1, 8), usd(-12_34), ""),
    ]
    assert lines[1].description == "Wire deposit, customer B"


MALFORMED = """date,amount,reference,description
2026-01-05,100.00,DEP-1,fine
2026-13-01,5.00,X1,no such month
05/01/2026,5.00,X2,not ISO
2026-01-05,1.005,X3,too many places
2026-01-05,1e3,X4,exponent
2026-01-05,"1,000.00",X5,thousands separator
2026-01-05,0.00,X6,zero
2026-01-05,5.00,X7
2026-01-05,5.00,X8,too,many

2026-01-05,,X9,no amount
2026-01-05,+7.5,X10,"a description
over two lines"
2026-01-05,NaN,X11,not a number
2026-01-05,1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000.00,X12,huge
"""


def test_malformed_lines_are_reported_with_their_line_numbers() -> None:
    lines, errors = parse_statement(io.StringIO(MALFORMED), USD)
    assert [(s.line_no, s.amount, s.reference) for s in lines] == [
        (2, usd(100_00), "DEP-1"),
        (13, usd(7_50), "X10"),
    ]
    assert lines[1].description == "a description\nover two lines"
    messages = {e.line_no: e.message for e in errors}
    assert sorted(messages) == [3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 16]
    assert "not a calendar date" in messages[3]
    assert "is not YYYY-MM-DD" in messages[4]
    assert messages[5] == "amount '1.005' has 3 decimal places; USD has 2"
    assert "not a decimal number" in messages[6]
    assert "not a decimal number" in messages[7]
    assert messages[8] == "amount is zero"
    assert "found 3" in messages[9]
    assert "found 5" in messages[10]
    assert "not a decimal number" in messages[12]
    assert "not a decimal number" in messages[15]
    assert messages[16].endswith("is out of range")


def test_header_empty_file_and_scale_errors() -> None:
    assert parse_statement(io.StringIO(""), USD)[1][0].line_no == 1
    lines, errors = parse_statement(io.StringIO("when,amount,ref,text\n2026-01-05,1,A,x\n"), USD)
    assert lines == []
    assert [(e.line_no, e.message) for e in errors] == [
        (1, "the header must be 'date,amount,reference,description'")
    ]
    # a byte-order mark and spaced, capitalised names are fine
    text_ = "\ufeffDate, Amount ,Reference,Description\n2026-01-05,12,A,x\n"
    assert parse_statement(io.StringIO(text_), Asset("JPY", 0))[0][0].amount.minor == 12
    _, errors = parse_statement(
        io.StringIO("date,amount,reference,description\n2026-01-05,1.5,A,x"), Asset("JPY", 0)
    )
    assert errors[0].message == "amount '1.5' has 1 decimal places; JPY has 0"


def test_a_file_that_is_not_utf8_is_reported_from_where_it_breaks(tmp_path: Path) -> None:
    statement = tmp_path / "statement.csv"
    statement.write_bytes(b"date,amount,reference,description\n2026-01-05,1.00,A,caf\xe9\n")
    lines, errors = parse_statement(statement, USD)
    assert lines == []
    assert len(errors) == 1
    assert "unreadable from here on" in errors[0].message


def test_control_characters_in_statement_text_are_escaped_in_reports() -> None:
    source = "date,amount,reference,description\n2026-01-05,\x1b[31m1.00,A,x\n"
    _, errors = parse_statement(io.StringIO(source), USD)
    assert "\x1b" not in errors[0].message
    assert "\\u001b" in errors[0].message


# --- statements: matching (no database) ----------------------------------------------------


def line(line_no: int, day: int, minor: int, reference: str = "") -> StatementLine:
    return StatementLine(line_no, date(2026, 1, day), usd(minor), reference, "")


def item(n: int, day: int, minor: int, reference: str | None = None) -> LedgerItem:
    return LedgerItem(uuid.UUID(int=n), reference, usd(minor), date(2026, 1, day))


def test_amount_and_date_matching_finds_as_many_pairs_as_possible() -> None:
    # the closest item of line 2 (day 10) is day 11, which line 3 (day 12) needs: line 2 must
    # take day 8 for both to match
    result = reconcile(
        [line(2, 10, 5_00), line(3, 12, 5_00)], [item(1, 11, 5_00), item(2, 8, 5_00)], asset=USD
    )
    assert {(m.line.line_no, m.entry_id.int) for m in result.matched} == {(2, 2), (3, 1)}
    assert result.ok


def test_amount_and_date_matching_prefers_the_closest_date() -> None:
    result = reconcile(
        [line(2, 5, 5_00)],
        [item(1, 3, 5_00), item(2, 5, 5_00)],
        asset=USD,
        start=date(2026, 1, 1),
    )
    assert [(m.entry_id.int, m.by) for m in result.matched] == [(2, MatchBy.AMOUNT_AND_DATE)]
    assert [i.entry_id.int for i in result.unexpected_in_ledger] == [1]


def test_dates_more_than_two_days_apart_do_not_match() -> None:
    result = reconcile([line(2, 10, 5_00)], [item(1, 13, 5_00)], asset=USD, end=date(2026, 1, 31))
    assert result.matched == []
    assert [s.line_no for s in result.missing_in_ledger] == [2]
    assert [i.entry_id.int for i in result.unexpected_in_ledger] == [1]


def test_a_repeated_reference_matches_equal_amounts_first() -> None:
    result = reconcile(
        [line(2, 5, 10_00, "R"), line(3, 6, 20_00, "R"), line(4, 7, 30_00, "R")],
        [item(1, 5, 20_00, "R"), item(2, 6, 25_00, "R")],
        asset=USD,
    )
    assert [(m.line.line_no, m.entry_id.int) for m in result.matched] == [(3, 1)]
    assert [(m.line.line_no, m.entry_id.int) for m in result.amount_mismatches] == [(2, 2)]
    assert result.amount_mismatches[0].difference == usd(-15_00)
    assert [s.line_no for s in result.missing_in_ledger] == [4]


# --- statements: against the database -----------------------------------------------------


async def sample_ledger(uows: UnitOfWorkFactory, clock: ManualClock) -> dict[str, uuid.UUID]:
    books = await open_books(uows)
    ids: dict[str, uuid.UUID] = {}
    on(clock, 5)
    ids["DEP-1001"] = await bank_move(uows, books, "d1", 100_00, "DEP-1001")
    ids["DEP-1002"] = await bank_move(uows, books, "d2", 250_50, "DEP-1002", other=books.bob)
    on(clock, 6)
    ids["WDR-2001"] = await bank_move(uows, books, "w1", -40_00, "WDR-2001")
    ids["DEP-1003"] = await bank_move(uows, books, "d3", 70_00, "DEP-1003")  # bank said 75
    on(clock, 7)
    ids["DEP-1999"] = await bank_move(uows, books, "d9", 30_00, "DEP-1999")  # not on the bank
    # the bank's fee, booked a day before the bank dated it, under the platform's own reference
    ids["FEE"] = await bank_move(uows, books, "fee", -12_34, "FEE-2026-01", other=books.suspense)
    # an entry that touches neither side's bank account leaves no trace
    async with uows() as uow:
        await post_entry(
            uow, key="internal", postings_=transfer(books.suspense.id, books.bob.id, "USD", 1_00)
        )
    on(clock, 10)  # just after the statement's period: the next statement's business
    ids["DEP-2000"] = await bank_move(uows, books, "d10", 10_00, "DEP-2000")
    return ids


async def test_the_sample_statement_reconciles_with_every_kind_of_difference(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    ids = await sample_ledger(uows, clock)
    result = await reconcile_statement(database, SAMPLE, asset=USD)

    assert (result.start, result.end) == (date(2026, 1, 5), date(2026, 1, 8))
    assert result.account_code == "platform:omnibus_bank:USD"
    assert [(m.line.line_no, m.entry_id, m.by) for m in result.matched] == [
        (2, ids["DEP-1001"], MatchBy.REFERENCE),
        (3, ids["DEP-1002"], MatchBy.REFERENCE),
        (4, ids["WDR-2001"], MatchBy.REFERENCE),
        (7, ids["FEE"], MatchBy.AMOUNT_AND_DATE),
    ]
    [mismatch] = result.amount_mismatches
    assert (mismatch.line.line_no, mismatch.entry_id) == (5, ids["DEP-1003"])
    assert (mismatch.line.amount, mismatch.item.amount) == (usd(75_00), usd(70_00))
    assert [s.reference for s in result.missing_in_ledger] == ["DEP-1004"]
    [unexpected] = result.unexpected_in_ledger
    assert unexpected == LedgerItem(
        ids["DEP-1999"], "DEP-1999", usd(30_00), date(2026, 1, 7), "test d9"
    )
    assert result.errors == []
    assert result.statement_total == usd(100_00 + 250_50 - 40_00 + 75_00 + 20_00 - 12_34)
    assert result.ledger_total == usd(100_00 + 250_50 - 40_00 + 70_00 + 30_00 - 12_34)
    assert result.outside_period == 1  # DEP-2000, dated the 10th
    assert not result.ok

    report = format_report(result)
    assert report.startswith(
        "Bank reconciliation of platform:omnibus_bank:USD, 2026-01-05 to 2026-01-08: "
        "DIFFERENCES FOUND"
    )
    assert "difference       -5.00 USD" in report
    assert "matched          4 (3 by reference, 1 by amount and date)" in report
    assert "amount mismatches (same reference) (1):" in report
    assert f"ledger 70.00 in entry {ids['DEP-1003']} (2026-01-06), difference 5.00" in report
    assert "missing in the ledger (1):\n    line 6  2026-01-07  20.00  DEP-1004" in report
    assert f"unexpected in the ledger (1):\n    entry {ids['DEP-1999']}  2026-01-07" in report
    assert "malformed" not in report


async def test_a_statement_that_agrees_with_the_ledger_is_ok(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    books = await open_books(uows)
    on(clock, 5)
    first = await bank_move(uows, books, "a", 10_00, "A-1")
    on(clock, 6)
    await bank_move(uows, books, "b", -4_00, None)  # the ledger recorded no reference
    statement = io.StringIO(
        "date,amount,reference,description\n"
        "2026-01-05,10.00,A-1,deposit\n"
        "2026-01-07,-4.00,BANK-77,withdrawal\n"
    )
    result = await reconcile_statement(database, statement, asset=USD)
    assert result.ok
    assert [(m.entry_id == first, m.by) for m in result.matched] == [
        (True, MatchBy.REFERENCE),
        (False, MatchBy.AMOUNT_AND_DATE),
    ]
    assert result.statement_total == result.ledger_total == usd(6_00)
    assert format_report(result).splitlines()[0].endswith(": OK")


async def test_malformed_lines_are_reported_and_the_rest_still_reconciles(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    books = await open_books(uows)
    on(clock, 5)
    entry = await bank_move(uows, books, "dep", 100_00, "DEP-1")
    result = await reconcile_statement(database, io.StringIO(MALFORMED), asset=USD)
    assert [(m.line.line_no, m.entry_id) for m in result.matched] == [(2, entry)]
    assert [s.line_no for s in result.missing_in_ledger] == [13]
    assert [e.line_no for e in result.errors] == [3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 16]
    assert result.statement_total == usd(107_50)
    assert not result.ok
    report = format_report(result)
    assert "malformed statement lines (11):" in report
    assert "line 5: amount '1.005' has 3 decimal places; USD has 2" in report


async def test_a_reference_matches_whatever_the_date_and_the_period_can_be_given(
    database: Database, uows: UnitOfWorkFactory, clock: ManualClock
) -> None:
    books = await open_books(uows)
    on(clock, 5)
    late = await bank_move(uows, books, "old", 15_00, "OLD-1")  # the bank took a week
    on(clock, 25)
    stray = await bank_move(uows, books, "stray", 3_00, None)
    statement = "date,amount,reference,description\n2026-01-12,15.00,OLD-1,deposit\n"

    result = await reconcile_statement(database, io.StringIO(statement), asset=USD)
    assert [(m.entry_id, m.by) for m in result.matched] == [(late, MatchBy.REFERENCE)]
    assert result.ok

    whole_month = await reconcile_statement(
        database,
        io.StringIO(statement),
        asset=USD,
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
    )
    assert [i.entry_id for i in whole_month.unexpected_in_ledger] == [stray]
    assert whole_month.unexpected_in_ledger[0].reference is None
    assert not whole_month.ok


async def test_no_bank_account_yet_means_every_line_is_missing(database: Database) -> None:
    result = await reconcile_statement(database, SAMPLE, asset=USD)
    assert len(result.missing_in_ledger) == 6
    assert result.ledger_total == usd(0)
    assert not result.ok
