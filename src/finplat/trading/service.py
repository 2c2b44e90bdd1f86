"""Order use cases: submit, cancel, replace, and what venues report (fills, expiries).

Every change to an order happens in one transaction with its ledger effects (hold, fill
entry, released hold), its event row and its outbox event; venues and trade-update listeners
hear of it only after that transaction commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import partial

from finplat import ledger, marketdata, onboarding
from finplat.kernel import BusinessRuleViolation, Conflict, NotFound, new_id
from finplat.platform.db import UnitOfWork
from finplat.trading import repository as repo
from finplat.trading.accounts import TradingAccount, kill_switch, open_trading_account
from finplat.trading.booking import Books, book_fill, books_for, place_hold, release_rest
from finplat.trading.context import TradingKit
from finplat.trading.domain.fees import fill_amounts
from finplat.trading.domain.orders import (
    Grid,
    Order,
    OrderClass,
    OrderEvent,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    check_request,
    normalized,
)
from finplat.trading.domain.risk import (
    AccountView,
    Market,
    RiskDenied,
    check_order,
    reference_price,
)
from finplat.trading.events import OrderEventRecorded
from finplat.trading.positions import apply_fill, position
from finplat.trading.updates import TradeUpdate
from finplat.trading.venue import Execution

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Submitted:
    order: Order
    replayed: bool = False  # a retry with the same client order id and the same request


def grid_of(instrument: marketdata.Instrument) -> Grid:
    return Grid(
        symbol=instrument.symbol,
        tick_size=instrument.tick_size,
        lot_size=instrument.lot_size,
        min_order_size=instrument.min_order_size,
        fractionable=instrument.fractionable,
        crypto=instrument.asset_class is marketdata.AssetClass.CRYPTO,
        tradable=instrument.tradable,
    )


async def instrument_for(uow: UnitOfWork, symbol: str) -> marketdata.Instrument:
    found = await marketdata.find_instrument(uow, symbol)
    if found is None:
        raise OrderRejected(f"no tradable asset {symbol!r}", code="asset_not_found")
    return found


async def market_for(kit: TradingKit, instrument: marketdata.Instrument, at: datetime) -> Market:
    quote = await kit.marketdata.cache.latest_quote(instrument.symbol)
    live = quote is not None and not quote.stale
    calendar = marketdata.calendar_for(instrument)
    return Market(
        regular_open=calendar.is_open(at),
        extended_open=calendar.is_open(at, extended=True),
        bid=quote.bid_price if live and quote else None,
        ask=quote.ask_price if live and quote else None,
        always_open=instrument.asset_class is marketdata.AssetClass.CRYPTO,
    )


def _lot_down(value: Decimal, lot: Decimal) -> Decimal:
    return (value / lot).to_integral_value(ROUND_FLOOR) * lot


def _lot_up(value: Decimal, lot: Decimal) -> Decimal:
    return (value / lot).to_integral_value(ROUND_CEILING) * lot


async def account_view(
    uow: UnitOfWork, account: TradingAccount, books: Books, instrument: marketdata.Instrument
) -> AccountView:
    now = uow.clock.now()
    held = await position(uow, account.account_id, instrument.symbol)
    cash_asset, share_asset = books.cash_asset, books.share_asset
    return AccountView(
        kyc_approved=await onboarding.is_kyc_approved(uow, account.account_id),
        state=account.state,
        buying_power=Decimal(books.cash.available).scaleb(-cash_asset.scale),
        position_qty=held.qty if held else Decimal(0),
        sellable_qty=Decimal(books.shares.available).scaleb(-share_asset.scale),
        orders_last_minute=await repo.orders_since(uow, account.account_id, now - MINUTE),
        may_short=account.may_short and instrument.shortable,
        restricted=books.cash.restricted,
    )


def _hold_size(
    kit: TradingKit, request: OrderRequest, market: Market, instrument: marketdata.Instrument
) -> tuple[Decimal, Decimal]:
    """(cash, shares) the order holds: for a buy, its most expensive fill plus fee; for a
    sell, its shares (a notional sell: enough shares at the bid)."""
    limits, fees = kit.policy.limits, kit.policy.fees
    crypto = instrument.asset_class is marketdata.AssetClass.CRYPTO
    price = reference_price(request, market, limits)
    if request.side is Side.BUY:
        notional = request.notional if request.notional is not None else request.qty * price  # type: ignore[operator]
        qty = request.qty if request.qty is not None else notional / price
        return notional + fees.fee(Side.BUY, qty, notional, crypto=crypto), Decimal(0)
    if request.qty is not None:
        return Decimal(0), request.qty
    assert request.notional is not None  # noqa: S101
    return Decimal(0), _lot_up(request.notional / price, instrument.lot_size)


async def record_event(
    kit: TradingKit,
    uow: UnitOfWork,
    order: Order,
    event: OrderEvent,
    *,
    at: datetime,
    qty: Decimal | None = None,
    price: Decimal | None = None,
    execution_id: uuid.UUID | None = None,
    position_qty: Decimal | None = None,
) -> None:
    """The event row, the outbox event, and the trade update after commit."""
    detail = {"execution_id": str(execution_id)} if execution_id else {}
    seq = await repo.record_event(uow, order, event, at=at, qty=qty, price=price, detail=detail)
    await uow.publish(OrderEventRecorded.of(order, event, seq, qty=qty, price=price))
    update = TradeUpdate(
        event=event,
        order=order,
        at=at,
        seq=seq,
        execution_id=execution_id,
        price=price,
        qty=qty,
        position_qty=position_qty,
    )
    uow.after_commit(lambda: kit.updates.publish(update))


async def submit_order(kit: TradingKit, account_id: uuid.UUID, request: OrderRequest) -> Submitted:
    """Check, risk-check, hold and accept an order; a retry with the same client order id
    returns the first order, the same id with a different request is refused."""
    now = kit.clock.now()
    request = normalized(replace(request, symbol=request.symbol.upper()))
    client_id = request.client_order_id or str(new_id())
    request = replace(request, client_order_id=client_id)
    async with kit.uows() as uow:
        existing = await repo.by_client_order_id(uow, account_id, client_id)
        if existing is not None:
            order, printed = existing
            if printed != repo.fingerprint(request):
                raise Conflict(
                    "client_order_id must be unique: it was used for a different order",
                    code="client_order_id_reused",
                )
            return Submitted(order, replayed=True)
        instrument = await instrument_for(uow, request.symbol)
        check_request(request, grid_of(instrument), now=now)
        account = await open_trading_account(uow, account_id)
        books = await books_for(
            uow,
            account_id,
            instrument.symbol,
            currency=kit.policy.currency,
            book=account.book,
            platform=kit.platform_accounts,
        )
        locked = await ledger.lock_accounts(uow, [books.cash.id, books.shares.id])
        books = replace(books, cash=locked[books.cash.id], shares=locked[books.shares.id])
        market = await market_for(kit, instrument, now)
        view = await account_view(uow, account, books, instrument)
        switch = await kill_switch(uow)
        check_order(request, view, market, kit.policy.limits, kill_switch=switch.enabled)
        order = Order(
            id=new_id(),
            account_id=account_id,
            client_order_id=client_id,
            request=request,
            status=OrderStatus.PENDING_NEW,
            created_at=now,
            updated_at=now,
            venue=instrument.venue.value,
            paper=account.paper,
        )
        await repo.insert_order(uow, order, accept_seq=repo.arrival(now))
        order = await hold_and_accept(kit, uow, order, books, market, instrument, view)
        legs = await _insert_legs(uow, order, now)
        order = replace(order, legs=tuple(leg.id for leg in legs))
        await record_event(kit, uow, order, OrderEvent.NEW, at=now)
        for leg in legs:
            await record_event(kit, uow, leg, OrderEvent(leg.status.value), at=now)
        venue = kit.venue(order.venue)
        uow.after_commit(lambda: venue.working(order))
        for leg in legs:
            if leg.status is OrderStatus.NEW:
                uow.after_commit(partial(venue.working, leg))
    return Submitted(order)


async def hold_and_accept(
    kit: TradingKit,
    uow: UnitOfWork,
    order: Order,
    books: Books,
    market: Market,
    instrument: marketdata.Instrument,
    view: AccountView,
) -> Order:
    cash, shares = _hold_size(kit, order.request, market, instrument)
    if order.side is Side.SELL:
        shares = min(shares, view.sellable_qty)  # a permitted short holds only what is owned
    hold_id = None
    if cash > 0 or shares > 0:
        try:
            hold_id = await place_hold(uow, order, books, cash=cash, shares=shares)
        except BusinessRuleViolation as error:
            if error.code != "insufficient_funds":
                raise
            code = "insufficient_buying_power" if order.side is Side.BUY else "insufficient_qty"
            raise RiskDenied(
                f"not enough to hold for this order: {error.message}", code=code
            ) from error
    order = order.apply(OrderEvent.NEW, order.created_at, hold_id=hold_id)
    await repo.save_order(uow, order, version=1)
    return order


async def _insert_legs(uow: UnitOfWork, parent: Order, now: datetime) -> list[Order]:
    """The exits of a bracket or OTO entry, held until it fills; the stop-loss of an OCO,
    working at once beside it and sharing its hold."""
    request = parent.request
    if request.order_class is OrderClass.SIMPLE:
        return []
    oco = request.order_class is OrderClass.OCO
    legs = []
    exit_side = parent.side if oco else parent.side.opposite
    base = OrderRequest(
        symbol=request.symbol,
        side=exit_side,
        type=OrderType.LIMIT,
        time_in_force=request.time_in_force,
        qty=request.qty,
    )
    if request.take_profit is not None and not oco:  # an OCO's take-profit is the order itself
        legs.append(replace(base, limit_price=request.take_profit.limit_price))
    if request.stop_loss is not None:
        stop = request.stop_loss
        kind = OrderType.STOP_LIMIT if stop.limit_price is not None else OrderType.STOP
        legs.append(
            replace(base, type=kind, stop_price=stop.stop_price, limit_price=stop.limit_price)
        )
    out = []
    for n, leg_request in enumerate(legs, start=1):
        leg = Order(
            id=new_id(),
            account_id=parent.account_id,
            client_order_id=f"{parent.client_order_id}:leg{n}",
            request=replace(leg_request, client_order_id=f"{parent.client_order_id}:leg{n}"),
            status=OrderStatus.PENDING_NEW,
            created_at=now,
            updated_at=now,
            venue=parent.venue,
            paper=parent.paper,
            parent_id=parent.id,
        )
        await repo.insert_order(uow, leg, accept_seq=repo.arrival(now) + n)
        if oco:
            leg = leg.apply(OrderEvent.NEW, now, hold_id=parent.hold_id)
        else:
            leg = leg.apply(OrderEvent.HELD, now)
        await repo.save_order(uow, leg, version=1)
        out.append(leg)
    return out


async def exit_group(uow: UnitOfWork, order: Order) -> list[tuple[Order, int]]:
    """The other orders of `order`'s one-cancels-other group (locked): the exits of one
    bracket or OTO entry, or an OCO pair. Empty for an order outside such a group."""
    if order.request.order_class is OrderClass.OCO and order.parent_id is None:
        ids = list(order.legs)
    elif order.parent_id is not None:
        parent, _ = await repo.load_order(uow, order.parent_id)
        ids = [i for i in parent.legs if i != order.id]
        if parent.request.order_class is OrderClass.OCO:
            ids.append(parent.id)
    else:
        return []
    return [await repo.load_order(uow, i, for_update=True) for i in ids]


def _owned(order: Order, account_id: uuid.UUID | None) -> Order:
    if account_id is not None and order.account_id != account_id:
        raise NotFound("no such order", code="order_not_found")
    return order


async def get_order(
    kit: TradingKit, order_id: uuid.UUID, *, account_id: uuid.UUID | None = None
) -> Order:
    async with kit.uows(read_only=True) as uow:
        order, _ = await repo.load_order(uow, order_id)
    return _owned(order, account_id)


async def cancel_order(
    kit: TradingKit, order_id: uuid.UUID, *, account_id: uuid.UUID | None = None
) -> Order:
    """Cancel at once where the venue allows it; otherwise ask the venue (pending_cancel)."""
    now = kit.clock.now()
    async with kit.uows() as uow:
        order, version = await repo.load_order(uow, order_id, for_update=True)
        _owned(order, account_id)
        if order.status.is_terminal or order.status is OrderStatus.PENDING_CANCEL:
            raise BusinessRuleViolation(
                f"the order is {order.status.value} and cannot be canceled",
                code="order_not_cancelable",
            )
        venue = kit.venue(order.venue)
        if venue.cancels_at_once or order.status is OrderStatus.HELD:
            order = await _close(kit, uow, order, version, OrderEvent.CANCELED, now)
        else:
            order = order.apply(OrderEvent.PENDING_CANCEL, now)
            await repo.save_order(uow, order, version=version)
            await record_event(kit, uow, order, OrderEvent.PENDING_CANCEL, at=now)
            pending = order
            uow.after_commit(lambda: venue.cancel_requested(pending))
    return order


async def _close(
    kit: TradingKit,
    uow: UnitOfWork,
    order: Order,
    version: int,
    event: OrderEvent,
    at: datetime,
    *,
    reason: str = "",
) -> Order:
    """End an order (canceled, expired, rejected by the venue): free its hold, end its
    held legs, tell the venue after commit."""
    closed = order.apply(event, at, reject_reason=reason or order.reject_reason)
    await repo.save_order(uow, closed, version=version)
    group = await exit_group(uow, closed)
    if not any(o.status.is_open and o.hold_id == closed.hold_id for o, _ in group):
        await release_rest(uow, closed)  # the group's last order frees the shared hold
    await record_event(kit, uow, closed, event, at=at)
    for leg_id in closed.legs:
        leg, leg_version = await repo.load_order(uow, leg_id, for_update=True)
        if leg.status is OrderStatus.HELD:
            leg = leg.apply(OrderEvent.CANCELED, at)
            await repo.save_order(uow, leg, version=leg_version)
            await record_event(kit, uow, leg, OrderEvent.CANCELED, at=at)
    venue = kit.venue(closed.venue)
    uow.after_commit(lambda: venue.withdrawn(closed.id))
    return closed


async def cancel_all(
    kit: TradingKit, account_id: uuid.UUID
) -> list[tuple[uuid.UUID, int, Order | str]]:
    """Cancel every open order of the account: (order id, status, order or error) each."""
    async with kit.uows(read_only=True) as uow:
        working = await repo.list_orders(uow, account_id, status="open", limit=10_000)
    results: list[tuple[uuid.UUID, int, Order | str]] = []
    for order in working:
        if order.parent_id is not None:
            continue  # legs end with their entry
        try:
            results.append(
                (order.id, 200, await cancel_order(kit, order.id, account_id=account_id))
            )
        except BusinessRuleViolation as error:
            results.append((order.id, 422, error.message))
    return results


async def confirm_cancel(kit: TradingKit, order_id: uuid.UUID, *, at: datetime) -> Order:
    """The venue took the order out of its book."""
    async with kit.uows() as uow:
        order, version = await repo.load_order(uow, order_id, for_update=True)
        return await _close(kit, uow, order, version, OrderEvent.CANCELED, at)


async def expire_order(kit: TradingKit, order_id: uuid.UUID, *, at: datetime) -> Order | None:
    """A day order at the close, an ioc remainder, a gtd order past its date."""
    async with kit.uows() as uow:
        order, version = await repo.load_order(uow, order_id, for_update=True)
        if order.status.is_terminal:
            return None
        return await _close(kit, uow, order, version, OrderEvent.EXPIRED, at)


async def reject_order(
    kit: TradingKit, order_id: uuid.UUID, *, at: datetime, reason: str
) -> Order | None:
    """The venue could not take a working order (no liquidity for a market order...): it
    ends as canceled with the venue's reason (Alpaca reports these as canceled)."""
    async with kit.uows() as uow:
        order, version = await repo.load_order(uow, order_id, for_update=True)
        if order.status.is_terminal:
            return None
        return await _close(kit, uow, order, version, OrderEvent.CANCELED, at, reason=reason)


