"""Trading's side of the ledger: the accounts an order touches, its hold, and a fill's entry.

A buy holds cash (customer cash -> clearing); a sell holds shares (customer securities ->
clearing). A fill books, in ONE entry, the cash for the shares, the shares, and the fee:

    buy:  customer cash  -(cash + fee)   clearing cash +cash   fees revenue +fee
          clearing shares -qty           customer shares +qty
    sell: the reverse for cash and shares; the fee still goes from the customer to revenue

and releases the part of the hold the fill used, in the same transaction. The counterparty
is the clearing account of the account's book: the market for the paper venue, the other
customer (through clearing) on the internal book. Paper accounts use the paper book's
platform accounts, so paper and real money never meet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from functools import partial

from finplat import ledger
from finplat.kernel import Asset
from finplat.platform.db import UnitOfWork
from finplat.trading.domain.orders import Order, Side

SHARE_SCALE = 9


def share_asset(symbol: str) -> Asset:
    """The ledger asset of an instrument's units: the base of a pair (BTC of BTC/USD)."""
    return Asset(symbol.split("/", maxsplit=1)[0], SHARE_SCALE)


def minor(value: Decimal, asset: Asset) -> int:
    """`value` in the asset's minor units; it must be exact."""
    scaled = value.scaleb(asset.scale)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is not a whole number of {asset.code} minor units")
    return int(scaled)


def minor_up(value: Decimal, asset: Asset) -> int:
    return int(value.scaleb(asset.scale).to_integral_value(ROUND_CEILING))


@dataclass(frozen=True)
class Books:
    """The ledger accounts of one account's trading in one instrument."""

    cash: ledger.Account
    shares: ledger.Account
    clearing_cash: ledger.Account
    clearing_shares: ledger.Account
    fees: ledger.Account

    @property
    def cash_asset(self) -> Asset:
        return self.cash.asset

    @property
    def share_asset(self) -> Asset:
        return self.shares.asset


#: Platform accounts by (kind, asset, book): created once, never re-identified, so a kit
#: keeps their ids instead of looking them up for every order and fill. Only their ids and
#: assets are used (their balances in this cache go stale at once).
PlatformAccounts = dict[tuple[str, str, str], ledger.Account]


async def _platform(
    uow: UnitOfWork, known: PlatformAccounts, kind: ledger.AccountKind, asset: Asset, book: str
) -> ledger.Account:
    key = (kind.value, asset.code, book)
    if key in known:
        return known[key]
    account = await ledger.open_account(uow, kind=kind, asset=asset, book=book)
    # remembered only once it surely exists: the transaction that opened it may roll back
    uow.after_commit(partial(known.__setitem__, key, account))
    return account


async def books_for(
    uow: UnitOfWork,
    owner_id: uuid.UUID,
    symbol: str,
    *,
    currency: str,
    book: str,
    platform: PlatformAccounts | None = None,
) -> Books:
    cash_asset, shares_asset = ledger.currency(currency), share_asset(symbol)
    kinds = ledger.AccountKind
    known = {} if platform is None else platform
    return Books(
        cash=await ledger.open_account(
            uow, kind=kinds.CUSTOMER_CASH, asset=cash_asset, owner_id=owner_id
        ),
        shares=await ledger.open_account(
            uow, kind=kinds.CUSTOMER_SECURITIES, asset=shares_asset, owner_id=owner_id
        ),
        clearing_cash=await _platform(uow, known, kinds.CLEARING, cash_asset, book),
        clearing_shares=await _platform(uow, known, kinds.CLEARING, shares_asset, book),
        fees=await _platform(uow, known, kinds.FEES_REVENUE, cash_asset, book),
    )


async def place_hold(
    uow: UnitOfWork, order: Order, books: Books, *, cash: Decimal, shares: Decimal
) -> uuid.UUID:
    """Hold what the order may use: cash for a buy, shares for a sell."""
    if order.side is Side.BUY:
        account, counter, asset = books.cash, books.clearing_cash, books.cash_asset
        amount = minor_up(cash, asset)
    else:
        account, counter, asset = books.shares, books.clearing_shares, books.share_asset
        amount = minor(shares, asset)
    entry = await ledger.hold(
        uow,
        key=f"order:{order.id}:hold",
        debit=account.id,
        credit=counter.id,
        asset=asset.code,
        amount=amount,
        description=f"hold for order {order.client_order_id}",
        meta={"order_id": str(order.id), "symbol": order.symbol},
    )
    return entry.id


@dataclass(frozen=True)
class FillBooking:
    entry_id: uuid.UUID
    cash_minor: int
    fee_minor: int


async def book_fill(
    uow: UnitOfWork,
    order: Order,
    books: Books,
    *,
    execution_id: uuid.UUID,
    qty: Decimal,
    cash: Decimal,
    fee: Decimal,
    allow_negative: tuple[uuid.UUID, ...] = (),
) -> FillBooking:
    """Book the fill and release the part of the order's hold it uses, in one ledger write
    (`allow_negative`: the shares account of a permitted short sale)."""
    cash_minor = minor(cash, books.cash_asset)
    fee_minor = minor(fee, books.cash_asset)
    shares_minor = minor(qty, books.share_asset)
    buy = order.side is Side.BUY
    releases = []
    if order.hold_id is not None:
        used = cash_minor + fee_minor if buy else shares_minor
        releases.append(ledger.Release(order.hold_id, used, capped=True))
    sign = 1 if buy else -1  # a buy debits the customer's cash and credits their shares
    postings = [
        ledger.Posting(books.cash.id, books.cash_asset.code, sign * cash_minor),
        ledger.Posting(books.clearing_cash.id, books.cash_asset.code, -sign * cash_minor),
        ledger.Posting(books.shares.id, books.share_asset.code, -sign * shares_minor),
        ledger.Posting(books.clearing_shares.id, books.share_asset.code, sign * shares_minor),
    ]
    if fee_minor:
        postings += [
            ledger.Posting(books.cash.id, books.cash_asset.code, fee_minor),
            ledger.Posting(books.fees.id, books.cash_asset.code, -fee_minor),
        ]
    postings = [p for p in postings if p.amount]
    entry = await ledger.post_entry(
        uow,
        key=f"exec:{execution_id}",
        postings_=_merged(postings),
        description=f"{order.side.value} {qty} {order.symbol}",
        meta={"order_id": str(order.id), "execution_id": str(execution_id)},
        releases=releases,
        allow_negative=allow_negative,
    )
    return FillBooking(entry.id, cash_minor, fee_minor)


def _merged(postings: list[ledger.Posting]) -> list[ledger.Posting]:
    """One posting per (account, asset): the customer's cash pays for shares and fee at once."""
    totals: dict[tuple[uuid.UUID, str], int] = {}
    for posting in postings:
        key = (posting.account_id, posting.asset)
        totals[key] = totals.get(key, 0) + posting.amount
    return [ledger.Posting(a, asset, amount) for (a, asset), amount in totals.items() if amount]


async def release_rest(uow: UnitOfWork, order: Order) -> None:
    """Free whatever the order's hold still holds (it is done: filled, canceled, expired)."""
    if order.hold_id is None:
        return
    if await ledger.held_amount(uow, order.hold_id) > 0:
        await ledger.void_hold(uow, key=f"order:{order.id}:release-rest", hold_id=order.hold_id)
