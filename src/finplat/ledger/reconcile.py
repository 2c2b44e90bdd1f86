"""Proving the ledger, and reconciling it with the bank.

`check_ledger` re-derives every figure the posting engine keeps from the postings themselves,
with aggregate SQL in one read-only snapshot, and reports every difference it finds (never
only the first): the trial balance per asset, each account's four counters (pending ones from
the holds still pending, less their releases), each entry's balance per asset, releases that
give back more than their hold held, and postings that point at no account or no entry or
carry another asset than their account.

`reconcile_statement` compares a bank statement (CSV, format below) with the postings to the
platform's omnibus bank account of one asset.

Statement CSV format
--------------------
UTF-8 (a byte-order mark is tolerated), comma-separated, fields quoted as in RFC 4180 when
they contain a comma, a quote or a line break. The first line is the header, these four
names in this order (case and spaces around them are ignored)::

    date,amount,reference,description

and every following non-blank line is one bank movement:

- ``date``: the booking date, ISO 8601 ``YYYY-MM-DD``.
- ``amount``: a signed decimal in major units, in the asset's currency: positive is money
  into the bank account (a deposit), negative is money out (a withdrawal, a fee). Digits, an
  optional leading sign and an optional decimal point only: no exponent, no thousands
  separators, no currency sign, at most the asset's number of decimal places (2 for USD), not
  zero.
- ``reference``: the bank's reference for the movement; may be empty.
- ``description``: free text; may be empty.

Example::

    date,amount,reference,description
    2026-01-05,100.00,DEP-1001,Deposit from A. Customer
    2026-01-06,-40.00,WDR-2001,"Withdrawal, to A. Customer"
    2026-01-08,-12.34,,Monthly account fee

A malformed line (wrong column count, bad date, bad amount, too many decimal places) is
reported in `Reconciliation.errors` with its line number and takes no part in the matching.

Matching
--------
The ledger side is one item per posted entry touching ``platform:omnibus_bank:<ASSET>``: the
sum of that entry's postings to the account (a debit, money in, is positive, as on the
statement), the entry's UTC creation date, and the ``bank_reference`` of its ``meta`` (an
entry without one still counts: it can match by amount and date, or be unexpected).

1. By reference: a line and an item with the same reference (trimmed, case-sensitive) and
   the same amount match, whatever their dates. Lines and items of one reference left after
   that are paired in date order as amount mismatches.
2. By amount and date: every line still unmatched may match one item still unmatched with
   the same amount dated at most `MATCH_WINDOW_DAYS` days apart; the pairing is one-to-one,
   matches as many lines as possible and, among such pairings, has the fewest days apart in
   total.

The period is the statement's first to last date unless given. Items dated inside it that
match nothing are unexpected; items dated outside it are fetched only to be matched (a
deposit the bank booked on the 31st and the ledger on the 1st) and are otherwise left to the
neighbouring statement.
"""

from __future__ import annotations

import asyncio
import csv
import re
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from finplat.kernel import Amount, Asset, InvalidInput
from finplat.ledger.accounts import platform_code
from finplat.ledger.domain import MAX_AMOUNT, AccountKind, EntryStatus
from finplat.ledger.store import accounts, entries, postings
from finplat.platform.db import Database

#: A line and an item of the same amount match when their dates are at most this far apart.
MATCH_WINDOW_DAYS = 2
#: The statement's header line, in this order.
STATEMENT_COLUMNS = ("date", "amount", "reference", "description")
_REFERENCE_BATCH = 500


# --- the ledger check --------------------------------------------------------------------


class ProblemKind(StrEnum):
    """What `check_ledger` found wrong. `expected` is derived from the postings, `found` is
    what the database holds; both in minor units unless the kind says otherwise."""

    #: the posted postings of `asset` do not sum to zero; expected 0, found their sum
    TRIAL_BALANCE = "trial_balance"
    #: an account counter differs from its postings; expected the postings, found the counter
    DEBITS_POSTED = "debits_posted"
    CREDITS_POSTED = "credits_posted"
    DEBITS_PENDING = "debits_pending"
    CREDITS_PENDING = "credits_pending"
    #: an entry's postings of `asset` do not sum to zero; expected 0, found their sum
    UNBALANCED_ENTRY = "unbalanced_entry"
    #: postings of another asset than their account's; expected 0, found how many postings
    ASSET_MISMATCH = "asset_mismatch"
    #: postings to an account id that does not exist; expected 0, found how many postings
    UNKNOWN_ACCOUNT = "unknown_account"
    #: postings of an entry id that does not exist; expected 0, found how many postings
    MISSING_ENTRY = "missing_entry"
    #: releases of a hold (`entry_id`) give back more on an account than the hold put there,
    #: or add to it, or name an account or a hold it does not have; expected what the hold
    #: holds there (at most), found what its releases give back
    OVER_RELEASED = "over_released"