async def apply_execution(kit: TradingKit, venue: str, execution: Execution) -> Order | None:
    """Book a venue's fill: once, atomically with the order's new state, its position and
    its events. None when it was already applied or the order is no longer working."""
    async with kit.uows() as uow:
        order, version = await repo.load_order(uow, execution.order_id, for_update=True)
        if order.status.is_terminal or order.status is OrderStatus.HELD:
            return None
        instrument = await instrument_for(uow, order.symbol)
        crypto = instrument.asset_class is marketdata.AssetClass.CRYPTO
        amounts = fill_amounts(
            kit.policy.fees,
            order.side,
            filled_qty=order.filled_qty,
            filled_notional=order.filled_notional,
            qty=execution.qty,
            price=execution.price,
            crypto=crypto,
        )
        execution_id = new_id()
        claimed = await repo.claim_execution(
            uow,
            execution_id=execution_id,
            venue=venue,
            venue_execution_id=execution.venue_execution_id,
            order=order,
            qty=execution.qty,
            price=execution.price,
            fee_minor=int(amounts.fee.scaleb(2)),
            liquidity=execution.liquidity,
            at=execution.at,
        )
        if not claimed:
            return None
        account = await open_trading_account(uow, order.account_id)
        books = await books_for(
            uow,
            order.account_id,
            order.symbol,
            currency=kit.policy.currency,
            book=account.book,
            platform=kit.platform_accounts,
        )
        short = order.side is Side.SELL and account.may_short and instrument.shortable
        booking = await book_fill(
            uow,
            order,
            books,
            execution_id=execution_id,
            qty=execution.qty,
            cash=amounts.cash,
            fee=amounts.fee,
            allow_negative=(books.shares.id,) if short else (),
        )
        await repo.link_execution(uow, execution_id, booking.entry_id)
        held = await apply_fill(
            uow, order.account_id, order.symbol, order.side, execution.qty, execution.price
        )
        filled = order.filled(execution.qty, execution.price, execution.at, final=execution.final)
        await repo.save_order(uow, filled, version=version)
        event = OrderEvent.FILL if filled.status is OrderStatus.FILLED else OrderEvent.PARTIAL_FILL
        await record_event(
            kit,
            uow,
            filled,
            event,
            at=execution.at,
            qty=execution.qty,
            price=execution.price,
            execution_id=execution_id,
            position_qty=held.qty,
        )
        if filled.status is OrderStatus.FILLED:
            for other, other_version in await exit_group(uow, filled):
                if other.status.is_open:  # one filled: the others of its group cancel
                    await _close(kit, uow, other, other_version, OrderEvent.CANCELED, execution.at)
            await release_rest(uow, filled)
            await _activate_legs(kit, uow, filled, books, execution.at)
            done_venue = kit.venue(filled.venue)
            uow.after_commit(lambda: done_venue.withdrawn(filled.id))
    return filled


