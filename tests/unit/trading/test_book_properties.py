"""Properties of the order book under random sequences of submits, cancels and replaces.

A hypothesis state machine drives the real book next to `ModelBook`, a deliberately naive
book (a dict of orders, sorted on every match) written from the rules rather than from the
book's code; every step must return exactly the model's events. After every step it also
checks, from the book's state and the events alone:

- the book is not crossed (best bid < best ask);
- quantity is conserved: for every order, its quantity (as accepted, then as replaced) equals
  what filled, what rests and what was canceled;
- no fill is at a price worse than the taker's limit, and every fill is at the maker's price;
- price-time priority: a taker's fills consume the opposite side's orders in the order
  (better price, earlier priority) they had before the step, each fully but the last;
- FOK fills completely or not at all; IOC and market orders never rest;
- sequence numbers increase by one per event;
- folding the events alone (a journal replay) gives the orders that rest in the book;
- a twin rebuilt with `OrderBook.restore` from the resting orders at some step returns the
  same events as the original for every step after;
- depth agrees with the resting orders, and (white box) the book's private indexes agree with
  each other: sorted price lists, live deque heads, the count of dead entries.

`TightBookMachine` runs the same with compaction at every opportunity and no emptied level
kept, paths the small books of a test would otherwise rarely reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from finplat.trading import book as book_module
from finplat.trading.book import MAX_PRICE, OrderBook, RestingOrder
from finplat.trading.book_events import (
    ACCEPTED,
    CANCEL_REJECTED,
    CANCELED,
    FILL,
    REJECTED,
    REPLACE_REJECTED,
    REPLACED,
    RESTED,
    CancelReason,
    Event,
    RejectReason,
    Side,
    TimeInForce,
)

BUY, SELL = Side.BUY, Side.SELL
GTC, DAY, IOC, FOK = TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
PRICES = st.integers(95, 105)  # a narrow band, so that orders cross often
QUANTITIES = st.integers(1, 12)


@dataclass
class ModelOrder:
    order_id: int
    side: Side
    price: int
    quantity: int
    priority: int
    post_only: bool


@dataclass
class ModelBook:
    """The rules, written plainly: no index, no lazy deletion, a sort at every match."""

    seq: int = 0
    orders: dict[int, ModelOrder] = field(default_factory=dict)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _crossing(self, side: Side, limit: int | None) -> list[ModelOrder]:
        """The opposite orders a taker may trade with, in the order it must take them."""
        if side is BUY:
            asks = [o for o in self.orders.values() if o.side is SELL]
            eligible = [o for o in asks if limit is None or o.price <= limit]
            return sorted(eligible, key=lambda o: (o.price, o.priority))
        bids = [o for o in self.orders.values() if o.side is BUY]
        eligible = [o for o in bids if limit is None or o.price >= limit]
        return sorted(eligible, key=lambda o: (-o.price, o.priority))

    def _take(self, taker_id: int, side: Side, quantity: int, limit: int | None) -> list[Event]:
        events: list[Event] = []
        for maker in self._crossing(side, limit):
            if quantity == 0:
                break
            traded = min(quantity, maker.quantity)
            maker.quantity -= traded
            quantity -= traded
            events.append(
                (
                    FILL,
                    self._next(),
                    maker.order_id,
                    taker_id,
                    maker.price,
                    traded,
                    maker.quantity,
                    quantity,
                )
            )
            if maker.quantity == 0:
                del self.orders[maker.order_id]
        return events

    def _rest(self, order_id: int, side: Side, quantity: int, price: int, post_only: bool) -> Event:
        seq = self._next()
        self.orders[order_id] = ModelOrder(order_id, side, price, quantity, seq, post_only)
        return (RESTED, seq, order_id, side, price, quantity)

    def submit(
        self,
        order_id: int,
        side: Side,
        quantity: int,
        price: int | None,
        tif: TimeInForce,
        post_only: bool,
    ) -> list[Event]:
        reason = None
        if order_id in self.orders:
            reason = RejectReason.DUPLICATE_ORDER_ID
        elif quantity <= 0:
            reason = RejectReason.INVALID_QUANTITY
        elif price is None and post_only:
            reason = RejectReason.MARKET_POST_ONLY
        elif price is not None and not 0 < price <= MAX_PRICE:
            reason = RejectReason.INVALID_PRICE
        elif post_only and self._crossing(side, price):
            reason = RejectReason.POST_ONLY_WOULD_CROSS
        if reason is not None:
            return [(REJECTED, self._next(), order_id, reason)]
        events: list[Event] = [
            (ACCEPTED, self._next(), order_id, side, quantity, price, tif, post_only)
        ]
        available = sum(o.quantity for o in self._crossing(side, price))
        if tif is FOK and available < quantity:
            events.append((CANCELED, self._next(), order_id, quantity, CancelReason.FOK_UNFILLABLE))
            return events
        events += self._take(order_id, side, quantity, price)
        left = quantity - sum(e[5] for e in events if e[0] is FILL)
        if left and price is not None and tif in (GTC, DAY):
            events.append(self._rest(order_id, side, left, price, post_only))
        elif left:
            why = CancelReason.NO_LIQUIDITY if price is None else CancelReason.IOC_REMAINDER
            events.append((CANCELED, self._next(), order_id, left, why))
        return events

    def cancel(self, order_id: int) -> list[Event]:
        order = self.orders.pop(order_id, None)
        if order is None:
            return [(CANCEL_REJECTED, self._next(), order_id, RejectReason.UNKNOWN_ORDER)]
        return [(CANCELED, self._next(), order_id, order.quantity, CancelReason.REQUESTED)]

    def replace(self, order_id: int, quantity: int, price: int) -> list[Event]:
        order = self.orders.get(order_id)
        seq = self._next()
        reason = None
        if order is None:
            reason = RejectReason.UNKNOWN_ORDER
        elif quantity <= 0:
            reason = RejectReason.INVALID_QUANTITY
        elif not 0 < price <= MAX_PRICE:
            reason = RejectReason.INVALID_PRICE
        elif price == order.price and quantity <= order.quantity:
            order.quantity = quantity
            return [(REPLACED, seq, order_id, price, quantity, True)]
        elif order.post_only and self._crossing(order.side, price):
            reason = RejectReason.POST_ONLY_WOULD_CROSS
        if reason is not None or order is None:
            return [(REPLACE_REJECTED, seq, order_id, reason or RejectReason.UNKNOWN_ORDER)]
        del self.orders[order_id]
        events: list[Event] = [(REPLACED, seq, order_id, price, quantity, False)]
        events += self._take(order_id, order.side, quantity, price)
        left = quantity - sum(e[5] for e in events if e[0] is FILL)
        if left:
            events.append(self._rest(order_id, order.side, left, price, order.post_only))
        return events


@dataclass
class Tally:
    """What became of one order's quantity."""

    quantity: int  # as accepted, then as each replace set it
    filled: int = 0
    canceled: int = 0