#: the kinds whose `expected` and `found` count postings rather than minor units
COUNT_KINDS = frozenset(
    {ProblemKind.ASSET_MISMATCH, ProblemKind.UNKNOWN_ACCOUNT, ProblemKind.MISSING_ENTRY}
)


@dataclass(frozen=True, kw_only=True)
class LedgerProblem:
    """One difference. Account problems name `account_code` and `account_id` (only the id
    for an unknown account); entry problems name `entry_id`; trial balances neither."""

    kind: ProblemKind
    asset: str
    expected: int
    found: int
    account_code: str | None = None
    account_id: uuid.UUID | None = None
    entry_id: uuid.UUID | None = None
    #: the asset's scale when an account of it exists (to show major units)
    scale: int | None = None


@dataclass(frozen=True)
class LedgerCheck:
    """`ok` when `problems` is empty. `entries_checked` counts every entry (each one's
    postings must balance per asset, holds' pending postings included)."""

    ok: bool
    accounts_checked: int
    entries_checked: int
    problems: list[LedgerProblem]


@asynccontextmanager
async def _snapshot(database: Database) -> AsyncIterator[AsyncSession]:
    """A read-only transaction whose statements all see one state of the database.

    SQLite (WAL) gives a transaction a snapshot at its first read; PostgreSQL needs
    REPEATABLE READ for that (its default gives each statement a fresh snapshot, which could
    pair counters from before a write with postings from after it).
    """
    async with database.session(read_only=True) as session, session.begin():
        if not database.is_sqlite:
            await session.connection(
                execution_options={
                    "isolation_level": "REPEATABLE READ",
                    "postgresql_readonly": True,
                }
            )
        yield session


async def _rows(session: AsyncSession, query: Select[Any]) -> AsyncIterator[Any]:
    """Stream a query's rows (a server-side cursor on PostgreSQL)."""
    result = await session.stream(query)
    async for row in result:
        yield row


async def check_ledger(database: Database) -> LedgerCheck:
    """Prove the stored ledger against its postings; read-only, every problem reported."""
    async with _snapshot(database) as session:
        scales: dict[str, int] = {
            row.asset: int(row.scale)
            for row in await session.execute(
                select(accounts.c.asset, func.max(accounts.c.scale).label("scale")).group_by(
                    accounts.c.asset
                )
            )
        }
        accounts_checked = int(
            await session.scalar(select(func.count()).select_from(accounts)) or 0
        )
        entries_checked = int(await session.scalar(select(func.count()).select_from(entries)) or 0)
        problems: list[LedgerProblem] = []
        for produce in (
            _trial_balance,
            _counters,
            _unbalanced_entries,
            _over_released,
            _asset_mismatches,
            _unknown_accounts,
            _missing_entries,
        ):
            async for problem in produce(session, scales):
                problems.append(problem)
    return LedgerCheck(
        ok=not problems,
        accounts_checked=accounts_checked,
        entries_checked=entries_checked,
        problems=problems,
    )


async def _trial_balance(
    session: AsyncSession, scales: dict[str, int]
) -> AsyncIterator[LedgerProblem]:
    total = func.sum(postings.c.amount)
    query = (
        select(postings.c.asset, total.label("total"))
        .where(postings.c.pending.is_(False))
        .group_by(postings.c.asset)
        .having(total != 0)
        .order_by(postings.c.asset)
    )
    async for row in _rows(session, query):
        yield LedgerProblem(
            kind=ProblemKind.TRIAL_BALANCE,
            asset=row.asset,
            expected=0,
            found=int(row.total),
            scale=scales.get(row.asset),
        )


_COUNTERS = (
    ProblemKind.DEBITS_POSTED,
    ProblemKind.CREDITS_POSTED,
    ProblemKind.DEBITS_PENDING,
    ProblemKind.CREDITS_PENDING,
)


def _hold_of_entry() -> Any:
    """The hold a pending posting belongs to: its own entry, or the hold its release names."""
    return case((entries.c.kind == "release", entries.c.pending_id), else_=entries.c.id)


def _pending_sums() -> Any:
    """Each account's pending counters from its holds still pending: per hold and account, the
    hold's posting plus its releases' (which reverse it) is what the hold still holds there;
    a debit adds to debits_pending, a credit to credits_pending."""
    hold = entries.alias("hold")
    hold_id = _hold_of_entry()
    net = func.sum(postings.c.amount)
    per_hold = (
        select(postings.c.account_id, net.label("net"))
        .select_from(
            postings.join(entries, entries.c.id == postings.c.entry_id).join(
                hold, hold.c.id == hold_id
            )
        )
        .where(postings.c.pending.is_(True))
        .where(hold.c.status == EntryStatus.PENDING.value)
        .group_by(hold_id, postings.c.account_id)
        .subquery()
    )
    return (
        select(
            per_hold.c.account_id,
            func.sum(case((per_hold.c.net > 0, per_hold.c.net), else_=0)).label("debits_pending"),
            func.sum(case((per_hold.c.net < 0, -per_hold.c.net), else_=0)).label("credits_pending"),
        )
        .group_by(per_hold.c.account_id)
        .subquery()
    )


