"""The internal venue: customers' orders matched against each other in central limit order
books (`trading.book.OrderBook`, price-time priority over integer ticks and lots).

One book per instrument and kind of money: paper and live orders never meet, so each symbol
has a paper book and a live book, each a "lane" with its own queue and its own task, the
book's single writer. What the book says one command did is written to the database in one
transaction (`internal_batch`): both sides of every fill, the taker's unfilled remainder,
a requested cancel. Execution ids are `{symbol}:{paper|live}:{book seq, 15 digits}:maker`
(or `:taker`), so a fill reported twice is booked once.

Recovery needs nothing persisted beyond what the service already writes. A lane starts (and
restarts after anything went wrong) by rebuilding its book from the database: the book's
sequence continues after the highest one in its execution ids (zero-padded, so the highest
is the string maximum), and every working order of the lane is submitted again in arrival
order (`accept_seq`, then id) with its remaining quantity. Orders that rested before get
their places back in the same order; orders that were accepted but never reached the book
(or whose batch was lost in a crash) are matched now. `OrderBook.restore` is not used: the
database cannot tell which open orders had reached the book, and restoring two crossing
ones would be an error, where replaying them is the repair.

Self-trade: prevented. An order that would cross a resting opposite order of the same
account is rejected before it reaches the book, as Alpaca rejects a "potential wash trade".

Supported: market and limit orders with a quantity, day/gtc/ioc/fok (gtd rests like gtc and
is not expired here). Day orders are not expired at the close by this venue yet.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from finplat import marketdata
from finplat.kernel import BusinessRuleViolation
from finplat.platform.db import UnitOfWork
from finplat.trading import repository as repo
from finplat.trading.book import OrderBook
from finplat.trading.book_events import (
    CANCEL_REJECTED,
    CANCELED,
    FILL,
    REJECTED,
    RESTED,
    CancelReason,
    Event,
)
from finplat.trading.book_events import Side as BookSide
from finplat.trading.book_events import TimeInForce as BookTif
from finplat.trading.context import TradingKit
from finplat.trading.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from finplat.trading.store import executions
from finplat.trading.venue import Execution
from finplat.trading.venues.internal_batch import (
    VENUE,
    Action,
    End,
    Fill,
    OutOfStep,
    apply_batch,
)

log = logging.getLogger(__name__)

WASH_TRADE = "potential wash trade detected: the order would trade with your own opposite order"
_TIFS = {
    TimeInForce.GTC: BookTif.GTC,
    TimeInForce.DAY: BookTif.DAY,
    TimeInForce.IOC: BookTif.IOC,
    TimeInForce.FOK: BookTif.FOK,
    TimeInForce.GTD: BookTif.GTC,
}
_SIDES = {Side.BUY: BookSide.BUY, Side.SELL: BookSide.SELL}
_WORKING = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
_ATTEMPTS = 3  # tries of one batch when the database fails (a deadlock between lanes)
_REBUILDS = 5  # tries of one rebuild, each after refusing the order that broke the last

#: Called at "matched" (the book moved, nothing written), "applied" (inside the transaction,
#: before commit) and "committed": tests raise from it to kill the engine at that point.
Fault = Callable[[str], None]


@dataclass(frozen=True)
class LaneKey:
    symbol: str
    paper: bool

    @property
    def prefix(self) -> str:
        """Of the lane's execution ids."""
        return f"{self.symbol}:{'paper' if self.paper else 'live'}:"


@dataclass(frozen=True)
class _Submit:
    order: Order


@dataclass(frozen=True)
class _Cancel:
    order_id: uuid.UUID


@dataclass(frozen=True)
class _Drop:
    order_id: uuid.UUID


class _Signal(Enum):
    REBUILD = "rebuild"
    STOP = "stop"


_Command = _Submit | _Cancel | _Drop | _Signal


