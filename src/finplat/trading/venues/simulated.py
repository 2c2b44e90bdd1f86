"""The paper venue (`simulated`): works orders against the market-data quotes.

One task does all the work, from a queue of jobs: an order arrives (after `latency`), a
quote moves, an order is withdrawn, the time is checked (deadlines, trailing-stop marks).
So the venue is the single writer of its orders and two fills of one order never race.
What a quote does to an order is decided by the pure `paper_matching.decide`; this module
carries the decision out through the order service, each step its own transaction.

Quotes come from the feed in this process, or else the stream hub (`paper_quotes.py`),
conflated per symbol: when the venue falls behind it works the newest quote and skips
superseded ones.

A quote's size is shared by the orders of its symbol, in arrival order. At start the venue
loads its open orders from the database, so a restart resumes them. Execution ids are
`{order id}:{n}`, n counting the order's fills, so a fill reported twice is booked once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from finplat import marketdata
from finplat.kernel import BusinessRuleViolation, Conflict
from finplat.platform.db import UnitOfWork
from finplat.trading import repository as repo
from finplat.trading.domain.orders import Order, OrderType
from finplat.trading.venue import Execution
from finplat.trading.venues.paper_matching import (
    WORKING,
    End,
    Ending,
    Fill,
    Hours,
    Moment,
    Terms,
    deadline,
    decide,
)
from finplat.trading.venues.paper_ports import VENUE, OrderDesk, PaperKit, fill_counts
from finplat.trading.venues.paper_quotes import Book, QuoteTap

log = logging.getLogger(__name__)

#: Refusals that mean the venue's copy of an order is behind the database's.
_STALE = frozenset({"overfill", "order_not_in_a_state_to_change"})


@dataclass
class _Working:
    """An order the venue works, with what only the venue knows of it."""

    order: Order
    fills: int  # fills booked so far: the next execution is number fills + 1
    terms: Terms
    deadline: datetime | None
    mark: Decimal | None  # a trailing stop's high-water mark, ahead of the saved one


@dataclass(frozen=True)
class _Arrive:
    order_id: uuid.UUID


@dataclass(frozen=True)
class _Quoted:
    symbol: str


@dataclass(frozen=True)
class _Withdraw:
    order_id: uuid.UUID


class _Signal(Enum):
    CHECK_TIME = "check_time"  # deadlines and trailing marks
    RESUME = "resume"  # load the open orders (the first job of a run)
    STOP = "stop"


_Job = _Arrive | _Quoted | _Withdraw | _Signal


class PaperVenue:
    """Paper trading against the quotes: `PaperVenue(kit, desk=trading.service)`. Register
    it (`kit.venues[venue.name] = venue`) before orders reach it, and run it with
    `run(stop)`."""

    name = VENUE
    cancels_at_once = True

    def __init__(
        self,
        kit: PaperKit,
        *,
        desk: OrderDesk,
        latency: timedelta = timedelta(0),
        slippage_bps: Decimal = Decimal(0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        check_every: timedelta = timedelta(seconds=1),
    ) -> None:
        self.kit = kit
        self.desk = desk
        self.latency = latency
        self.slippage_bps = slippage_bps
        self.check_every = check_every  # how often deadlines and trailing marks are checked
        self._sleep = sleep
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._orders: dict[uuid.UUID, _Working] = {}
        self._by_symbol: dict[str, dict[uuid.UUID, _Working]] = {}  # in arrival order
        self._books: dict[str, Book] = {}
        self._incoming: dict[str, marketdata.Quote] = {}  # quotes not yet worked, per symbol
        self._regular: dict[str, marketdata.Quote] = {}  # the last quote in regular hours
        self._instruments: dict[str, marketdata.Instrument] = {}
        self._delayed: set[asyncio.Task[None]] = set()
        self._tap: QuoteTap | None = None

    # -- the Venue protocol (called after the service's transactions commit) -------------------

    def working(self, order: Order) -> None:
        job = _Arrive(order.id)
        if self.latency <= timedelta(0):
            self._queue.put_nowait(job)
            return
        task = asyncio.get_running_loop().create_task(self._after_latency(job))
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)

    def withdrawn(self, order_id: uuid.UUID) -> None:
        self._queue.put_nowait(_Withdraw(order_id))

    def cancel_requested(self, order: Order) -> None:
        raise NotImplementedError("the paper venue cancels at once")

    def replace_requested(self, old: Order, new: Order) -> None:
        raise NotImplementedError("the paper venue cancels at once")

    # -- running ----------------------------------------------------------------------------------

    def quote(self, quote: marketdata.Quote) -> None:
        """Hand the venue a quote (what the feed listener and the hub reader call)."""
        if quote.stale:
            return
        first = quote.symbol not in self._incoming
        self._incoming[quote.symbol] = quote
        if first:
            self._queue.put_nowait(_Quoted(quote.symbol))

    def check_time(self) -> None:
        """Ask for a pass over deadlines and trailing marks (run does so every
        `check_every`)."""
        self._queue.put_nowait(_Signal.CHECK_TIME)

    async def idle(self) -> None:
        """Wait until everything handed to the running venue so far has been worked."""
        while True:
            if self._delayed:
                await asyncio.gather(*self._delayed, return_exceptions=True)
            await self._queue.join()
            undelivered = self._tap is not None and self._tap.pending()
            if not self._delayed and not undelivered and self._queue.empty():
                return
            await asyncio.sleep(0)

    async def run(self, stop: asyncio.Event) -> None:
        """Resume the open orders, then work orders and quotes until `stop`. Work handed
        over but not started by then is dropped: the database has it for the next start."""
        self._queue.put_nowait(_Signal.RESUME)
        self._tap = QuoteTap(self.kit.marketdata, self.quote)
        log.info("paper venue: quotes from the %s", self._tap.source)
        worker = asyncio.create_task(self._work(), name="paper-venue")
        clock = asyncio.create_task(self._clock(stop), name="paper-venue-clock")
        try:
            await stop.wait()
        finally:
            self._tap.close()
            self._tap = None
            for task in (clock, *self._delayed):
                task.cancel()
            self._discard_backlog()
            self._queue.put_nowait(_Signal.STOP)
            await worker  # it finishes the step in progress first
            self._discard_backlog()
            try:
                await self._save_marks(self.kit.clock.now())
            except Exception:
                log.exception("paper venue: saving trailing marks at shutdown failed")

    def _discard_backlog(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()

    async def _after_latency(self, job: _Job) -> None:
        await self._sleep(self.latency.total_seconds())
        self._queue.put_nowait(job)

    async def _clock(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.check_every.total_seconds())
            self.check_time()

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            if job is _Signal.STOP:
                self._queue.task_done()
                return
            try:
                await self._handle(job)
            except Exception:
                log.exception("paper venue: %s failed", job)
            finally:
                self._queue.task_done()

    async def _handle(self, job: _Job) -> None:
        match job:
            case _Quoted(symbol):
                await self._on_quote(symbol)
            case _Arrive(order_id):
                await self._arrive(order_id)
            case _Withdraw(order_id):
                self._drop(order_id)
            case _Signal.CHECK_TIME:
                await self._check_time()
            case _Signal.RESUME:
                await self._resume()

    # -- jobs -------------------------------------------------------------------------------------

    async def _resume(self) -> None:
        async with self.kit.uows(read_only=True) as uow:
            found = [o for o in await repo.open_orders(uow, venue=VENUE) if o.status in WORKING]
            counts = await fill_counts(uow)
            for order in found:
                await self._instrument(uow, order.symbol)
        for order in found:
            if order.id not in self._orders:
                working = self._add(order, counts.get(order.id, 0))
                await self._step(working, Moment.RESUME)
        log.info("paper venue: resumed %d open orders", len(found))

    async def _arrive(self, order_id: uuid.UUID) -> None:
        if order_id in self._orders:
            return
        async with self.kit.uows(read_only=True) as uow:
            order, _ = await repo.load_order(uow, order_id)
            if order.status not in WORKING:
                return  # withdrawn while it was on its way
            fills = (await fill_counts(uow, order_id)).get(order_id, 0)
            await self._instrument(uow, order.symbol)
        await self._step(self._add(order, fills), Moment.ARRIVAL)

    async def _on_quote(self, symbol: str) -> None:
        quote = self._incoming.pop(symbol, None)
        if quote is None:
            return
        book = self._adopt(quote)
        working = self._by_symbol.get(symbol)
        if not working:
            return
        now = self.kit.clock.now()
        hours = self._hours(symbol, now)
        if hours.regular:
            self._regular[symbol] = quote
        for order_id in list(working):
            one = self._orders.get(order_id)
            if one is not None:
                await self._carry_out(one, book, hours, Moment.QUOTE, now)

    async def _step(self, working: _Working, moment: Moment) -> None:
        """Look at an order against the latest quote (on arrival and on resume)."""
        now = self.kit.clock.now()
        book = await self._latest_book(working.order.symbol)
        await self._carry_out(working, book, self._hours(working.order.symbol, now), moment, now)

    async def _check_time(self) -> None:
        now = self.kit.clock.now()
        for one in list(self._orders.values()):
            if one.deadline is None or now < one.deadline:
                continue
            last = self._regular.get(one.order.symbol)  # for cls: the last quote before the close
            book = None if last is None else Book.of(last)
            await self._carry_out(one, book, Hours(regular=False), Moment.DEADLINE, now)
        await self._save_marks(now)

    async def _save_marks(self, now: datetime) -> None:
        """Persist the trailing stops' marks that moved (throttled: once per time check)."""
        for one in list(self._orders.values()):
            order = one.order
            if order.request.type is not OrderType.TRAILING_STOP or order.triggered:
                continue
            if one.mark is None or one.mark == order.high_water_mark:
                continue
            saved = await self.desk.mark_triggered(
                self.kit, order.id, at=now, high_water_mark=one.mark
            )
            self._update(one, saved)

    # -- carrying out a decision ----------------------------------------------------------------

    async def _carry_out(
        self, one: _Working, book: Book | None, hours: Hours, moment: Moment, now: datetime
    ) -> None:
        step = decide(
            one.order,
            None if book is None else book.touch(),
            terms=one.terms,
            hours=hours,
            moment=moment,
            mark=one.mark,
        )
        if step.mark is not None:
            one.mark = step.mark
        if step.trigger and not await self._trigger(one, now):
            return
        if step.fill is not None and not await self._fill(one, step.fill, book, now):
            return
        if step.end is not None:
            await self._end(one, step.end, now)

    async def _trigger(self, one: _Working, now: datetime) -> bool:
        triggered = await self.desk.mark_triggered(self.kit, one.order.id, at=now)
        return self._update(one, triggered)

    async def _fill(self, one: _Working, fill: Fill, book: Book | None, now: datetime) -> bool:
        order = one.order
        number = one.fills + 1
        execution = Execution(
            order_id=order.id,
            venue_execution_id=f"{order.id}:{number}",
            qty=fill.qty,
            price=fill.price,
            at=now,
            final=fill.final,
        )
        try:
            booked = await self.desk.apply_execution(self.kit, VENUE, execution)
        except Conflict:
            await self._resync(one)
            return False
        except BusinessRuleViolation as error:
            if error.code in _STALE:
                await self._resync(one)
                return False
            # the ledger or the order refuses the fill (say the cash to pay for it is gone):
            # the order cannot work on, so it ends with the reason
            log.warning("paper venue: fill of %s refused: %s", order.id, error.message)
            await self._end(one, End(Ending.REJECT, f"the fill was refused: {error.message}"), now)
            return False
        if booked is None:  # booked before (a replay), or the order stopped working
            await self._resync(one)
            return False
        one.fills = number
        if book is not None:
            book.take(order.side, fill.qty)
        return self._update(one, booked)

    async def _end(self, one: _Working, end: End, now: datetime) -> None:
        order_id = one.order.id
        log.debug("paper venue: %s %s: %s", end.how.value, order_id, end.reason)
        if end.how is Ending.EXPIRE:
            await self.desk.expire_order(self.kit, order_id, at=now)
        else:
            await self.desk.reject_order(self.kit, order_id, at=now, reason=end.reason)
        self._drop(order_id)

    async def _resync(self, one: _Working) -> None:
        """Read the order again after the service declined a step."""
        async with self.kit.uows(read_only=True) as uow:
            order, _ = await repo.load_order(uow, one.order.id)
            fills = (await fill_counts(uow, order.id)).get(order.id, 0)
        one.fills = fills
        self._update(one, order)

    def _update(self, one: _Working, order: Order | None) -> bool:
        """Keep the order's new state; False (and forget it) once it no longer works."""
        if order is None or order.status not in WORKING:
            self._drop(one.order.id)
            return False
        one.order = order
        return True

    # -- state ----------------------------------------------------------------------------------

    def _add(self, order: Order, fills: int) -> _Working:
        instrument = self._instruments[order.symbol]
        calendar = marketdata.calendar_for(instrument)
        one = _Working(
            order=order,
            fills=fills,
            terms=Terms(instrument.tick_size, instrument.lot_size, self.slippage_bps),
            deadline=deadline(order, calendar, instrument.timezone),
            mark=order.high_water_mark,
        )
        self._orders[order.id] = one
        self._by_symbol.setdefault(order.symbol, {})[order.id] = one
        return one

    def _drop(self, order_id: uuid.UUID) -> None:
        one = self._orders.pop(order_id, None)
        if one is None:
            return
        same = self._by_symbol.get(one.order.symbol, {})
        same.pop(order_id, None)
        if not same:
            self._by_symbol.pop(one.order.symbol, None)

    def _adopt(self, quote: marketdata.Quote) -> Book:
        """The book of the quote's symbol: a new quote refills the sizes; the same quote
        seen again (from the cache, then from the feed) keeps what orders took of it."""
        book = self._books.get(quote.symbol)
        if book is None or (quote != book.quote and quote.timestamp >= book.quote.timestamp):
            book = self._books[quote.symbol] = Book.of(quote)
        return book

    async def _latest_book(self, symbol: str) -> Book | None:
        """The quote current now: the cache's latest (the feed writes it before telling
        anyone), unless it is stale."""
        latest = await self.kit.marketdata.cache.latest_quote(symbol)
        if latest is None or latest.stale:
            return None
        return self._adopt(latest)

    def _hours(self, symbol: str, now: datetime) -> Hours:
        calendar = marketdata.calendar_for(self._instruments[symbol])
        return Hours(calendar.is_open(now), calendar.is_open(now, extended=True))

    async def _instrument(self, uow: UnitOfWork, symbol: str) -> marketdata.Instrument:
        found = self._instruments.get(symbol)
        if found is None:
            found = self._instruments[symbol] = await marketdata.get_instrument(uow, symbol)
        return found