async def _counters(session: AsyncSession, scales: dict[str, int]) -> AsyncIterator[LedgerProblem]:
    """Each account's counters against the sums of its postings; only differing rows return.

    Pending postings count while their hold is still pending: releasing part of a hold adds
    pending postings that reverse that part; posting, voiding or expiring a hold releases its
    pending counters and leaves the postings in place.
    """
    amount = postings.c.amount
    posted_sums = (
        select(
            postings.c.account_id,
            func.sum(case((amount > 0, amount), else_=0)).label("debits_posted"),
            func.sum(case((amount < 0, -amount), else_=0)).label("credits_posted"),
        )
        .where(postings.c.pending.is_(False))
        .group_by(postings.c.account_id)
        .subquery()
    )
    pending_sums = _pending_sums()
    derived = [
        func.coalesce(sums.c[kind.value], 0).label(f"sum_{kind.value}")
        for sums, kind in zip(
            (posted_sums, posted_sums, pending_sums, pending_sums), _COUNTERS, strict=True
        )
    ]
    stored = [accounts.c[kind.value] for kind in _COUNTERS]
    query = (
        select(
            accounts.c.id, accounts.c.code, accounts.c.asset, accounts.c.scale, *stored, *derived
        )
        .select_from(
            accounts.outerjoin(posted_sums, posted_sums.c.account_id == accounts.c.id).outerjoin(
                pending_sums, pending_sums.c.account_id == accounts.c.id
            )
        )
        .where(or_(*(s != d for s, d in zip(stored, derived, strict=True))))
        .order_by(accounts.c.code)
    )
    async for row in _rows(session, query):
        for kind in _COUNTERS:
            counter = int(row._mapping[kind.value])
            expected = int(row._mapping[f"sum_{kind.value}"])
            if counter != expected:
                yield LedgerProblem(
                    kind=kind,
                    asset=row.asset,
                    expected=expected,
                    found=counter,
                    account_code=row.code,
                    account_id=row.id,
                    scale=int(row.scale),
                )


async def _unbalanced_entries(
    session: AsyncSession, scales: dict[str, int]
) -> AsyncIterator[LedgerProblem]:
    """Every entry's postings sum to zero per asset: entries and posts (posted postings) and
    holds (pending postings, which must balance as well)."""
    total = func.sum(postings.c.amount)
    query = (
        select(postings.c.entry_id, postings.c.asset, total.label("total"))
        .select_from(postings.join(entries, entries.c.id == postings.c.entry_id))
        .group_by(postings.c.entry_id, postings.c.asset)
        .having(total != 0)
        .order_by(postings.c.entry_id, postings.c.asset)
    )
    async for row in _rows(session, query):
        yield LedgerProblem(
            kind=ProblemKind.UNBALANCED_ENTRY,
            asset=row.asset,
            expected=0,
            found=int(row.total),
            entry_id=row.entry_id,
            scale=scales.get(row.asset),
        )


async def _over_released(
    session: AsyncSession, scales: dict[str, int]
) -> AsyncIterator[LedgerProblem]:
    """Per hold and account, its releases reverse part of its posting, never more (whatever
    the hold's status: a closed hold's history must add up too)."""
    hold_id = _hold_of_entry()
    amount = postings.c.amount
    held = func.sum(case((entries.c.kind == "hold", amount), else_=0))
    released = func.sum(case((entries.c.kind == "release", amount), else_=0))
    per_hold = (
        select(
            hold_id.label("hold_id"),
            postings.c.account_id,
            postings.c.asset,
            held.label("held"),
            released.label("released"),
        )
        .select_from(postings.join(entries, entries.c.id == postings.c.entry_id))
        .where(postings.c.pending.is_(True))
        .where(entries.c.kind.in_(("hold", "release")))
        .group_by(hold_id, postings.c.account_id, postings.c.asset)
        .having(
            or_(
                held == 0,  # an account the hold never touched, or no such hold
                and_(held > 0, released > 0),  # a "release" that adds to the hold
                and_(held < 0, released < 0),
                func.abs(released) > func.abs(held),
            )
        )
        .subquery()
    )
    query = (
        select(per_hold, accounts.c.code)
        .select_from(per_hold.outerjoin(accounts, accounts.c.id == per_hold.c.account_id))
        .order_by(per_hold.c.hold_id, per_hold.c.account_id)
    )
    async for row in _rows(session, query):
        yield LedgerProblem(
            kind=ProblemKind.OVER_RELEASED,
            asset=row.asset,
            expected=abs(int(row.held)),
            found=abs(int(row.released)),
            account_code=row.code,
            account_id=row.account_id,
            entry_id=row.hold_id,
            scale=scales.get(row.asset),
        )


