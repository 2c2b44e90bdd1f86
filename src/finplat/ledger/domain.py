"""The ledger's pure model: accounts with a normal side and invariants, balanced entries,
two-phase transfers. Amounts are integers in the asset's minor unit. Standard library and
kernel only."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from finplat.kernel import Asset, BusinessRuleViolation, InvalidInput

#: Ledger amounts are stored as 64-bit integers.
MAX_AMOUNT = 2**62


#: ISO 4217 minor units of the currencies finplat knows (others default to 2).
CURRENCY_MINOR_UNITS = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "SEK": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
}


def currency(code: str) -> Asset:
    return Asset(code, CURRENCY_MINOR_UNITS.get(code, 2))


class NormalSide(StrEnum):
    DEBIT = "debit"  # assets of the platform: the bank omnibus, suspense
    CREDIT = "credit"  # what the platform owes: customer cash and positions, clearing, revenue


class AccountKind(StrEnum):
    CUSTOMER_CASH = "customer_cash"
    CUSTOMER_SECURITIES = "customer_securities"
    OMNIBUS_BANK = "omnibus_bank"
    CLEARING = "clearing"
    FEES_REVENUE = "fees_revenue"
    SUSPENSE = "suspense"


NORMAL_SIDE: dict[AccountKind, NormalSide] = {
    AccountKind.CUSTOMER_CASH: NormalSide.CREDIT,
    AccountKind.CUSTOMER_SECURITIES: NormalSide.CREDIT,
    AccountKind.OMNIBUS_BANK: NormalSide.DEBIT,
    AccountKind.CLEARING: NormalSide.CREDIT,  # owed to the venue or clearing house
    AccountKind.FEES_REVENUE: NormalSide.CREDIT,
    AccountKind.SUSPENSE: NormalSide.DEBIT,
}

#: Customers cannot go below zero in cash or long positions.
NON_NEGATIVE_KINDS = frozenset({AccountKind.CUSTOMER_CASH, AccountKind.CUSTOMER_SECURITIES})


@dataclass(frozen=True)
class Balances:
    """TigerBeetle-style counters; every other figure derives from them."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    def posted(self, side: NormalSide) -> int:
        if side is NormalSide.CREDIT:
            return self.credits_posted - self.debits_posted
        return self.debits_posted - self.credits_posted

    def available(self, side: NormalSide) -> int:
        """Posted balance less what holds against the account would take away."""
        if side is NormalSide.CREDIT:
            return self.credits_posted - self.debits_posted - self.debits_pending
        return self.debits_posted - self.credits_posted - self.credits_pending

    def apply(self, *, debit: int = 0, credit: int = 0, pending: bool = False) -> Balances:
        if pending:
            return Balances(
                self.debits_posted,
                self.credits_posted,
                self.debits_pending + debit,
                self.credits_pending + credit,
            )
        return Balances(
            self.debits_posted + debit,
            self.credits_posted + credit,
            self.debits_pending,
            self.credits_pending,
        )


@dataclass(frozen=True)
class AccountRules:
    side: NormalSide
    non_negative: bool

    def check(self, balances: Balances, account_id: uuid.UUID, *, allow_negative: bool) -> None:
        """A constrained account's available balance may not go below zero."""
        if self.non_negative and not allow_negative and balances.available(self.side) < 0:
            raise BusinessRuleViolation(
                "insufficient funds",
                code="insufficient_funds",
                details={
                    "account_id": str(account_id),
                    "available": str(balances.available(self.side)),
                },
            )


@dataclass(frozen=True)
class Posting:
    """One side of an entry: a positive amount debits the account, a negative one credits it."""

    account_id: uuid.UUID
    asset: str
    amount: int

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("posting amounts are integers in minor units")
        if self.amount == 0:
            raise InvalidInput("a posting cannot be zero", code="zero_posting")
        if abs(self.amount) >= MAX_AMOUNT:
            raise InvalidInput("the amount is out of range", code="amount_out_of_range")

    @property
    def debit(self) -> int:
        return max(self.amount, 0)

    @property
    def credit(self) -> int:
        return max(-self.amount, 0)