@dataclass
class _Lane:
    key: LaneKey
    queue: asyncio.Queue[_Command] = field(default_factory=asyncio.Queue)
    book: OrderBook | None = None  # None until built, and after a rebuild gave up
    instrument: marketdata.Instrument | None = None
    owners: dict[int, uuid.UUID] = field(default_factory=dict)  # resting order -> account
    # account -> its resting orders: book id -> (side, price in ticks), for wash-trade checks
    resting: dict[uuid.UUID, dict[int, tuple[Side, int]]] = field(default_factory=dict)
    replayed: set[uuid.UUID] = field(default_factory=set)  # submitted by the last rebuild
    task: asyncio.Task[None] | None = None

    def remember(self, book_id: int, account: uuid.UUID, side: Side, price: int) -> None:
        self.owners[book_id] = account
        self.resting.setdefault(account, {})[book_id] = (side, price)

    def forget(self, book_id: int) -> None:
        account = self.owners.pop(book_id, None)
        if account is None:
            return
        mine = self.resting.get(account)
        if mine is not None:
            mine.pop(book_id, None)
            if not mine:
                del self.resting[account]

    def washes(self, order: Order, limit: int | None) -> bool:
        """Whether `order` would cross a resting opposite order of its own account."""
        for side, price in self.resting.get(order.account_id, {}).values():
            if side is order.side:
                continue
            if limit is None or (price <= limit if order.side is Side.BUY else price >= limit):
                return True
        return False


