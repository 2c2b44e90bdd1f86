"""ledger domain: accounts, the double-entry journal, two-phase transfers (holds), balances,
deposits and withdrawals, and reconciliation.

This package is its public face: other domains import only from here (or consume its events).
Trading books fills with `post_entry` and order holds with `hold` / `post_hold` / `void_hold`.
"""

from finplat.ledger.accounts import Account, accounts_of, is_restricted, open_account
from finplat.ledger.api import router as ledger_router
from finplat.ledger.domain import AccountKind, Posting, currency, transfer
from finplat.ledger.events import LEDGER_EVENTS
from finplat.ledger.funding import FundingPolicy, on_withdrawal_approved
from finplat.ledger.journal import (
    Entry,
    expire_holds,
    hold,
    lock_accounts,
    post_entry,
    post_hold,
    void_hold,
)

__all__ = [
    "LEDGER_EVENTS",
    "Account",
    "AccountKind",
    "Entry",
    "FundingPolicy",
    "Posting",
    "accounts_of",
    "currency",
    "expire_holds",
    "hold",
    "is_restricted",
    "ledger_router",
    "lock_accounts",
    "on_withdrawal_approved",
    "open_account",
    "post_entry",
    "post_hold",
    "transfer",
    "void_hold",
]
