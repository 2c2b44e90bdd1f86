"""The matching engine's order book alone, next to the C++ `limit-order-book` package.

One deterministic stream (seeded) drives every book in the same run: about 78% limit orders
(30% of them marketable: priced at or through the opposite best), 20% cancels of orders resting
at that moment, 2% market orders, both sides evenly, around a mid that random-walks a tick at
a time; passive orders of 1-200 lots a few ticks behind the touch, marketable ones of 1-600,
which keeps the book level. Every limit order is GTC, the only kind the baseline knows, so all
books must end in the same state, which is checked before anything is timed.

Rows:
- `finplat OrderBook`: `OrderBook.submit` / `cancel`, events built and returned;
- `limit-order-book`: the package as shipped (its Python wrapper over ctypes), the baseline;
- `limit-order-book, ctypes direct`: the same C++ functions called without the wrapper, the
  best the C++ book can do from Python;
- `dispatch loop only`: the benchmark's own loop calling functions that do nothing.

Throughput is the whole stream with no per-call timing, in five interleaved passes per book,
each on a fresh book: the best and the median per wall second, and the best per CPU second of
the process (less disturbed when other work shares the cores). Latency is a separate pass with
`perf_counter_ns` read around every call; the timer's own cost (the median of back-to-back
readings) is printed and is included in the percentiles. The garbage collector stays on, as in
an engine; the stream itself is frozen out of its reach (`gc.freeze()`).
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from finplat.trading.book import OrderBook
from finplat.trading.book_events import FILL, RESTED, Side

SEED = 20260307
START_MID = 100_000  # ticks: $1000.00 at a one-cent tick
MAKER_MAX = 200  # lots: a passive order's size is uniform in 1..MAKER_MAX
TAKER_MAX = 600  # a marketable one's in 1..TAKER_MAX: takers sweep enough to keep the book level
LIMIT, CANCEL, MARKET = 0, 1, 2
Op = tuple[int, int, Any, int, int]  # kind, order id, side, quantity, price (0 when none)
T = TypeVar("T")
Calls = tuple[Callable[..., object], Callable[..., object], Callable[..., object]]


def make_stream(n: int, seed: int = SEED) -> list[Op]:
    """N operations, generated against a book so that cancels hit resting orders and
    marketable orders are priced from the real touch."""
    rng = random.Random(seed)
    book = OrderBook("GEN")
    ops: list[Op] = []
    resting: list[int] = []
    mid = START_MID
    next_id = 1
    for _ in range(n):
        if rng.random() < 0.1:
            mid += 1 if rng.random() < 0.5 else -1
        roll = rng.random()
        if roll < 0.20 and (victim := _pick_resting(book, resting, rng)) is not None:
            ops.append((CANCEL, victim, Side.BUY, 0, 0))
            book.cancel(victim)
            continue
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        order_id, next_id = next_id, next_id + 1
        if roll < 0.22:
            quantity = rng.randint(1, TAKER_MAX)
            ops.append((MARKET, order_id, side, quantity, 0))
            book.submit(order_id, side, quantity)
            continue
        price, marketable = _limit_price(book, side, mid, rng)
        quantity = rng.randint(1, TAKER_MAX if marketable else MAKER_MAX)
        ops.append((LIMIT, order_id, side, quantity, price))
        if book.submit(order_id, side, quantity, price)[-1][0] is RESTED:
            resting.append(order_id)
    return ops


def _limit_price(book: OrderBook, side: Side, mid: int, rng: random.Random) -> tuple[int, bool]:
    """A price for a new limit order, and whether it is marketable (30% are)."""
    bid, ask = book.best_bid(), book.best_ask()
    marketable = rng.random() < 0.3
    behind = int(rng.expovariate(1 / 6))
    if side is Side.BUY:
        if ask is not None and marketable:
            return ask + rng.randint(0, 2), True
        return min(mid - 1, mid if ask is None else ask - 1) - behind, False
    if bid is not None and marketable:
        return bid - rng.randint(0, 2), True
    return max(mid + 1, mid if bid is None else bid + 1) + behind, False


def _pick_resting(book: OrderBook, resting: list[int], rng: random.Random) -> int | None:
    while resting:
        at = rng.randrange(len(resting))
        resting[at], resting[-1] = resting[-1], resting[at]
        order_id = resting.pop()
        if book.order(order_id) is not None:  # not filled since it rested
            return order_id
    return None


def _finplat() -> tuple[OrderBook, Calls]:
    book = OrderBook("BENCH")
    return book, (book.submit, book.cancel, book.submit)


def _baseline() -> tuple[Any, Calls]:
    from limit_order_book import LimitOrderBook  # type: ignore[import-untyped]  # noqa: PLC0415

    book = LimitOrderBook()
    return book, (book.limit, book.cancel, book.market)


def _baseline_direct() -> tuple[Any, Calls]:
    from limit_order_book.library import Library  # type: ignore[import-untyped]  # noqa: PLC0415

    book, _ = _baseline()
    lib, handle = Library.functions, book._book
    return book, (
        partial(lib.limit, handle),
        partial(lib.cancel, handle),
        partial(lib.market, handle),
    )


def _nothing(*_: object) -> None:
    return None


def _dispatch_only() -> tuple[None, Calls]:
    return None, (_nothing, _nothing, _nothing)


def _drive(ops: Sequence[Op], calls: Calls) -> tuple[float, float]:
    """Seconds to play the stream, wall and CPU. The baseline's stream has the side first and
    as a bool, its argument order, so both loops are the same."""
    limit, cancel, market = calls
    cpu = time.process_time()
    started = time.perf_counter()
    for kind, a, b, quantity, price in ops:
        if kind == LIMIT:
            limit(a, b, quantity, price)
        elif kind == CANCEL:
            cancel(a)
        else:
            market(a, b, quantity)
    return time.perf_counter() - started, time.process_time() - cpu


def _latencies(ops: Sequence[Op], calls: Calls) -> list[int]:
    limit, cancel, market = calls
    clock = time.perf_counter_ns
    out: list[int] = []
    record = out.append
    for kind, a, b, quantity, price in ops:
        if kind == LIMIT:
            started = clock()
            limit(a, b, quantity, price)
        elif kind == CANCEL:
            started = clock()
            cancel(a)
        else:
            started = clock()
            market(a, b, quantity)
        record(clock() - started)
    return out


def _frozen(run: Callable[[], T]) -> T:
    gc.collect()
    gc.freeze()
    try:
        return run()
    finally:
        gc.unfreeze()


def _throughput(make: Callable[[], tuple[Any, Calls]], stream: Sequence[Op]) -> tuple[float, float]:
    """Operations per second for the whole stream on a fresh book: per wall and CPU second."""
    book, calls = make()  # held: the baseline frees its C++ book when the wrapper goes
    wall, cpu = _frozen(partial(_drive, stream, calls))
    del book
    return len(stream) / wall, len(stream) / cpu


def _latency(make: Callable[[], tuple[Any, Calls]], stream: Sequence[Op]) -> list[int]:
    book, calls = make()
    latencies = _frozen(partial(_latencies, stream, calls))
    del book
    return latencies


def _timer_overhead() -> int:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(100_000):
        started = clock()
        samples.append(clock() - started)
    return sorted(samples)[len(samples) // 2]


def _baseline_ops(ops: Sequence[Op]) -> list[Op]:
    return [
        (k, s is Side.BUY, i, q, p) if k != CANCEL else (k, i, s, q, p) for k, i, s, q, p in ops
    ]


def check_same_end_state(ops: Sequence[Op]) -> tuple[OrderBook, str]:
    """Play the stream on both books, checking before every cancel that the baseline still
    holds the order (its cancel of a missing id aborts the process), then compare the books."""
    mine, (submit, cancel, _) = _finplat()
    theirs, _calls = _baseline()
    for kind, order_id, side, quantity, price in ops:
        if kind == LIMIT:
            submit(order_id, side, quantity, price)
            theirs.limit(side is Side.BUY, order_id, quantity, price)
        elif kind == CANCEL:
            cancel(order_id)
            if not theirs.has(order_id):
                return mine, f"DIFFERENT: the baseline no longer holds order {order_id}"
            theirs.cancel(order_id)
        else:
            submit(order_id, side, quantity)
            theirs.market(side is Side.BUY, order_id, quantity)
    resting = mine.resting_orders()
    bid_volume = sum(r.quantity for r in resting if r.side is Side.BUY)
    ask_volume = sum(r.quantity for r in resting if r.side is Side.SELL)
    ours = (mine.best_bid() or 0, mine.best_ask() or 0, len(mine), bid_volume, ask_volume)
    baseline = (
        theirs.best_buy(),
        theirs.best_sell(),
        theirs.count(),
        theirs.volume_buy(),
        theirs.volume_sell(),
    )
    missing = sum(1 for r in resting if not theirs.has(r.order_id))
    if ours != baseline or missing:
        return mine, f"DIFFERENT: ours {ours}, baseline {baseline}, {missing} of ours missing"
    return mine, (
        f"same end state: best bid {ours[0]}, best ask {ours[1]}, {ours[2]} resting orders "
        f"(each one present in both), {bid_volume} lots bid, {ask_volume} lots offered"
    )


def _row(label: str, rates: list[tuple[float, float]], latencies: list[int] | None) -> str:
    walls = sorted(wall for wall, _ in rates)
    line = (
        f"{label:<32} {walls[-1]:>11,.0f} {walls[len(walls) // 2]:>11,.0f}"
        f" {max(cpu for _, cpu in rates):>11,.0f}"
    )
    if latencies is None:
        return line
    ordered = sorted(latencies)
    cuts = [
        ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1000 for q in (0.5, 0.99, 0.999)
    ]
    return line + "".join(f" {cut:>9.2f}" for cut in cuts)


def run(n: int, repeat: int = 5) -> None:
    started = time.perf_counter()
    ops = make_stream(n)
    generated = time.perf_counter() - started
    kinds = [op[0] for op in ops]
    print(
        f"matching benchmark: {n:,} operations, seed {SEED}: {kinds.count(LIMIT):,} limit "
        f"(GTC), {kinds.count(CANCEL):,} cancels, {kinds.count(MARKET):,} market; "
        f"generated in {generated:.1f} s"
    )
    final, verdict = check_same_end_state(ops)
    print(f"end state, ours against the baseline: {verdict}")
    if verdict.startswith("DIFFERENT"):
        return  # the baseline would abort on a cancel of an order it no longer holds
    events = _frozen(partial(_count_events, ops))
    print(f"our book emitted {events[0]:,} events, {events[1]:,} of them fills")
    baseline_ops = _baseline_ops(ops)
    books: list[tuple[str, Callable[[], tuple[Any, Calls]], Sequence[Op]]] = [
        ("finplat OrderBook", _finplat, ops),
        ("limit-order-book 2.0.0", _baseline, baseline_ops),
        ("limit-order-book, ctypes direct", _baseline_direct, baseline_ops),
        ("dispatch loop only", _dispatch_only, ops),
    ]
    rates: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in books}
    for _ in range(repeat):
        for label, make, stream in books:
            rates[label].append(_throughput(make, stream))
    latencies = {label: _latency(make, stream) for label, make, stream in books[:3]}
    print(f"timer overhead: {_timer_overhead()} ns per pair of readings (in the percentiles)")
    print(
        f"{'operations per second':<32} {'best':>11} {'median':>11} {'best CPU':>11}"
        f" {'p50 us':>9} {'p99 us':>9} {'p99.9 us':>9}"
    )
    for label, _, _ in books:
        print(_row(label, rates[label], latencies.get(label)))
    for against in ("limit-order-book 2.0.0", "limit-order-book, ctypes direct"):
        wall, cpu = (
            max(ours[i] for ours in rates["finplat OrderBook"])
            / max(theirs[i] for theirs in rates[against])
            for i in (0, 1)
        )
        print(f"ratio finplat / {against}: {wall:.2f} best wall, {cpu:.2f} best CPU")
    print(f"{len(final):,} orders rest at the end")


def _count_events(ops: Sequence[Op]) -> tuple[int, int]:
    book = OrderBook("COUNT")
    events = fills = 0
    for kind, order_id, side, quantity, price in ops:
        if kind == LIMIT:
            out = book.submit(order_id, side, quantity, price)
        elif kind == CANCEL:
            out = book.cancel(order_id)
        else:
            out = book.submit(order_id, side, quantity)
        events += len(out)
        fills += sum(1 for event in out if event[0] is FILL)
    return events, fills