class InternalVenue:
    """Register it (`kit.venues[venue.name] = venue`) and run it with `run(stop)`."""

    name = VENUE
    cancels_at_once = False

    def __init__(self, kit: TradingKit, *, fault: Fault | None = None) -> None:
        self.kit = kit
        self._fault = fault
        self._lanes: dict[LaneKey, _Lane] = {}
        self._where: dict[uuid.UUID, LaneKey] = {}  # orders handed over, until withdrawn
        self._running = False
        self._wake = asyncio.Event()  # stop, or a lane crashed
        self._started = asyncio.Event()  # run has started the lanes it found
        self._crash: BaseException | None = None  # what killed a lane, for run to raise

    # -- the Venue protocol (called after the service's transactions commit) ------------------

    def working(self, order: Order) -> None:
        key = LaneKey(order.symbol, order.paper)
        self._where[order.id] = key
        self._send(key, _Submit(order))

    def cancel_requested(self, order: Order) -> None:
        self._send(LaneKey(order.symbol, order.paper), _Cancel(order.id))

    def withdrawn(self, order_id: uuid.UUID) -> None:
        key = self._where.pop(order_id, None)
        if key is not None:
            self._send(key, _Drop(order_id))

    def replace_requested(self, old: Order, new: Order) -> None:
        raise NotImplementedError("the service does not replace orders on the internal venue")

    # -- running --------------------------------------------------------------------------------

    def book(self, symbol: str, *, paper: bool) -> OrderBook | None:
        """The lane's book as it stands (for inspection; only the lane may change it)."""
        lane = self._lanes.get(LaneKey(symbol, paper))
        return None if lane is None else lane.book

    async def idle(self) -> None:
        """Wait until the venue started and carried out every command handed to it so far."""
        await self._started.wait()
        while True:
            lanes = list(self._lanes.values())
            for lane in lanes:
                await lane.queue.join()
            if len(lanes) == len(self._lanes) and all(lane.queue.empty() for lane in lanes):
                return

    async def run(self, stop: asyncio.Event) -> None:
        """Rebuild the books of every lane with open orders, then match until `stop`.
        Commands not started by then are dropped: the database has them for the next start.
        A lane that dies of something other than an Exception (a simulated crash) ends the
        run with it."""
        self._wake, self._crash = asyncio.Event(), None
        self._running = True
        async with self.kit.uows(read_only=True) as uow:
            found = await repo.open_orders(uow, venue=VENUE)
        for key in dict.fromkeys(LaneKey(o.symbol, o.paper) for o in found):
            self._lane(key)
        self._started.set()
        watcher = asyncio.create_task(self._watch(stop))
        try:
            await self._wake.wait()
        finally:
            self._running = False
            self._started.clear()
            watcher.cancel()
            await self._stop_lanes()
        if self._crash is not None:
            raise self._crash

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _stop_lanes(self) -> None:
        tasks = []
        for lane in self._lanes.values():
            while not lane.queue.empty():
                lane.queue.get_nowait()
                lane.queue.task_done()
            lane.queue.put_nowait(_Signal.STOP)
            if lane.task is not None:
                tasks.append(lane.task)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()

    def _send(self, key: LaneKey, command: _Command) -> None:
        if not self._running:
            return  # the next run rebuilds from the database
        self._lane(key).queue.put_nowait(command)

    def _lane(self, key: LaneKey) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(key)
            lane.queue.put_nowait(_Signal.REBUILD)
            lane.task = asyncio.create_task(self._work(lane), name=f"internal-venue:{key.prefix}")
            lane.task.add_done_callback(self._lane_ended)
        return lane

    def _lane_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._crash is not None:
            return
        self._crash = task.exception()
        if self._crash is not None:
            self._wake.set()

    async def _work(self, lane: _Lane) -> None:
        while True:
            command = await lane.queue.get()
            try:
                if command is _Signal.STOP:
                    return
                await self._handle(lane, command)
            except Exception:
                log.exception("internal venue: %s on %s failed; rebuilding", command, lane.key)
                await self._rebuild(lane)
            finally:
                lane.queue.task_done()

    async def _handle(self, lane: _Lane, command: _Command) -> None:
        if command is _Signal.REBUILD or lane.book is None:
            await self._rebuild(lane)
        match command:
            case _Submit(order):
                if order.id in lane.replayed:
                    lane.replayed.discard(order.id)  # the rebuild submitted it already
                else:
                    await self._submit(lane, order)
            case _Cancel(order_id):
                await self._cancel(lane, order_id)
            case _Drop(order_id):
                assert lane.book is not None  # noqa: S101 - built above
                if lane.book.order(order_id.int) is not None:
                    lane.book.cancel(order_id.int)  # ended elsewhere (its group, a replace)
                    lane.forget(order_id.int)

    # -- commands -------------------------------------------------------------------------------

    async def _submit(self, lane: _Lane, order: Order) -> None:
        book, instrument = lane.book, lane.instrument
        assert book is not None  # noqa: S101 - built first
        assert instrument is not None  # noqa: S101
        if book.order(order.id.int) is not None:
            return  # already resting
        at = self.kit.clock.now()
        terms = _terms(order, instrument)
        if isinstance(terms, str):
            await self._write(lane, [End(order.id, "rejected", terms)], at)
            return
        lots, price, tif = terms
        if lane.washes(order, price):
            await self._write(lane, [End(order.id, "rejected", WASH_TRADE)], at)
            return
        events = book.submit(order.id.int, _SIDES[order.side], lots, price, tif)
        await self._write(lane, self._actions(lane, events, order, at), at)

    async def _cancel(self, lane: _Lane, order_id: uuid.UUID) -> None:
        assert lane.book is not None  # noqa: S101 - built first
        at = self.kit.clock.now()
        events = lane.book.cancel(order_id.int)
        await self._write(lane, self._actions(lane, events, None, at), at)

    def _actions(
        self, lane: _Lane, events: list[Event], taker: Order | None, at: datetime
    ) -> list[Action]:
        """What the database must learn of `events`; the lane's bookkeeping follows them."""
        instrument = lane.instrument
        assert instrument is not None  # noqa: S101
        lot = instrument.lot_size
        actions: list[Action] = []
        for event in events:
            if event[0] is FILL:
                _, seq, maker, taker_id, ticks, lots, maker_left, _ = event
                price, qty = instrument.from_ticks(ticks), lots * lot
                venue_id = f"{lane.key.prefix}{seq:015d}"
                maker_side = Execution(
                    uuid.UUID(int=maker), f"{venue_id}:maker", qty, price, at, "maker"
                )
                taker_side = Execution(uuid.UUID(int=taker_id), f"{venue_id}:taker", qty, price, at)
                assert taker is not None  # noqa: S101 - fills come of submissions only
                actions.append(Fill(maker_side, taker_side, (lane.owners[maker], taker.account_id)))
                if not maker_left:
                    lane.forget(maker)
            elif event[0] is RESTED:
                _, _, book_id, _, ticks, _ = event
                if taker is not None and taker.id.int == book_id:
                    lane.remember(book_id, taker.account_id, taker.side, ticks)
            elif event[0] is CANCELED:
                _, _, book_id, _, reason = event
                lane.forget(book_id)
                actions.append(_ending(uuid.UUID(int=book_id), reason))
            elif event[0] is REJECTED:
                _, _, book_id, why = event
                actions.append(End(uuid.UUID(int=book_id), "rejected", f"the book refused: {why}"))
            elif event[0] is CANCEL_REJECTED:
                # not in the book (it never rested, or already ended): nothing can fill it
                actions.append(End(uuid.UUID(int=event[2]), "canceled"))
        return actions

    async def _write(self, lane: _Lane, actions: list[Action], at: datetime) -> None:
        if not actions:
            return
        self._at("matched")
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await apply_batch(
                    self.kit,
                    actions,
                    symbol=lane.key.symbol,
                    paper=lane.key.paper,
                    at=at,
                    before_commit=self._applied,
                )
                break
            except DBAPIError:
                if attempt == _ATTEMPTS:
                    raise
                log.warning("internal venue: batch failed (attempt %d), retrying", attempt)
        self._at("committed")

    def _applied(self) -> None:
        self._at("applied")

    def _at(self, point: str) -> None:
        if self._fault is not None:
            self._fault(point)

    # -- recovery -------------------------------------------------------------------------------

    async def _rebuild(self, lane: _Lane) -> None:
        """The lane's book anew from the database; an order whose replay the database refuses
        is rejected and the rebuild starts over (a few times, then the lane waits for its next
        command to try again)."""
        for _ in range(_REBUILDS):
            culprit: uuid.UUID | None = None
            try:
                culprit = await self._replay(lane)
            except (OutOfStep, BusinessRuleViolation, DBAPIError):
                log.exception("internal venue: rebuilding %s failed", lane.key)
                culprit = None
            if culprit is None and lane.book is not None:
                return
            if culprit is not None:
                await self._refuse(lane, culprit)
        lane.book = None
        log.error("internal venue: %s has no book; the next command tries again", lane.key)

    async def _replay(self, lane: _Lane) -> uuid.UUID | None:
        """Rebuild; returns the order whose replay failed (the book is then unusable)."""
        key = lane.key
        lane.book = None
        async with self.kit.uows(read_only=True) as uow:
            lane.instrument = await marketdata.get_instrument(uow, key.symbol)
            found = [
                o
                for o in await repo.open_orders(uow, venue=VENUE)
                if o.symbol == key.symbol and o.paper == key.paper
            ]
            sequence = await last_sequence(uow, key)
        book = OrderBook(key.symbol, sequence=sequence)
        lane.book, lane.replayed = book, set()
        lane.owners.clear()
        lane.resting.clear()
        for order in found:
            if order.status is OrderStatus.PENDING_CANCEL:
                await self._write(lane, [End(order.id, "canceled")], self.kit.clock.now())
            elif order.status in _WORKING:
                self._where[order.id] = key
                lane.replayed.add(order.id)
                try:
                    await self._submit(lane, order)
                except (OutOfStep, BusinessRuleViolation):
                    log.exception("internal venue: replaying %s failed", order.id)
                    lane.book = None
                    return order.id
        log.info("internal venue: %s rebuilt from %d open orders", key.prefix, len(found))
        return None

    async def _refuse(self, lane: _Lane, order_id: uuid.UUID) -> None:
        try:
            await self._write(
                lane,
                [End(order_id, "rejected", "the internal venue could not book its fills")],
                self.kit.clock.now(),
            )
        except Exception:
            log.exception("internal venue: could not reject %s", order_id)