async def _activate_legs(
    kit: TradingKit, uow: UnitOfWork, entry: Order, books: Books, at: datetime
) -> None:
    """The entry filled: its exits start working, sharing one hold on the shares they sell
    (whichever fills first cancels the other)."""
    if entry.request.order_class not in {OrderClass.BRACKET, OrderClass.OTO}:
        return
    hold_id: uuid.UUID | None = None
    for leg_id in entry.legs:
        leg, version = await repo.load_order(uow, leg_id, for_update=True)
        if leg.status is not OrderStatus.HELD:
            continue
        if hold_id is None:
            hold_id = await place_hold(
                uow, leg, books, cash=Decimal(0), shares=leg.request.qty or entry.filled_qty
            )
        leg = leg.apply(OrderEvent.ACTIVATED, at, hold_id=hold_id)
        await repo.save_order(uow, leg, version=version)
        await record_event(kit, uow, leg, OrderEvent.ACTIVATED, at=at)
        uow.after_commit(partial(kit.venue(leg.venue).working, leg))


async def mark_triggered(
    kit: TradingKit, order_id: uuid.UUID, *, at: datetime, high_water_mark: Decimal | None = None
) -> Order | None:
    """A stop reached its price (or a trailing stop's mark moved): remembered, so a restart
    does not lose it."""
    async with kit.uows() as uow:
        order, version = await repo.load_order(uow, order_id, for_update=True)
        if order.status.is_terminal:
            return None
        if high_water_mark is not None and not order.triggered:
            order = replace(order, high_water_mark=high_water_mark, updated_at=at)
            await repo.save_order(uow, order, version=version)
            return order
        order = order.apply(OrderEvent.TRIGGERED, at, triggered=True)
        await repo.save_order(uow, order, version=version)
        await record_event(kit, uow, order, OrderEvent.TRIGGERED, at=at)
        return order


async def account_of(kit: TradingKit, account_id: uuid.UUID) -> TradingAccount:
    async with kit.uows() as uow:
        return await open_trading_account(uow, account_id)


__all__ = [
    "Submitted",
    "account_view",
    "apply_execution",
    "cancel_all",
    "cancel_order",
    "confirm_cancel",
    "expire_order",
    "get_order",
    "hold_and_accept",
    "mark_triggered",
    "record_event",
    "reject_order",
    "submit_order",
]