async def _asset_mismatches(
    session: AsyncSession, scales: dict[str, int]
) -> AsyncIterator[LedgerProblem]:
    count = func.count().label("n")
    query = (
        select(accounts.c.id, accounts.c.code, postings.c.asset, count)
        .select_from(postings.join(accounts, accounts.c.id == postings.c.account_id))
        .where(postings.c.asset != accounts.c.asset)
        .group_by(accounts.c.id, accounts.c.code, postings.c.asset)
        .order_by(accounts.c.code, postings.c.asset)
    )
    async for row in _rows(session, query):
        yield LedgerProblem(
            kind=ProblemKind.ASSET_MISMATCH,
            asset=row.asset,
            expected=0,
            found=int(row.n),
            account_code=row.code,
            account_id=row.id,
            scale=scales.get(row.asset),
        )


async def _unknown_accounts(
    session: AsyncSession, scales: dict[str, int]
) -> AsyncIterator[LedgerProblem]:
    count = func.count().label("n")
    query = (
        select(postings.c.account_id, postings.c.asset, count)
        .select_from(postings.outerjoin(accounts, accounts.c.id == postings.c.account_id))
        .where(accounts.c.id.is_(None))
        .group_by(postings.c.account_id, postings.c.asset)
        .order_by(postings.c.account_id, postings.c.asset)
    )
    async for row in _rows(session, query):
        yield LedgerProblem(
            kind=ProblemKind.UNKNOWN_ACCOUNT,
            asset=row.asset,
            expected=0,
            found=int(row.n),
            account_id=row.account_id,
            scale=scales.get(row.asset),
        )


async def _missing_entries(
    session: AsyncSession, scales: dict[str, int]
) -> AsyncIterator[LedgerProblem]:
    count = func.count().label("n")
    query = (
        select(postings.c.entry_id, postings.c.asset, count)
        .select_from(postings.outerjoin(entries, entries.c.id == postings.c.entry_id))
        .where(entries.c.id.is_(None))
        .group_by(postings.c.entry_id, postings.c.asset)
        .order_by(postings.c.entry_id, postings.c.asset)
    )
    async for row in _rows(session, query):
        yield LedgerProblem(
            kind=ProblemKind.MISSING_ENTRY,
            asset=row.asset,
            expected=0,
            found=int(row.n),
            entry_id=row.entry_id,
            scale=scales.get(row.asset),
        )


# --- the bank statement --------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    line_no: int
    date: date
    amount: Amount  # positive: money into the bank account
    reference: str  # "" when the bank gave none
    description: str


@dataclass(frozen=True)
class StatementError:
    line_no: int
    message: str


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"[+-]?[0-9]+(?:\.([0-9]+))?")


def parse_statement(
    source: Path | TextIO, asset: Asset
) -> tuple[list[StatementLine], list[StatementError]]:
    """The statement's valid lines and its malformed ones; nothing is raised for bad input."""
    if isinstance(source, Path):
        with source.open(encoding="utf-8-sig", newline="") as handle:
            return _parse(handle, asset)
    return _parse(source, asset)