@dataclass(frozen=True)
class Taker:
    order_id: int
    side: Side
    quantity: int
    limit: int | None
    tif: TimeInForce


class BookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook("PROP")
        self.model = ModelBook()
        self.twin: OrderBook | None = None
        self.next_id = 1
        self.known: list[int] = []
        self.tallies: dict[int, Tally] = {}
        self.journal: dict[int, RestingOrder] = {}
        self.post_only: dict[int, bool] = {}
        self.before: dict[int, RestingOrder] = {}  # the resting orders before the step

    # --- rules ---------------------------------------------------------------------------------

    @rule(
        data=st.data(),
        side=st.sampled_from([BUY, SELL]),
        quantity=QUANTITIES,
        price=PRICES,
        tif=st.sampled_from([GTC, GTC, GTC, DAY, IOC, FOK]),
    )
    def submit(
        self, data: st.DataObject, side: Side, quantity: int, price: int, tif: TimeInForce
    ) -> None:
        order_id, self.next_id = self.next_id, self.next_id + 1
        odd = data.draw(st.integers(0, 24))  # now and then, something unusual
        post_only = odd in (1, 2, 3)
        chosen: int | None = None if odd in (4, 5, 6, 7) else price  # a market order
        if odd == 8:
            quantity = data.draw(st.sampled_from([0, -1]))
        elif odd == 9:
            chosen = data.draw(st.sampled_from([0, MAX_PRICE + 1, MAX_PRICE]))
        elif odd == 10 and len(self.book):  # an id that rests: a duplicate
            order_id = data.draw(st.sampled_from([r.order_id for r in self.book.resting_orders()]))
        expected = self.model.submit(order_id, side, quantity, chosen, tif, post_only)
        events = self._step(lambda b: b.submit(order_id, side, quantity, chosen, tif, post_only))
        assert events == expected
        self._check_taker(events, Taker(order_id, side, quantity, chosen, tif))
        self.known.append(order_id)

    @rule(side=st.sampled_from([BUY, SELL]), quantity=QUANTITIES, behind=st.integers(1, 5))
    def submit_passive(self, side: Side, quantity: int, behind: int) -> None:
        """A GTC order behind the touch, so that the book has depth to work on."""
        order_id, self.next_id = self.next_id, self.next_id + 1
        price = 100 - behind if side is BUY else 100 + behind
        expected = self.model.submit(order_id, side, quantity, price, GTC, False)
        events = self._step(lambda b: b.submit(order_id, side, quantity, price))
        assert events == expected
        self._check_taker(events, Taker(order_id, side, quantity, price, GTC))
        self.known.append(order_id)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order_id = self._some_id(data)
        expected = self.model.cancel(order_id)
        assert self._step(lambda b: b.cancel(order_id)) == expected

    @rule(data=st.data(), quantity=QUANTITIES, price=PRICES)
    def replace(self, data: st.DataObject, quantity: int, price: int) -> None:
        order_id = self._some_id(data)
        resting = self.book.order(order_id)
        odd = data.draw(st.integers(0, 19))
        if resting is not None and odd < 8:  # the same price: priority kept if not larger
            price = resting.price
        elif odd == 8:
            quantity = 0
        expected = self.model.replace(order_id, quantity, price)
        events = self._step(lambda b: b.replace(order_id, quantity=quantity, price=price))
        assert events == expected
        if resting is not None and events[0][0] is REPLACED and not events[0][5]:
            self._check_taker(events, Taker(order_id, resting.side, quantity, price, GTC))

    @precondition(lambda self: self.twin is None or len(self.book) > 0)
    @rule()
    def restore_twin(self) -> None:
        resting, sequence = self.book.resting_orders(), self.book.sequence
        self.twin = OrderBook.restore("TWIN", resting, sequence=sequence)

    # --- stepping ------------------------------------------------------------------------------

    def _some_id(self, data: st.DataObject) -> int:
        """Mostly an order that rests, sometimes one that is done, rarely one never seen."""
        roll = data.draw(st.integers(0, 9))
        resting = [r.order_id for r in self.book.resting_orders()]
        if resting and roll < 7:
            return data.draw(st.sampled_from(resting))
        if self.known and roll < 9:
            return data.draw(st.sampled_from(self.known))
        return self.next_id + 1000

    def _step(self, call: Callable[[OrderBook], list[Event]]) -> list[Event]:
        before = self.before = {r.order_id: r for r in self.book.resting_orders()}
        first = self.book.sequence + 1
        events = call(self.book)
        if self.twin is not None:
            assert call(self.twin) == events
        assert [e[1] for e in events] == list(range(first, first + len(events)))
        assert self.book.sequence == first + len(events) - 1
        self._tally(events, before)
        self._fold(events)
        return events

    def _tally(self, events: list[Event], before: dict[int, RestingOrder]) -> None:
        for event in events:
            if event[0] is ACCEPTED:
                self.tallies[event[2]] = Tally(event[4])
                self.post_only[event[2]] = event[7]
            elif event[0] is FILL:
                self.tallies[event[2]].filled += event[5]
                self.tallies[event[3]].filled += event[5]
            elif event[0] is CANCELED:
                self.tallies[event[2]].canceled += event[3]
            elif event[0] is REPLACED:
                self.tallies[event[2]].quantity += event[4] - before[event[2]].quantity

    def _fold(self, events: list[Event]) -> None:
        """Replay the events alone into the set of resting orders."""
        journal = self.journal
        for event in events:
            if event[0] is RESTED:
                _, seq, order_id, side, price, quantity = event
                journal[order_id] = RestingOrder(
                    order_id, side, price, quantity, seq, self.post_only[order_id]
                )
            elif event[0] is FILL and event[6] == 0:
                del journal[event[2]]
            elif event[0] is FILL:
                journal[event[2]] = journal[event[2]]._replace(quantity=event[6])
            elif event[0] is CANCELED:
                journal.pop(event[2], None)
            elif event[0] is REPLACED and event[5]:
                journal[event[2]] = journal[event[2]]._replace(quantity=event[4])
            elif event[0] is REPLACED:
                del journal[event[2]]

    def _check_taker(self, events: list[Event], taker: Taker) -> None:
        """Fills within the limits, in price-time priority; FOK all or nothing; IOC never rests."""
        fills = [e for e in events if e[0] is FILL]
        queue = sorted(
            (r for r in self.before.values() if r.side is not taker.side),
            key=lambda r: (r.price if taker.side is BUY else -r.price, r.priority),
        )
        for fill, maker in zip(fills, queue, strict=False):
            assert fill[2] == maker.order_id  # the best and earliest first
            assert fill[4] == maker.price  # at the maker's price
            if taker.limit is not None:  # never worse than the taker's limit
                assert fill[4] <= taker.limit if taker.side is BUY else fill[4] >= taker.limit
        assert all(fill[6] == 0 for fill in fills[:-1])  # each maker used up before the next
        assert len(fills) <= len(queue)
        filled = sum(fill[5] for fill in fills)
        accepted = bool(events) and events[0][0] in (ACCEPTED, REPLACED)
        if taker.tif is FOK and accepted:
            assert filled in (0, taker.quantity)
        if taker.tif in (IOC, FOK) or taker.limit is None:
            assert self.book.order(taker.order_id) is None or events[0][0] is REJECTED

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def not_crossed(self) -> None:
        bid, ask = self.book.best_bid(), self.book.best_ask()
        assert bid is None or ask is None or bid < ask

    @invariant()
    def quantity_is_conserved(self) -> None:
        for order_id, tally in self.tallies.items():
            resting = self.book.order(order_id)
            open_quantity = 0 if resting is None else resting.quantity
            assert tally.quantity == tally.filled + tally.canceled + open_quantity

    @invariant()
    def the_journal_replays_to_the_book(self) -> None:
        replayed = sorted(self.journal.values(), key=lambda r: r.priority)
        assert replayed == self.book.resting_orders()

    @invariant()
    def matches_the_model(self) -> None:
        model = sorted(self.model.orders.values(), key=lambda o: o.priority)
        assert [
            RestingOrder(o.order_id, o.side, o.price, o.quantity, o.priority, o.post_only)
            for o in model
        ] == self.book.resting_orders()
        assert self.model.seq == self.book.sequence

    @invariant()
    def depth_agrees_with_the_orders(self) -> None:
        bids, asks = self.book.depth(100)
        for levels, side in ((bids, BUY), (asks, SELL)):
            orders = [r for r in self.book.resting_orders() if r.side is side]
            prices = sorted({r.price for r in orders}, reverse=side is BUY)
            assert levels == [
                (
                    price,
                    sum(r.quantity for r in orders if r.price == price),
                    sum(1 for r in orders if r.price == price),
                )
                for price in prices
            ]
        assert len(self.book) == sum(level[2] for level in bids + asks)

    @invariant()
    def internal_structure_is_consistent(self) -> None:
        """White box: the indexes the book keeps for speed say the same as its orders."""
        book = self.book
        dead = 0
        for levels, prices in ((book._bids, book._bid_prices), (book._asks, book._ask_prices)):
            assert prices == sorted(prices)
            live_prices = [price for price, queue in levels.items() if queue]
            without_sentinel = prices[1:] if prices[0] == 0 else prices[:-1]
            assert sorted(live_prices) == without_sentinel
            for queue in levels.values():
                assert not queue or queue[0][0] > 0  # the head is live
                dead += sum(1 for order in queue if order[0] == 0)
                for order in queue:
                    assert (order[0] > 0) == (book._orders.get(order[1]) is order)
        assert dead == book._dead


class TightBookMachine(BookMachine):
    """The same, with compaction after every dead entry and no emptied levels kept, so that
    those paths run as often as the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.saved = (
            book_module._COMPACT_AFTER,
            book_module._DEAD_PER_LIVE,
            book_module._KEPT_LEVELS,
        )
        book_module._COMPACT_AFTER, book_module._DEAD_PER_LIVE, book_module._KEPT_LEVELS = 0, 0, 0

    def teardown(self) -> None:
        (
            book_module._COMPACT_AFTER,
            book_module._DEAD_PER_LIVE,
            book_module._KEPT_LEVELS,
        ) = self.saved


SETTINGS = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestOrderBook = BookMachine.TestCase
TestOrderBook.settings = SETTINGS
TestTightOrderBook = TightBookMachine.TestCase
TestTightOrderBook.settings = SETTINGS