def _terms(
    order: Order, instrument: marketdata.Instrument
) -> tuple[int, int | None, BookTif] | str:
    """The order in the book's units (lots, ticks or None for market, time in force), or why
    the venue does not take it."""
    request = order.request
    if request.type not in {OrderType.MARKET, OrderType.LIMIT}:
        return f"the internal venue takes market and limit orders, not {request.type.value}"
    tif = _TIFS.get(request.time_in_force)
    if tif is None:
        return f"the internal venue does not take time in force {request.time_in_force.value}"
    remaining = order.remaining_qty
    if remaining is None:
        return "the internal venue does not take notional orders"
    lots = remaining / instrument.lot_size
    if lots <= 0 or lots != lots.to_integral_value():
        return f"{remaining} is not a whole number of lots of {instrument.lot_size}"
    price = None
    if request.type is OrderType.LIMIT:
        assert request.limit_price is not None  # noqa: S101 - checked at submission
        price = instrument.to_ticks(request.limit_price)
    return int(lots), price, tif


def _ending(order_id: uuid.UUID, reason: CancelReason) -> End:
    if reason is CancelReason.REQUESTED:
        return End(order_id, "canceled")
    if reason is CancelReason.NO_LIQUIDITY:
        return End(order_id, "rejected", "no liquidity in the internal book")
    return End(order_id, "expired", reason.value)


async def last_sequence(uow: UnitOfWork, key: LaneKey) -> int:
    """The highest book sequence number in the lane's booked execution ids (0 for none)."""
    highest = await uow.session.scalar(
        select(func.max(executions.c.venue_execution_id)).where(
            executions.c.venue == VENUE,
            executions.c.venue_execution_id.startswith(key.prefix, autoescape=True),
        )
    )
    if highest is None:
        return 0
    return int(str(highest)[len(key.prefix) :].split(":")[0])


__all__ = ["WASH_TRADE", "InternalVenue", "LaneKey", "last_sequence"]
