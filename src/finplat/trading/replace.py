"""Replacing an order: a new order supersedes the old one (Alpaca's PATCH /v2/orders/{id}).

The old order ends as `replaced`, pointing at its successor (`replaced_by`); the new order
carries `replaces`, takes a new arrival number (a replaced order loses its place in the
queue, as on an exchange) and is risk-checked and held anew after the old hold is freed, all
in one transaction, so buying power never counts both or neither.

An exit leg of a bracket, OCO or OTO order keeps its group: the new leg takes the old one's
parent, quantity and shared hold. An entry that has legs is not replaced (cancel it and
submit again), nor is a notional order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from finplat import ledger, marketdata
from finplat.kernel import BusinessRuleViolation, Conflict, InvalidInput, NotFound, new_id
from finplat.platform.db import UnitOfWork
from finplat.trading import repository as repo
from finplat.trading.accounts import kill_switch, open_trading_account
from finplat.trading.booking import books_for, release_rest
from finplat.trading.context import TradingKit
from finplat.trading.domain.orders import (
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
    check_request,
)
from finplat.trading.domain.risk import check_order
from finplat.trading.service import (
    account_view,
    grid_of,
    hold_and_accept,
    instrument_for,
    market_for,
    record_event,
)

REPLACEABLE = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.HELD})


@dataclass(frozen=True)
class Changes:
    """What a replacement changes; None keeps the old order's value."""

    qty: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail: Decimal | None = None  # the trailing stop's trail_price or trail_percent
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None

    @property
    def empty(self) -> bool:
        return all(value is None for value in self.__dict__.values())


def _not_replaceable(message: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(message, code="order_not_replaceable")


def check_replaceable(order: Order) -> None:
    if order.status not in REPLACEABLE:
        raise _not_replaceable(f"the order is {order.status.value} and cannot be replaced")
    if order.legs:
        raise _not_replaceable(
            f"a {order.request.order_class.value} order with legs cannot be replaced; "
            "replace its legs, or cancel it and submit a new one"
        )
    if order.request.notional is not None:
        raise _not_replaceable("a notional order cannot be replaced")


def in_group(order: Order) -> bool:
    """An exit leg: it shares its group's hold and keeps its parent."""
    return order.parent_id is not None


def replacement(order: Order, changes: Changes) -> OrderRequest:
    """The request of the order that replaces `order`: its own, with `changes`. Without a
    new qty it is what the old order had left to fill."""
    if changes.empty:
        raise InvalidInput("give at least one field to replace", code="nothing_to_replace")
    old = order.request
    qty = changes.qty if changes.qty is not None else order.remaining_qty
    if in_group(order) and changes.qty is not None and changes.qty != old.qty:
        raise _not_replaceable("the legs of a bracket, oco or oto order keep their quantity")
    trail_price, trail_percent = old.trail_price, old.trail_percent
    if changes.trail is not None:
        if old.type is not OrderType.TRAILING_STOP:
            raise InvalidInput("only trailing stops take trail", code="trail_shape")
        if trail_price is not None:
            trail_price = changes.trail
        else:
            trail_percent = changes.trail
    return replace(
        old,
        qty=qty,
        limit_price=_pick(changes.limit_price, old.limit_price),
        stop_price=_pick(changes.stop_price, old.stop_price),
        trail_price=trail_price,
        trail_percent=trail_percent,
        time_in_force=changes.time_in_force or old.time_in_force,
        client_order_id=changes.client_order_id or str(new_id()),
    )


def _pick(new: Decimal | None, old: Decimal | None) -> Decimal | None:
    return old if new is None else new


async def replace_order(
    kit: TradingKit,
    account_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    qty: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    trail: Decimal | None = None,
    time_in_force: TimeInForce | None = None,
    client_order_id: str | None = None,
) -> Order:
    """Replace the account's order `order_id`; returns the new order."""
    changes = Changes(qty, limit_price, stop_price, trail, time_in_force, client_order_id)
    now = kit.clock.now()
    async with kit.uows() as uow:
        old, version = await repo.load_order(uow, order_id, for_update=True)
        if old.account_id != account_id:
            raise NotFound("no such order", code="order_not_found")
        check_replaceable(old)
        request = replacement(old, changes)
        assert request.client_order_id is not None  # noqa: S101 - set by `replacement`
        if await repo.by_client_order_id(uow, account_id, request.client_order_id):
            raise Conflict(
                "client_order_id must be unique: it was used for another order",
                code="client_order_id_reused",
            )
        instrument = await instrument_for(uow, request.symbol)
        check_request(request, grid_of(instrument), now=now)
        venue = kit.venue(old.venue)
        if not venue.cancels_at_once and old.status is not OrderStatus.HELD:
            raise BusinessRuleViolation(
                "replace is not supported on this venue yet; cancel the order and submit a new one",
                code="replace_not_supported",
            )
        new = Order(
            id=new_id(),
            account_id=account_id,
            client_order_id=request.client_order_id,
            request=request,
            status=OrderStatus.PENDING_NEW,
            created_at=now,
            updated_at=now,
            venue=old.venue,
            paper=old.paper,
            parent_id=old.parent_id,
            replaces=old.id,
        )
        replaced = old.apply(OrderEvent.REPLACED, now, replaced_by=new.id)
        await repo.save_order(uow, replaced, version=version)
        if in_group(old):
            new = await _take_its_place(uow, old, new, now)
        else:
            new = await _hold_anew(kit, uow, replaced, new, instrument, now)
        await record_event(kit, uow, replaced, OrderEvent.REPLACED, at=now)
        await record_event(kit, uow, new, OrderEvent(new.status.value), at=now)
        working = new
        uow.after_commit(lambda: venue.withdrawn(old.id))
        if working.status is OrderStatus.NEW:
            uow.after_commit(lambda: venue.working(working))
    return new


async def _take_its_place(uow: UnitOfWork, old: Order, new: Order, now: datetime) -> Order:
    """An exit leg's successor: held like it, or working on the group's hold."""
    await repo.insert_order(uow, new, accept_seq=repo.arrival(now))
    if old.status is OrderStatus.HELD:
        new = new.apply(OrderEvent.HELD, now)
    else:
        new = new.apply(OrderEvent.NEW, now, hold_id=old.hold_id)
    await repo.save_order(uow, new, version=1)
    return new


async def _hold_anew(
    kit: TradingKit,
    uow: UnitOfWork,
    replaced: Order,
    new: Order,
    instrument: marketdata.Instrument,
    now: datetime,
) -> Order:
    """Free the old order's hold, then risk-check and hold for the new one under the
    account's ledger lock, as a submission would."""
    account = await open_trading_account(uow, new.account_id)
    books = await books_for(
        uow,
        new.account_id,
        new.symbol,
        currency=kit.policy.currency,
        book=account.book,
        platform=kit.platform_accounts,
    )
    ids = [books.cash.id, books.shares.id]
    await ledger.lock_accounts(uow, ids)
    await release_rest(uow, replaced)
    locked = await ledger.lock_accounts(uow, ids)
    books = replace(books, cash=locked[books.cash.id], shares=locked[books.shares.id])
    market = await market_for(kit, instrument, now)
    view = await account_view(uow, account, books, instrument)
    switch = await kill_switch(uow)
    check_order(new.request, view, market, kit.policy.limits, kill_switch=switch.enabled)
    await repo.insert_order(uow, new, accept_seq=repo.arrival(now))
    return await hold_and_accept(kit, uow, new, books, market, instrument, view)
