"""ledger domain: Accounts, the double-entry journal, two-phase transfers (holds), balances,
deposits and withdrawals.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
