"""ledger domain: accounts, the double-entry journal, two-phase transfers (holds), balances,
deposits and withdrawals, and reconciliation.

This package is its public face: other domains import only from here (or consume its events).
Trading books order holds with `hold`, each fill with one `post_entry` whose `releases` give
back the part of the hold it used, and ends a hold with `post_hold` (for zero once filled) or
`void_hold`; `held_amount` says what a hold still holds. Paper accounts are funded with
`fund_paper` and trade against the paper book's platform accounts (`open_account(book=...)`).
"""

from finplat.ledger.accounts import (
    LIVE_BOOK,
    PAPER_BOOK,
    Account,
    AccountBalance,
    account_balances,
    accounts_of,
    customer_account,
    is_restricted,
    open_account,
)
from finplat.ledger.api import router as ledger_router
from finplat.ledger.domain import AccountKind, Posting, currency, transfer
from finplat.ledger.events import LEDGER_EVENTS
from finplat.ledger.funding import FundingPolicy, fund_paper, on_withdrawal_approved
from finplat.ledger.journal import (
    Entry,
    Release,
    expire_holds,
    held_amount,
    hold,
    lock_accounts,
    post_entry,
    post_hold,
    release_hold,
    void_hold,
)

__all__ = [
    "LEDGER_EVENTS",
    "LIVE_BOOK",
    "PAPER_BOOK",
    "Account",
    "AccountBalance",
    "AccountKind",
    "Entry",
    "FundingPolicy",
    "Posting",
    "Release",
    "account_balances",
    "accounts_of",
    "currency",
    "customer_account",
    "expire_holds",
    "fund_paper",
    "held_amount",
    "hold",
    "is_restricted",
    "ledger_router",
    "lock_accounts",
    "on_withdrawal_approved",
    "open_account",
    "post_entry",
    "post_hold",
    "release_hold",
    "transfer",
    "void_hold",
]