def _parse(handle: TextIO, asset: Asset) -> tuple[list[StatementLine], list[StatementError]]:
    lines: list[StatementLine] = []
    errors: list[StatementError] = []
    reader = csv.reader(handle, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            errors.append(StatementError(1, f"empty statement: no header '{_header()}'"))
            return lines, errors
        names = [name.strip().lstrip("\ufeff").strip().lower() for name in header]
        if tuple(names) != STATEMENT_COLUMNS:
            errors.append(StatementError(reader.line_num, f"the header must be '{_header()}'"))
            return lines, errors
        while True:
            line_no = reader.line_num + 1  # where this record starts
            row = next(reader, None)
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            parsed = _line(row, line_no, asset)
            if isinstance(parsed, StatementLine):
                lines.append(parsed)
            else:
                errors.append(parsed)
    except (csv.Error, UnicodeDecodeError) as exc:
        errors.append(
            StatementError(reader.line_num + 1, f"unreadable from here on: {_show(str(exc))}")
        )
    return lines, errors


def _header() -> str:
    return ",".join(STATEMENT_COLUMNS)


def _line(row: list[str], line_no: int, asset: Asset) -> StatementLine | StatementError:
    if len(row) != len(STATEMENT_COLUMNS):
        return StatementError(
            line_no,
            f"expected {len(STATEMENT_COLUMNS)} columns ({_header()}), found {len(row)}",
        )
    raw_date, raw_amount, reference, description = (cell.strip() for cell in row)
    if not _DATE.fullmatch(raw_date):
        return StatementError(line_no, f"date '{_show(raw_date)}' is not YYYY-MM-DD")
    try:
        when = date.fromisoformat(raw_date)
    except ValueError:
        return StatementError(line_no, f"date '{_show(raw_date)}' is not a calendar date")
    shape = _AMOUNT.fullmatch(raw_amount)
    if shape is None:
        return StatementError(
            line_no, f"amount '{_show(raw_amount)}' is not a decimal number like -12.50"
        )
    places = len(shape.group(1) or "")
    if places > asset.scale:
        return StatementError(
            line_no,
            f"amount '{_show(raw_amount)}' has {places} decimal places; "
            f"{asset.code} has {asset.scale}",
        )
    try:
        amount = Amount.of(Decimal(raw_amount), asset)  # exact: the places were checked above
    except ValueError:  # more digits than exact arithmetic carries
        amount = None
    if amount is None or abs(amount.minor) >= MAX_AMOUNT:
        return StatementError(line_no, f"amount '{_show(raw_amount)}' is out of range")
    if amount.is_zero():
        return StatementError(line_no, "amount is zero")
    return StatementLine(line_no, when, amount, reference, description)


# --- matching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerItem:
    """One posted entry's movement on the omnibus bank account."""

    entry_id: uuid.UUID
    reference: str | None
    amount: Amount  # positive: a debit of the bank account, money in
    date: date  # the entry's creation date, UTC
    description: str = ""


class MatchBy(StrEnum):
    REFERENCE = "reference"
    AMOUNT_AND_DATE = "amount_and_date"


@dataclass(frozen=True)
class Match:
    line: StatementLine
    item: LedgerItem
    by: MatchBy

    @property
    def entry_id(self) -> uuid.UUID:
        return self.item.entry_id


@dataclass(frozen=True)
class AmountMismatch:
    """A line and an item with the same reference but different amounts."""

    line: StatementLine
    item: LedgerItem

    @property
    def entry_id(self) -> uuid.UUID:
        return self.item.entry_id

    @property
    def difference(self) -> Amount:
        """Statement minus ledger."""
        return self.line.amount - self.item.amount


@dataclass(frozen=True)
class Reconciliation:
    asset: Asset
    account_code: str
    start: date | None  # the period; None when the statement had no valid line
    end: date | None
    matched: list[Match]
    amount_mismatches: list[AmountMismatch]
    missing_in_ledger: list[StatementLine]
    unexpected_in_ledger: list[LedgerItem]
    errors: list[StatementError]
    statement_total: Amount  # the valid lines
    ledger_total: Amount  # the items matched, mismatched or unexpected
    ok: bool
    #: ledger items outside the period left unmatched (the neighbouring statements' business)
    outside_period: int = 0


def _period(
    lines: Sequence[StatementLine], start: date | None, end: date | None
) -> tuple[date, date] | None:
    dates = [line.date for line in lines]
    first = start if start is not None else min(dates, default=None)
    last = end if end is not None else max(dates, default=None)
    if first is None or last is None:
        return None
    if first > last:
        raise InvalidInput("the period starts after it ends", code="invalid_period")
    return first, last


@dataclass
class _Matcher:
    lines: Sequence[StatementLine]
    ledger: Sequence[LedgerItem]
    matched: list[Match] = field(default_factory=list)
    mismatches: list[AmountMismatch] = field(default_factory=list)
    used_lines: set[int] = field(default_factory=set)
    used_items: set[int] = field(default_factory=set)

    def pair(self, li: int, ii: int, by: MatchBy | None) -> None:
        self.used_lines.add(li)
        self.used_items.add(ii)
        if by is None:
            self.mismatches.append(AmountMismatch(self.lines[li], self.ledger[ii]))
        else:
            self.matched.append(Match(self.lines[li], self.ledger[ii], by))

    def by_reference(self) -> None:
        items: dict[str, list[int]] = defaultdict(list)
        for ii, item in enumerate(self.ledger):  # in date order
            if item.reference:
                items[item.reference].append(ii)
        lines: dict[str, list[int]] = defaultdict(list)
        for li, line in enumerate(self.lines):
            if line.reference:
                lines[line.reference].append(li)
        for reference, line_ids in lines.items():
            candidates = items.get(reference, [])
            for li in line_ids:
                line = self.lines[li]
                same = [
                    ii
                    for ii in candidates
                    if ii not in self.used_items and self.ledger[ii].amount == line.amount
                ]
                if same:
                    best = min(same, key=lambda ii: abs((self.ledger[ii].date - line.date).days))
                    self.pair(li, best, MatchBy.REFERENCE)
            rest_items = [ii for ii in candidates if ii not in self.used_items]
            rest_lines = sorted(
                (li for li in line_ids if li not in self.used_lines),
                key=lambda li: (self.lines[li].date, self.lines[li].line_no),
            )
            for li, ii in zip(rest_lines, rest_items, strict=False):
                self.pair(li, ii, None)

    def by_amount_and_date(self) -> None:
        lines: dict[int, list[int]] = defaultdict(list)
        for li, line in enumerate(self.lines):
            if li not in self.used_lines:
                lines[line.amount.minor].append(li)
        items: dict[int, list[int]] = defaultdict(list)
        for ii, item in enumerate(self.ledger):
            if ii not in self.used_items:
                items[item.amount.minor].append(ii)
        for minor, line_ids in lines.items():
            pairs = _pair_by_date(self.lines, self.ledger, line_ids, items.get(minor, []))
            for li, ii in pairs:
                self.pair(li, ii, MatchBy.AMOUNT_AND_DATE)


def reconcile(
    lines: Sequence[StatementLine],
    items: Iterable[LedgerItem],
    *,
    asset: Asset,
    errors: Sequence[StatementError] = (),
    start: date | None = None,
    end: date | None = None,
    account_code: str | None = None,
) -> Reconciliation:
    """Match statement lines with ledger items (no database); see the module's docstring."""
    period = _period(lines, start, end)
    ledger = sorted(items, key=lambda item: (item.date, str(item.entry_id)))
    matcher = _Matcher(lines, ledger)
    matcher.by_reference()
    matcher.by_amount_and_date()
    missing = [line for li, line in enumerate(lines) if li not in matcher.used_lines]
    left = [item for ii, item in enumerate(ledger) if ii not in matcher.used_items]
    unexpected = [i for i in left if period is not None and period[0] <= i.date <= period[1]]
    matched = sorted(matcher.matched, key=lambda m: m.line.line_no)
    mismatches = sorted(matcher.mismatches, key=lambda m: m.line.line_no)
    attributed = [*(m.item for m in matched), *(m.item for m in mismatches), *unexpected]
    return Reconciliation(
        asset=asset,
        account_code=account_code or platform_code(AccountKind.OMNIBUS_BANK, asset),
        start=period[0] if period else None,
        end=period[1] if period else None,
        matched=matched,
        amount_mismatches=mismatches,
        missing_in_ledger=missing,
        unexpected_in_ledger=unexpected,
        errors=sorted(errors, key=lambda e: e.line_no),
        statement_total=sum((line.amount for line in lines), Amount.zero(asset)),
        ledger_total=sum((item.amount for item in attributed), Amount.zero(asset)),
        ok=not (errors or mismatches or missing or unexpected),
        outside_period=len(left) - len(unexpected),
    )


def _pair_by_date(
    lines: Sequence[StatementLine],
    ledger: Sequence[LedgerItem],
    line_ids: Sequence[int],
    item_ids: Sequence[int],
) -> Iterator[tuple[int, int]]:
    """A one-to-one pairing of lines and items, all of one amount, dated at most
    MATCH_WINDOW_DAYS apart: as many pairs as possible and, among those, the smallest total
    of days apart. Within one day, lower line numbers and earlier entries pair first.

    Only the number of lines and items per day matters, so this solves a minimum-cost
    maximum flow between days (a few dozen nodes for a month) and then hands out the
    individual lines and items: its cost does not grow with the number of lines.
    """
    line_days: dict[int, deque[int]] = defaultdict(deque)
    for li in sorted(line_ids, key=lambda li: lines[li].line_no):
        line_days[lines[li].date.toordinal()].append(li)
    item_days: dict[int, deque[int]] = defaultdict(deque)
    for ii in sorted(item_ids):  # the ledger is in (date, entry id) order
        item_days[ledger[ii].date.toordinal()].append(ii)
    flows = _day_flows(
        {day: len(ids) for day, ids in line_days.items()},
        {day: len(ids) for day, ids in item_days.items()},
    )
    for (line_day, item_day), count in sorted(
        flows.items(), key=lambda kv: (kv[0][0], abs(kv[0][0] - kv[0][1]), kv[0][1])
    ):
        for _ in range(count):
            yield line_days[line_day].popleft(), item_days[item_day].popleft()


class _FlowGraph:
    """A small flow network with costs, for a minimum-cost maximum flow by successive
    shortest paths (found with SPFA, as the residual graph has negative costs)."""

    def __init__(self, size: int) -> None:
        self.head: list[list[int]] = [[] for _ in range(size)]
        self.to: list[int] = []
        self.cap: list[int] = []
        self.cost: list[int] = []

    def edge(self, u: int, v: int, capacity: int, price: int) -> int:
        """Add u -> v; returns its index. Its residual twin is the index ^ 1."""
        for a, b, c, w in ((u, v, capacity, price), (v, u, 0, -price)):
            self.head[a].append(len(self.to))
            self.to.append(b)
            self.cap.append(c)
            self.cost.append(w)
        return len(self.to) - 2

    def flow(self, e: int) -> int:
        return self.cap[e ^ 1]

    def _cheapest_path(self, source: int, sink: int) -> list[int] | None:
        dist: list[int | None] = [None] * len(self.head)
        dist[source] = 0
        via = [-1] * len(self.head)
        queue, queued = deque([source]), {source}
        while queue:
            u = queue.popleft()
            queued.discard(u)
            reach = dist[u]
            assert reach is not None  # noqa: S101 - only reached nodes are queued
            for e in self.head[u]:
                v = self.to[e]
                best = dist[v]
                if self.cap[e] > 0 and (best is None or reach + self.cost[e] < best):
                    dist[v] = reach + self.cost[e]
                    via[v] = e
                    if v not in queued:
                        queue.append(v)
                        queued.add(v)
        if dist[sink] is None:
            return None
        path, v = [], sink
        while v != source:
            path.append(via[v])
            v = self.to[via[v] ^ 1]
        return path

    def run(self, source: int, sink: int) -> None:
        while (path := self._cheapest_path(source, sink)) is not None:
            push = min(self.cap[e] for e in path)
            for e in path:
                self.cap[e] -= push
                self.cap[e ^ 1] += push


def _day_flows(supply: dict[int, int], demand: dict[int, int]) -> dict[tuple[int, int], int]:
    """How many lines of each day pair with items of each day: a minimum-cost maximum flow
    from line days to item days at most MATCH_WINDOW_DAYS apart, costing the days between."""
    source, sink = 0, 1
    line_node = {day: 2 + n for n, day in enumerate(sorted(supply))}
    item_node = {day: 2 + len(line_node) + n for n, day in enumerate(sorted(demand))}
    graph = _FlowGraph(2 + len(line_node) + len(item_node))
    between: dict[tuple[int, int], int] = {}
    for day, count in sorted(supply.items()):
        graph.edge(source, line_node[day], count, 0)
        for other in range(day - MATCH_WINDOW_DAYS, day + MATCH_WINDOW_DAYS + 1):
            if other in demand:
                between[(day, other)] = graph.edge(
                    line_node[day], item_node[other], min(count, demand[other]), abs(day - other)
                )
    for day, count in sorted(demand.items()):
        graph.edge(item_node[day], sink, count, 0)
    graph.run(source, sink)
    return {pair: graph.flow(e) for pair, e in between.items() if graph.flow(e) > 0}


# --- the ledger side -----------------------------------------------------------------------


async def reconcile_statement(
    database: Database,
    statement: Path | TextIO,
    *,
    asset: Asset,
    start: date | None = None,
    end: date | None = None,
) -> Reconciliation:
    """Reconcile a bank statement (CSV, see the module's docstring) with the postings to the
    omnibus bank account of `asset`. Read-only; malformed lines are reported, not raised.

    `start` and `end` (inclusive) set the period the statement covers; by default its first
    and last line dates.
    """
    lines, errors = await asyncio.to_thread(parse_statement, statement, asset)
    period = _period(lines, start, end)
    code = platform_code(AccountKind.OMNIBUS_BANK, asset)
    references = {line.reference for line in lines if line.reference}
    items = await _ledger_items(database, asset, code, period, references)
    return reconcile(
        lines,
        items,
        asset=asset,
        errors=errors,
        start=period[0] if period else None,
        end=period[1] if period else None,
        account_code=code,
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def _ledger_items(
    database: Database,
    asset: Asset,
    code: str,
    period: tuple[date, date] | None,
    references: set[str],
) -> list[LedgerItem]:
    """The bank account's entries dated within the period widened by the match window,
    and those (of any date) carrying one of the statement's references."""
    async with _snapshot(database) as session:
        bank = (
            await session.execute(
                select(accounts.c.id, accounts.c.asset, accounts.c.scale).where(
                    accounts.c.code == code
                )
            )
        ).one_or_none()
        if bank is None:
            return []
        if bank.asset != asset.code or bank.scale != asset.scale:
            raise InvalidInput(
                f"{code} counts {bank.asset} at scale {bank.scale}, not {asset.scale}",
                code="asset_mismatch",
            )
        moved = func.sum(postings.c.amount).label("moved")
        base = (
            select(entries.c.id, entries.c.meta, entries.c.created_at, entries.c.description, moved)
            .select_from(postings.join(entries, entries.c.id == postings.c.entry_id))
            .where(postings.c.account_id == bank.id, postings.c.pending.is_(False))
            .group_by(entries.c.id)  # the other columns depend on the primary key
        )
        found: dict[uuid.UUID, LedgerItem] = {}
        if period is not None:
            window = timedelta(days=MATCH_WINDOW_DAYS)
            query = base.where(
                postings.c.created_at >= _midnight(period[0] - window),
                postings.c.created_at < _midnight(period[1] + window + timedelta(days=1)),
            )
            async for row in _rows(session, query):
                _collect(found, row, asset)
        seen = {item.reference for item in found.values()}
        wanted = sorted(references - seen)
        reference = entries.c.meta["bank_reference"].as_string()
        for at in range(0, len(wanted), _REFERENCE_BATCH):
            batch = wanted[at : at + _REFERENCE_BATCH]
            async for row in _rows(session, base.where(reference.in_(batch))):
                _collect(found, row, asset)
    return list(found.values())


def _collect(found: dict[uuid.UUID, LedgerItem], row: Any, asset: Asset) -> None:
    moved = int(row.moved)
    if moved == 0 or row.id in found:
        return  # an entry that took out what it put in moved no money
    meta = row.meta if isinstance(row.meta, dict) else {}
    raw = meta.get("bank_reference")
    reference = raw.strip() if isinstance(raw, str) and raw.strip() else None
    found[row.id] = LedgerItem(
        entry_id=row.id,
        reference=reference,
        amount=Amount(asset, moved),
        date=row.created_at.astimezone(UTC).date(),
        description=row.description or "",
    )


# --- reports -------------------------------------------------------------------------------


def _show(text: str, limit: int = 60) -> str:
    """Text from outside made safe to print: control characters escaped, length capped."""
    clean = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _minor(value: int, scale: int | None, asset: str) -> str:
    if scale is None:
        return f"{value} minor units of {_show(asset)}"
    return f"{Decimal(value).scaleb(-scale):f} {_show(asset)}"


def format_check(check: LedgerCheck) -> str:
    """The ledger check as text for people."""
    head = f"Ledger check: {check.accounts_checked} accounts, {check.entries_checked} entries: " + (
        "OK" if check.ok else f"{len(check.problems)} PROBLEM(S)"
    )
    out = [head]
    for p in check.problems:
        out.append(f"  [{p.kind.value}] {_describe(p)}")
    return "\n".join(out)


def _describe(p: LedgerProblem) -> str:
    def money(value: int) -> str:
        return _minor(value, p.scale, p.asset)

    if p.kind is ProblemKind.TRIAL_BALANCE:
        return f"posted postings in {_show(p.asset)} sum to {money(p.found)}, not 0"
    if p.kind in _COUNTERS:
        return (
            f"{p.account_code}: {p.kind.value} is {money(p.found)} "
            f"but its postings give {money(p.expected)}"
        )
    if p.kind is ProblemKind.UNBALANCED_ENTRY:
        return f"entry {p.entry_id}: postings in {_show(p.asset)} sum to {money(p.found)}"
    if p.kind is ProblemKind.ASSET_MISMATCH:
        return f"{p.account_code}: {p.found} posting(s) in {_show(p.asset)}, not its asset"
    if p.kind is ProblemKind.OVER_RELEASED:
        return (
            f"hold {p.entry_id}: its releases on {p.account_code or p.account_id} "
            f"come to {money(p.found)} against {money(p.expected)} held"
        )
    if p.kind is ProblemKind.UNKNOWN_ACCOUNT:
        return f"{p.found} posting(s) in {_show(p.asset)} to missing account {p.account_id}"
    return f"{p.found} posting(s) in {_show(p.asset)} of missing entry {p.entry_id}"


def format_report(reconciliation: Reconciliation) -> str:
    """The reconciliation as text for people."""
    r = reconciliation
    period = f"{r.start} to {r.end}" if r.start and r.end else "no dated lines"
    by_ref = sum(1 for m in r.matched if m.by is MatchBy.REFERENCE)
    out = [
        f"Bank reconciliation of {r.account_code}, {period}: "
        + ("OK" if r.ok else "DIFFERENCES FOUND"),
        f"  statement total  {r.statement_total} {r.asset.code}",
        f"  ledger total     {r.ledger_total} {r.asset.code}",
        f"  difference       {r.statement_total - r.ledger_total} {r.asset.code}",
        f"  matched          {len(r.matched)} ({by_ref} by reference, "
        f"{len(r.matched) - by_ref} by amount and date)",
    ]

    def line(s: StatementLine) -> str:
        ref = _show(s.reference, 40) or "(no reference)"
        return f"line {s.line_no}  {s.date}  {s.amount}  {ref}  {_show(s.description)}"

    def item(i: LedgerItem) -> str:
        ref = _show(i.reference, 40) if i.reference else "(no reference)"
        return f"entry {i.entry_id}  {i.date}  {i.amount}  {ref}  {_show(i.description)}"

    sections: list[tuple[str, list[str]]] = [
        (
            "amount mismatches (same reference)",
            [
                f"{line(m.line)}\n      ledger {m.item.amount} in entry {m.entry_id} "
                f"({m.item.date}), difference {m.difference}"
                for m in r.amount_mismatches
            ],
        ),
        ("missing in the ledger", [line(s) for s in r.missing_in_ledger]),
        ("unexpected in the ledger", [item(i) for i in r.unexpected_in_ledger]),
        ("malformed statement lines", [f"line {e.line_no}: {e.message}" for e in r.errors]),
        (
            "matched by amount and date",
            [
                f"{line(m.line)}\n      = {item(m.item)}"
                for m in r.matched
                if m.by is MatchBy.AMOUNT_AND_DATE
            ],
        ),
    ]
    for title, rows in sections:
        if rows:
            out.append(f"  {title} ({len(rows)}):")
            out.extend(f"    {row}" for row in rows)
    if r.outside_period:
        out.append(f"  ({r.outside_period} ledger item(s) just outside the period left unmatched)")
    return "\n".join(out)