def check_balanced(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """An entry has two or more postings that sum to zero per asset."""
    items = tuple(postings)
    if len(items) < 2:
        raise InvalidInput("an entry needs at least two postings", code="unbalanced_entry")
    totals: dict[str, int] = defaultdict(int)
    for posting in items:
        totals[posting.asset] += posting.amount
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        raise InvalidInput(
            "the postings do not sum to zero per asset",
            code="unbalanced_entry",
            details={asset: str(total) for asset, total in unbalanced.items()},
        )
    return items


def transfer(debit: uuid.UUID, credit: uuid.UUID, asset: str, amount: int) -> tuple[Posting, ...]:
    """The two postings of a simple transfer of `amount` from `debit` to `credit`."""
    if amount <= 0:
        raise InvalidInput("a transfer amount must be positive", code="invalid_amount")
    if debit == credit:
        raise InvalidInput("a transfer needs two different accounts", code="same_account")
    return check_balanced((Posting(debit, asset, amount), Posting(credit, asset, -amount)))


class EntryStatus(StrEnum):
    POSTED = "posted"
    PENDING = "pending"
    VOIDED = "voided"
    EXPIRED = "expired"
    # a pending entry that was later posted (its postings moved to a new posted entry)
    SETTLED = "settled"
    # a release: pending postings that give part of a hold back, the hold staying pending
    RELEASED = "released"


class HoldEvent(StrEnum):
    POST = "post"
    VOID = "void"
    EXPIRE = "expire"
    RELEASE = "release"


HOLD_TRANSITIONS: dict[tuple[EntryStatus, HoldEvent], EntryStatus] = {
    (EntryStatus.PENDING, HoldEvent.POST): EntryStatus.SETTLED,
    (EntryStatus.PENDING, HoldEvent.VOID): EntryStatus.VOIDED,
    (EntryStatus.PENDING, HoldEvent.EXPIRE): EntryStatus.EXPIRED,
    (EntryStatus.PENDING, HoldEvent.RELEASE): EntryStatus.PENDING,
}


def resolve_hold(status: EntryStatus, event: HoldEvent) -> EntryStatus:
    try:
        return HOLD_TRANSITIONS[(status, event)]
    except KeyError:
        raise BusinessRuleViolation(
            f"a {status.value} transfer cannot be {event.value}ed",
            code="hold_not_pending",
            details={"status": status.value},
        ) from None


def still_held(held: tuple[Posting, ...], released: int) -> int:
    """What a two-posting hold still holds once `released` of it has been given back."""
    return next(p.amount for p in held if p.amount > 0) - released


def hold_part(held: tuple[Posting, ...], amount: int) -> tuple[Posting, ...]:
    """A two-posting hold's postings for `amount` of it (none for 0)."""
    if amount == 0:
        return ()
    debit = next(p for p in held if p.amount > 0)
    credit = next(p for p in held if p.amount < 0)
    return transfer(debit.account_id, credit.account_id, debit.asset, amount)


def release(held: tuple[Posting, ...], remaining: int, amount: int) -> tuple[Posting, ...]:
    """The postings that give `amount` of a hold back: its postings for that amount,
    reversed. They are stored pending, so a hold still holds its postings plus its releases'."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("release amounts are integers in minor units")
    if amount <= 0 or amount > remaining:
        raise InvalidInput(
            f"the released amount must be between 1 and {remaining}"
            if remaining > 0
            else "the hold holds nothing more to release",
            code="invalid_release_amount",
            details={"held": str(remaining)},
        )
    return reversed_postings(hold_part(held, amount))


def reversed_postings(items: Iterable[Posting]) -> tuple[Posting, ...]:
    """Each posting with its sign flipped: a release's postings are its hold's part reversed,
    and the counters undo that hold part (a release lowers pending counters, it never adds
    to the other side's)."""
    return tuple(Posting(p.account_id, p.asset, -p.amount) for p in items)


def partial_post(
    held: tuple[Posting, ...], amount: int | None, remaining: int
) -> tuple[Posting, ...]:
    """The postings that settle a two-posting hold for `amount` (all it still holds when
    None; nothing for 0, which closes the hold and releases the rest)."""
    if amount is None:
        amount = remaining
    elif isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("posted amounts are integers in minor units")
    elif amount < 0 or amount > remaining:
        raise InvalidInput(
            f"the posted amount must be between 0 and {remaining}", code="invalid_post_amount"
        )
    return hold_part(held, amount)
