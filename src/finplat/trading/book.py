"""The central limit order book of one instrument: price-time priority over integer ticks.

Pure and in memory, with a single writer: whoever owns the book calls it from one thread (the
engine runs one book per instrument) and persists the events it returns. Prices are integer
ticks (`Instrument.to_ticks`) and quantities integer lots; nothing here is a Decimal, and
nothing does I/O. Every event carries the book's next sequence number, so the same calls on
the same book always give the same events.

The layout is chosen for speed (`benchmarks/matching.py` measures it):
- each side is a dict of price -> deque of resting orders in time order, plus a sorted list of
  that side's live prices (best bid last, best ask first) kept with `bisect`, so the best price
  is an index; at its far end each list holds a sentinel no order can reach (0 below the bids,
  a huge price above the asks), so a best price always exists and a market order is a limit
  order just inside the sentinel;
- an id -> order dict gives O(1) cancel: the order is marked dead (no open quantity) and left in
  its deque, unless it is at either end, where it is popped. The head of every deque is live,
  so a deque holds a live level exactly when it is not empty; dead orders reaching the head are
  dropped, and all deques are compacted when dead orders outnumber live ones. Emptied deques
  stay in the dict for the next order at that price (up to a bound);
- an order is a plain list, [open quantity, id, side, price, priority, post-only], indexed by
  the constants below: building one costs a quarter of a slotted object's `__init__` call;
- events are tagged tuples (see `book_events`), the cheapest immutable record Python builds.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple

from finplat.trading.book_events import (
    ACCEPTED,
    CANCEL_REJECTED,
    CANCELED,
    FILL,
    REJECTED,
    REPLACE_REJECTED,
    REPLACED,
    RESTED,
    Accepted,
    CancelReason,
    Event,
    RejectReason,
    Side,
    TimeInForce,
)


class RestingOrder(NamedTuple):
    """A resting order as the book holds it, and as `OrderBook.restore` takes it back."""

    order_id: int
    side: Side
    price: int
    quantity: int  # open (unfilled) quantity
    priority: int  # the seq of its last Rested event: earlier goes first at a price
    post_only: bool = False


Level = tuple[int, int, int]  # price, total open quantity, number of orders
_Order = list[Any]  # [open quantity, id, side, price, priority, post-only]
_OPEN, _ID, _SIDE, _PRICE, _PRIORITY, _POST_ONLY = range(6)

MAX_PRICE = (1 << 63) - 3  # the highest limit price, in ticks; the lowest is 1
_MARKET_BUY = MAX_PRICE + 1  # a market buy's limit: above every ask, below the sentinel
_NO_ASK = MAX_PRICE + 2  # the sentinel above every ask
_MARKET_SELL = 1  # a market sell's limit: at or below every bid, above the sentinel
_NO_BID = 0  # the sentinel below every bid
# Compaction waits for more than _COMPACT_AFTER dead entries, and for more dead entries than
# _DEAD_PER_LIVE times the live orders: its cost, one pass over every deque, is then spread
# over at least as many cancels as it visits entries.
_COMPACT_AFTER = 1024
_DEAD_PER_LIVE = 1
_KEPT_LEVELS = 4096  # price levels (live or emptied) a side keeps deques for

_BUY = Side.BUY
_SELL = Side.SELL
_GTC = TimeInForce.GTC
_DAY = TimeInForce.DAY
_FOK = TimeInForce.FOK


class OrderBook:
    """One instrument's book. Order ids are the caller's and must not be reused: the book can
    only tell a duplicate while the first order still rests."""

    __slots__ = (
        "_ask_prices",
        "_asks",
        "_bid_prices",
        "_bids",
        "_dead",
        "_orders",
        "_seq",
        "symbol",
    )

    def __init__(self, symbol: str, *, sequence: int = 0) -> None:
        self.symbol = symbol
        self._bids: dict[int, deque[_Order]] = {}
        self._asks: dict[int, deque[_Order]] = {}
        self._bid_prices = [_NO_BID]  # ascending: the best bid is the last
        self._ask_prices = [_NO_ASK]  # ascending: the best ask is the first
        self._orders: dict[int, _Order] = {}
        self._seq = sequence
        self._dead = 0

    @classmethod
    def restore(cls, symbol: str, resting: Iterable[RestingOrder], *, sequence: int) -> OrderBook:
        """The book as it was: `resting` are its open orders (in any order), `sequence` the
        last sequence number it issued. Inconsistent input is a ValueError, not a guess."""
        book = cls(symbol, sequence=sequence)
        priorities: set[int] = set()
        for r in sorted(resting, key=lambda r: r.priority):
            if r.order_id in book._orders or r.priority in priorities:
                raise ValueError(f"duplicate order id or priority: {r}")
            if r.quantity <= 0 or not 0 < r.price <= MAX_PRICE or type(r.side) is not Side:
                raise ValueError(f"impossible resting order: {r}")
            if not 0 < r.priority <= sequence:
                raise ValueError(f"priority of {r} outside the sequence 1..{sequence}")
            priorities.add(r.priority)
            book._place([r.quantity, r.order_id, r.side, r.price, r.priority, r.post_only])
        if book._bid_prices[-1] >= book._ask_prices[0]:
            raise ValueError("the restored book would be crossed")
        return book

    @property
    def sequence(self) -> int:
        """The last sequence number issued (the starting one for a new book)."""
        return self._seq

    def __len__(self) -> int:
        return len(self._orders)

    def best_bid(self) -> int | None:
        best = self._bid_prices[-1]
        return None if best == _NO_BID else best

    def best_ask(self) -> int | None:
        best = self._ask_prices[0]
        return None if best == _NO_ASK else best

    def order(self, order_id: int) -> RestingOrder | None:
        resting = self._orders.get(order_id)
        return None if resting is None else _view(resting)

    def resting_orders(self) -> list[RestingOrder]:
        """Every open order, earliest priority first: what `restore` takes."""
        return sorted(map(_view, self._orders.values()), key=lambda r: r.priority)

    def depth(self, levels: int) -> tuple[list[Level], list[Level]]:
        """The best `levels` price levels of each side, best first."""
        if levels <= 0:
            return [], []
        bids = self._bid_prices[1:][::-1][:levels]
        asks = self._ask_prices[:-1][:levels]
        return _levels(self._bids, bids), _levels(self._asks, asks)

    def submit(
        self,
        order_id: int,
        side: Side,
        quantity: int,
        price: int | None = None,
        tif: TimeInForce = _GTC,
        post_only: bool = False,
    ) -> list[Event]:
        """A new order: a limit order at `price` ticks, or a market order when price is None."""
        seq = self._seq + 1
        buy = side is _BUY
        if (  # anything but a valid GTC limit order takes the slow road through _rejection
            order_id in self._orders
            or quantity <= 0
            or price is None
            or price <= 0
            or price > MAX_PRICE
            or post_only
            or tif is not _GTC
            or (not buy and side is not _SELL)
        ):
            reason = self._rejection(order_id, side, quantity, price, tif, post_only)
            if reason is not None:
                self._seq = seq
                return [(REJECTED, seq, order_id, reason)]
        limit = (_MARKET_BUY if buy else _MARKET_SELL) if price is None else price
        crosses = self._ask_prices[0] <= limit if buy else self._bid_prices[-1] >= limit
        accepted: Accepted = (ACCEPTED, seq, order_id, side, quantity, price, tif, post_only)
        if not crosses:
            seq += 1
            self._seq = seq
            if price is not None and (tif is _GTC or tif is _DAY):  # the common case: it rests
                # What _place does, inlined: this path is most of what a book does.
                order = [quantity, order_id, side, price, seq, post_only]
                levels = self._bids if buy else self._asks
                queue = levels.get(price)
                if queue:
                    queue.append(order)
                else:
                    _add_level(levels, self._bid_prices if buy else self._ask_prices, order)
                self._orders[order_id] = order
                return [accepted, (RESTED, seq, order_id, side, price, quantity)]
            return [accepted, (CANCELED, seq, order_id, quantity, _unfilled(tif, price))]
        if post_only:
            self._seq = seq
            return [(REJECTED, seq, order_id, RejectReason.POST_ONLY_WOULD_CROSS)]
        events: list[Event] = [accepted]
        if tif is _FOK and not self._fillable(quantity, limit, buy):
            seq += 1
            events.append((CANCELED, seq, order_id, quantity, CancelReason.FOK_UNFILLABLE))
            self._seq = seq
            return events
        self._seq = seq
        quantity = self._take(order_id, quantity, limit, buy, events)
        if quantity:
            seq = self._seq = self._seq + 1
            if price is not None and (tif is _GTC or tif is _DAY):
                self._place([quantity, order_id, side, price, seq, post_only])
                events.append((RESTED, seq, order_id, side, price, quantity))
            else:
                events.append((CANCELED, seq, order_id, quantity, _unfilled(tif, price)))
        return events

    def cancel(self, order_id: int) -> list[Event]:
        seq = self._seq = self._seq + 1
        resting = self._orders.pop(order_id, None)
        if resting is None:
            return [(CANCEL_REJECTED, seq, order_id, RejectReason.UNKNOWN_ORDER)]
        quantity = resting[_OPEN]
        self._unlink(resting)
        return [(CANCELED, seq, order_id, quantity, CancelReason.REQUESTED)]

    def replace(self, order_id: int, *, quantity: int, price: int) -> list[Event]:
        """Give a resting order a new open `quantity` at `price`.

        A smaller (or equal) quantity at the same price keeps the order's place in its queue.
        Anything else takes it out and brings it back as a new arrival that may trade at once.
        """
        seq = self._seq = self._seq + 1
        resting = self._orders.get(order_id)
        if resting is None:
            return [(REPLACE_REJECTED, seq, order_id, RejectReason.UNKNOWN_ORDER)]
        side, buy, post_only = resting[_SIDE], resting[_SIDE] is _BUY, resting[_POST_ONLY]
        reason = None
        if quantity <= 0:
            reason = RejectReason.INVALID_QUANTITY
        elif not 0 < price <= MAX_PRICE:
            reason = RejectReason.INVALID_PRICE
        elif price == resting[_PRICE] and quantity <= resting[_OPEN]:
            resting[_OPEN] = quantity
            return [(REPLACED, seq, order_id, price, quantity, True)]
        elif post_only and self._crosses(price, buy):
            reason = RejectReason.POST_ONLY_WOULD_CROSS
        if reason is not None:
            return [(REPLACE_REJECTED, seq, order_id, reason)]
        del self._orders[order_id]
        self._unlink(resting)
        events: list[Event] = [(REPLACED, seq, order_id, price, quantity, False)]
        if self._crosses(price, buy):
            quantity = self._take(order_id, quantity, price, buy, events)
        if quantity:
            seq = self._seq = self._seq + 1
            self._place([quantity, order_id, side, price, seq, post_only])
            events.append((RESTED, seq, order_id, side, price, quantity))
        return events

    def _rejection(
        self,
        order_id: int,
        side: Side,
        quantity: int,
        price: int | None,
        tif: TimeInForce,
        post_only: bool,
    ) -> RejectReason | None:
        if order_id in self._orders:
            return RejectReason.DUPLICATE_ORDER_ID
        # By type, not value: the book tests sides and times in force by identity, and would
        # misread another enum with the same values (the order model's, say).
        if type(side) is not Side:
            return RejectReason.INVALID_SIDE
        if type(tif) is not TimeInForce:
            return RejectReason.INVALID_TIME_IN_FORCE
        if quantity <= 0:
            return RejectReason.INVALID_QUANTITY
        if price is None:
            return RejectReason.MARKET_POST_ONLY if post_only else None
        return None if 0 < price <= MAX_PRICE else RejectReason.INVALID_PRICE

    def _crosses(self, limit: int, buy: bool) -> bool:
        return self._ask_prices[0] <= limit if buy else self._bid_prices[-1] >= limit

    def _fillable(self, quantity: int, limit: int, buy: bool) -> bool:
        """Whether the other side holds `quantity` at prices no worse than `limit`."""
        if buy:
            levels, prices = self._asks, self._ask_prices
        else:
            levels, prices = self._bids, self._bid_prices[::-1]
        for price in prices:
            if price > limit if buy else price < limit:  # the sentinel ends it at the latest
                return False
            for resting in levels[price]:
                quantity -= resting[_OPEN]
                if quantity <= 0:
                    return True
        return False

    def _take(
        self, taker_id: int, quantity: int, limit: int, buy: bool, events: list[Event]
    ) -> int:
        """Match an incoming order against the other side, best price and earliest order first;
        append the fills and return the quantity left."""
        if buy:
            levels, prices, best = self._asks, self._ask_prices, 0
        else:
            levels, prices, best = self._bids, self._bid_prices, -1
        orders = self._orders
        append = events.append
        seq = self._seq
        while quantity:
            price = prices[best]
            if price > limit if buy else price < limit:  # the sentinel stops it at the latest
                break
            queue = levels[price]
            while quantity:
                maker = queue[0]  # live: the head always is
                available = maker[_OPEN]
                seq += 1
                if available > quantity:
                    available -= quantity
                    maker[_OPEN] = available
                    append((FILL, seq, maker[_ID], taker_id, price, quantity, available, 0))
                    self._seq = seq
                    return 0
                quantity -= available
                queue.popleft()
                maker_id = maker[_ID]
                del orders[maker_id]
                append((FILL, seq, maker_id, taker_id, price, available, 0, quantity))
                while queue and not queue[0][_OPEN]:
                    queue.popleft()
                    self._dead -= 1
                if not queue:
                    del prices[best]
                    _forget_level(levels, price)
                    break
        self._seq = seq
        return quantity

    def _place(self, order: _Order) -> None:
        """Append a live order to the back of its price level."""
        if order[_SIDE] is _BUY:
            levels, prices = self._bids, self._bid_prices
        else:
            levels, prices = self._asks, self._ask_prices
        queue = levels.get(order[_PRICE])
        if queue:
            queue.append(order)
        else:
            _add_level(levels, prices, order)
        self._orders[order[_ID]] = order

    def _unlink(self, order: _Order) -> None:
        """Take an order, already out of the id index, out of its level."""
        if order[_SIDE] is _BUY:
            levels, prices = self._bids, self._bid_prices
        else:
            levels, prices = self._asks, self._ask_prices
        price = order[_PRICE]
        queue = levels[price]
        order[_OPEN] = 0
        if queue[0] is order:
            queue.popleft()
            while queue and not queue[0][_OPEN]:
                queue.popleft()
                self._dead -= 1
            if not queue:
                del prices[bisect_left(prices, price)]
                _forget_level(levels, price)
        elif queue[-1] is order:
            queue.pop()
            while not queue[-1][_OPEN]:  # stops at the live head at the latest
                queue.pop()
                self._dead -= 1
        else:
            self._dead += 1
            if self._dead > _COMPACT_AFTER and self._dead > len(self._orders) * _DEAD_PER_LIVE:
                self._compact()

    def _compact(self) -> None:
        """Drop dead orders from every deque, and the deques of prices no order rests at."""
        for levels in (self._bids, self._asks):
            for price, queue in list(levels.items()):
                live = [order for order in queue if order[_OPEN]]
                if live:
                    queue.clear()
                    queue.extend(live)
                else:
                    del levels[price]
        self._dead = 0


def _add_level(levels: dict[int, deque[_Order]], prices: list[int], order: _Order) -> None:
    """Open the level of an order whose price has no live order on its side."""
    price = order[_PRICE]
    queue = levels.get(price)
    if queue is None:
        levels[price] = deque((order,))
    else:  # an emptied deque, kept for the next order at its price
        queue.append(order)
    insort(prices, price)


def _forget_level(levels: dict[int, deque[_Order]], price: int) -> None:
    """Keep an emptied deque for the next order at its price, unless the side already keeps
    many: a price that wanders must not grow the dict without bound."""
    if len(levels) > _KEPT_LEVELS:
        del levels[price]


def _unfilled(tif: TimeInForce, price: int | None) -> CancelReason:
    """Why the unfilled rest of an order that may not rest is canceled."""
    if tif is _FOK:
        return CancelReason.FOK_UNFILLABLE
    return CancelReason.NO_LIQUIDITY if price is None else CancelReason.IOC_REMAINDER


def _view(order: _Order) -> RestingOrder:
    return RestingOrder(
        order[_ID], order[_SIDE], order[_PRICE], order[_OPEN], order[_PRIORITY], order[_POST_ONLY]
    )


def _levels(levels: dict[int, deque[_Order]], prices: list[int]) -> list[Level]:
    depth = []
    for price in prices:
        live = [order[_OPEN] for order in levels[price] if order[_OPEN]]
        depth.append((price, sum(live), len(live)))
    return depth
