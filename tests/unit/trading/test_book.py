"""The order book, behaviour by behaviour, with the exact events each call returns."""

from __future__ import annotations

from enum import StrEnum

import pytest

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
    RejectReason,
    Side,
    TimeInForce,
    as_dict,
)

BUY, SELL = Side.BUY, Side.SELL
GTC, DAY, IOC, FOK = TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK


def book_with_asks(*orders: tuple[int, int, int]) -> OrderBook:
    """A book holding sell orders (id, quantity, price), submitted in that order."""
    book = OrderBook("TEST")
    for order_id, quantity, price in orders:
        book.submit(order_id, SELL, quantity, price)
    return book


def book_with_bids(*orders: tuple[int, int, int]) -> OrderBook:
    book = OrderBook("TEST")
    for order_id, quantity, price in orders:
        book.submit(order_id, BUY, quantity, price)
    return book


# --- resting -----------------------------------------------------------------------------------


def test_a_limit_order_that_does_not_cross_rests() -> None:
    book = OrderBook("TEST")

    assert book.submit(7, BUY, 10, 100) == [
        (ACCEPTED, 1, 7, BUY, 10, 100, GTC, False),
        (RESTED, 2, 7, BUY, 100, 10),
    ]
    assert book.best_bid() == 100
    assert book.best_ask() is None
    assert book.order(7) == RestingOrder(7, BUY, 100, 10, priority=2)
    assert len(book) == 1
    assert book.sequence == 2


def test_a_day_order_rests_like_a_gtc_order() -> None:
    book = OrderBook("TEST")

    assert book.submit(1, SELL, 5, 101, DAY) == [
        (ACCEPTED, 1, 1, SELL, 5, 101, DAY, False),
        (RESTED, 2, 1, SELL, 101, 5),
    ]
    assert book.best_ask() == 101


def test_depth_sums_each_level_best_first() -> None:
    book = book_with_bids((1, 10, 99), (2, 5, 100), (3, 7, 100), (4, 1, 98))
    book.submit(5, SELL, 3, 102)
    book.submit(6, SELL, 4, 103)

    assert book.depth(2) == ([(100, 12, 2), (99, 10, 1)], [(102, 3, 1), (103, 4, 1)])
    assert book.depth(10) == (
        [(100, 12, 2), (99, 10, 1), (98, 1, 1)],
        [(102, 3, 1), (103, 4, 1)],
    )
    assert book.depth(0) == ([], [])


# --- matching ----------------------------------------------------------------------------------


def test_a_crossing_buy_fills_at_the_resting_price() -> None:
    book = book_with_asks((1, 10, 101))

    assert book.submit(2, BUY, 10, 105) == [
        (ACCEPTED, 3, 2, BUY, 10, 105, GTC, False),
        (FILL, 4, 1, 2, 101, 10, 0, 0),
    ]
    assert book.best_ask() is None
    assert book.order(1) is None
    assert len(book) == 0


def test_a_partial_fill_leaves_the_maker_resting_with_the_rest() -> None:
    book = book_with_asks((1, 10, 101))

    assert book.submit(2, BUY, 4, 101) == [
        (ACCEPTED, 3, 2, BUY, 4, 101, GTC, False),
        (FILL, 4, 1, 2, 101, 4, 6, 0),
    ]
    assert book.order(1) == RestingOrder(1, SELL, 101, 6, priority=2)
    assert book.depth(1) == ([], [(101, 6, 1)])


def test_a_buy_sweeps_the_best_prices_first_and_rests_the_remainder_at_its_limit() -> None:
    book = book_with_asks((1, 5, 103), (2, 5, 101), (3, 5, 102), (4, 5, 104))

    assert book.submit(5, BUY, 17, 103) == [
        (ACCEPTED, 9, 5, BUY, 17, 103, GTC, False),
        (FILL, 10, 2, 5, 101, 5, 0, 12),
        (FILL, 11, 3, 5, 102, 5, 0, 7),
        (FILL, 12, 1, 5, 103, 5, 0, 2),
        (RESTED, 13, 5, BUY, 103, 2),
    ]
    assert book.best_bid() == 103
    assert book.best_ask() == 104


def test_a_sell_sweeps_the_highest_bids_first() -> None:
    book = book_with_bids((1, 5, 98), (2, 5, 100), (3, 5, 99))

    assert book.submit(4, SELL, 8, 99) == [
        (ACCEPTED, 7, 4, SELL, 8, 99, GTC, False),
        (FILL, 8, 2, 4, 100, 5, 0, 3),
        (FILL, 9, 3, 4, 99, 3, 2, 0),
    ]
    assert book.depth(5) == ([(99, 2, 1), (98, 5, 1)], [])


def test_orders_at_one_price_fill_in_arrival_order() -> None:
    book = book_with_asks((1, 3, 101), (2, 3, 101), (3, 3, 101))

    events = book.submit(4, BUY, 7, 101)

    assert [(e[2], e[5]) for e in events if e[0] is FILL] == [(1, 3), (2, 3), (3, 1)]
    assert book.order(3) == RestingOrder(3, SELL, 101, 2, priority=6)


def test_a_limit_that_does_not_reach_the_best_price_does_not_trade() -> None:
    book = book_with_asks((1, 10, 101))

    assert book.submit(2, BUY, 10, 100)[-1] == (RESTED, 4, 2, BUY, 100, 10)
    assert (book.best_bid(), book.best_ask()) == (100, 101)


# --- market, IOC, FOK, post-only --------------------------------------------------------------


def test_a_market_order_takes_what_there_is_and_cancels_the_rest() -> None:
    book = book_with_asks((1, 5, 101), (2, 5, 150))

    assert book.submit(3, BUY, 12) == [
        (ACCEPTED, 5, 3, BUY, 12, None, GTC, False),
        (FILL, 6, 1, 3, 101, 5, 0, 7),
        (FILL, 7, 2, 3, 150, 5, 0, 2),
        (CANCELED, 8, 3, 2, CancelReason.NO_LIQUIDITY),
    ]
    assert len(book) == 0


def test_a_market_order_into_an_empty_side_is_canceled_for_no_liquidity() -> None:
    book = book_with_bids((1, 5, 100))

    assert book.submit(2, BUY, 3) == [
        (ACCEPTED, 3, 2, BUY, 3, None, GTC, False),
        (CANCELED, 4, 2, 3, CancelReason.NO_LIQUIDITY),
    ]
    assert book.best_bid() == 100


def test_a_market_sell_takes_every_bid_price() -> None:
    book = book_with_bids((1, 5, 1), (2, 5, 100))

    assert book.submit(3, SELL, 10, tif=IOC) == [
        (ACCEPTED, 5, 3, SELL, 10, None, IOC, False),
        (FILL, 6, 2, 3, 100, 5, 0, 5),
        (FILL, 7, 1, 3, 1, 5, 0, 0),
    ]


def test_ioc_fills_what_crosses_and_cancels_the_remainder() -> None:
    book = book_with_asks((1, 5, 101), (2, 5, 102))

    assert book.submit(3, BUY, 8, 101, IOC) == [
        (ACCEPTED, 5, 3, BUY, 8, 101, IOC, False),
        (FILL, 6, 1, 3, 101, 5, 0, 3),
        (CANCELED, 7, 3, 3, CancelReason.IOC_REMAINDER),
    ]
    assert book.best_bid() is None
    assert book.order(3) is None


def test_ioc_that_does_not_cross_is_canceled_whole() -> None:
    book = book_with_asks((1, 5, 101))

    assert book.submit(2, BUY, 8, 100, IOC) == [
        (ACCEPTED, 3, 2, BUY, 8, 100, IOC, False),
        (CANCELED, 4, 2, 8, CancelReason.IOC_REMAINDER),
    ]
    assert len(book) == 1


def test_fok_fills_completely_when_the_book_holds_enough_within_its_limit() -> None:
    book = book_with_asks((1, 5, 101), (2, 5, 102))

    assert book.submit(3, BUY, 7, 102, FOK) == [
        (ACCEPTED, 5, 3, BUY, 7, 102, FOK, False),
        (FILL, 6, 1, 3, 101, 5, 0, 2),
        (FILL, 7, 2, 3, 102, 2, 3, 0),
    ]


def test_fok_that_cannot_fill_completely_does_nothing() -> None:
    book = book_with_asks((1, 5, 101), (2, 5, 103))
    before = (book.resting_orders(), book.depth(5))

    assert book.submit(3, BUY, 7, 102, FOK) == [
        (ACCEPTED, 5, 3, BUY, 7, 102, FOK, False),
        (CANCELED, 6, 3, 7, CancelReason.FOK_UNFILLABLE),
    ]
    assert (book.resting_orders(), book.depth(5)) == before


def test_fok_market_order_without_enough_liquidity_does_nothing() -> None:
    book = book_with_bids((1, 5, 100))

    assert book.submit(2, SELL, 6, tif=FOK) == [
        (ACCEPTED, 3, 2, SELL, 6, None, FOK, False),
        (CANCELED, 4, 2, 6, CancelReason.FOK_UNFILLABLE),
    ]
    assert book.order(1) == RestingOrder(1, BUY, 100, 5, priority=2)


def test_fok_into_an_empty_side_is_canceled() -> None:
    book = OrderBook("TEST")

    assert book.submit(1, BUY, 1, 100, FOK) == [
        (ACCEPTED, 1, 1, BUY, 1, 100, FOK, False),
        (CANCELED, 2, 1, 1, CancelReason.FOK_UNFILLABLE),
    ]


def test_post_only_rests_when_it_does_not_cross() -> None:
    book = book_with_asks((1, 5, 101))

    assert book.submit(2, BUY, 5, 100, post_only=True) == [
        (ACCEPTED, 3, 2, BUY, 5, 100, GTC, True),
        (RESTED, 4, 2, BUY, 100, 5),
    ]
    assert book.order(2) == RestingOrder(2, BUY, 100, 5, priority=4, post_only=True)


def test_post_only_that_would_cross_is_rejected_and_changes_nothing() -> None:
    book = book_with_asks((1, 5, 101))

    assert book.submit(2, BUY, 5, 101, post_only=True) == [
        (REJECTED, 3, 2, RejectReason.POST_ONLY_WOULD_CROSS)
    ]
    assert book.order(1) == RestingOrder(1, SELL, 101, 5, priority=2)
    assert book.order(2) is None


def test_a_market_order_cannot_be_post_only() -> None:
    assert OrderBook("TEST").submit(1, BUY, 5, post_only=True) == [
        (REJECTED, 1, 1, RejectReason.MARKET_POST_ONLY)
    ]


# --- rejections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "reason"),
    [
        (0, 100, RejectReason.INVALID_QUANTITY),
        (-5, 100, RejectReason.INVALID_QUANTITY),
        (5, 0, RejectReason.INVALID_PRICE),
        (5, -1, RejectReason.INVALID_PRICE),
        (5, MAX_PRICE + 1, RejectReason.INVALID_PRICE),
    ],
)
def test_an_impossible_order_is_rejected(quantity: int, price: int, reason: RejectReason) -> None:
    book = OrderBook("TEST")

    assert book.submit(1, BUY, quantity, price) == [(REJECTED, 1, 1, reason)]
    assert len(book) == 0
    assert book.sequence == 1


class OtherSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OtherTimeInForce(StrEnum):
    GTC = "gtc"


@pytest.mark.parametrize(
    ("side", "tif", "reason"),
    [
        (OtherSide.BUY, GTC, RejectReason.INVALID_SIDE),
        (OtherSide.SELL, GTC, RejectReason.INVALID_SIDE),
        ("buy", GTC, RejectReason.INVALID_SIDE),
        (BUY, OtherTimeInForce.GTC, RejectReason.INVALID_TIME_IN_FORCE),
        (SELL, "gtc", RejectReason.INVALID_TIME_IN_FORCE),
    ],
)
def test_a_side_or_time_in_force_of_another_type_is_rejected_not_misread(
    side: object, tif: object, reason: RejectReason
) -> None:
    book = OrderBook("TEST")

    assert book.submit(1, side, 5, 100, tif) == [(REJECTED, 1, 1, reason)]  # type: ignore[arg-type]
    assert len(book) == 0


def test_the_highest_price_is_accepted() -> None:
    book = OrderBook("TEST")

    assert book.submit(1, SELL, 1, MAX_PRICE)[-1] == (RESTED, 2, 1, SELL, MAX_PRICE, 1)
    assert book.submit(2, BUY, 1)[1] == (FILL, 4, 1, 2, MAX_PRICE, 1, 0, 0)


def test_an_id_that_rests_cannot_be_used_again() -> None:
    book = book_with_bids((1, 5, 100))

    assert book.submit(1, SELL, 5, 105) == [(REJECTED, 3, 1, RejectReason.DUPLICATE_ORDER_ID)]
    assert book.order(1) == RestingOrder(1, BUY, 100, 5, priority=2)


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_takes_the_open_quantity_out() -> None:
    book = book_with_asks((1, 10, 101), (2, 4, 101))
    book.submit(3, BUY, 3, 101)

    assert book.cancel(1) == [(CANCELED, 7, 1, 7, CancelReason.REQUESTED)]
    assert book.depth(5) == ([], [(101, 4, 1)])
    assert book.order(1) is None


def test_cancel_of_an_unknown_or_finished_order_is_rejected_not_raised() -> None:
    book = book_with_asks((1, 5, 101))
    book.submit(2, BUY, 5, 101)  # fills order 1

    assert book.cancel(1) == [(CANCEL_REJECTED, 5, 1, RejectReason.UNKNOWN_ORDER)]
    assert book.cancel(99) == [(CANCEL_REJECTED, 6, 99, RejectReason.UNKNOWN_ORDER)]


def test_cancel_twice_rejects_the_second() -> None:
    book = book_with_bids((1, 5, 100))

    assert book.cancel(1) == [(CANCELED, 3, 1, 5, CancelReason.REQUESTED)]
    assert book.cancel(1) == [(CANCEL_REJECTED, 4, 1, RejectReason.UNKNOWN_ORDER)]
    assert (book.best_bid(), len(book)) == (None, 0)


def test_cancel_of_the_only_order_at_the_best_price_moves_the_best_price() -> None:
    book = book_with_bids((1, 5, 100), (2, 5, 99))

    book.cancel(1)

    assert book.best_bid() == 99
    assert book.submit(3, SELL, 5, 99)[1] == (FILL, 7, 2, 3, 99, 5, 0, 0)


def test_canceled_orders_in_the_middle_of_a_level_are_skipped_when_matching() -> None:
    book = book_with_asks((1, 1, 101), (2, 1, 101), (3, 1, 101), (4, 1, 101))
    book.cancel(2)
    book.cancel(3)

    events = book.submit(5, BUY, 3, 101)

    assert [e[2] for e in events if e[0] is FILL] == [1, 4]
    assert events[-1] == (RESTED, 14, 5, BUY, 101, 1)


def test_many_canceled_orders_inside_a_level_are_compacted_away() -> None:
    book = OrderBook("TEST")
    for order_id in range(1, 3001):
        book.submit(order_id, SELL, 1, 101)
    for order_id in range(2, 3000):  # all but the first and the last: never at an end
        book.cancel(order_id)

    assert book.depth(1) == ([], [(101, 2, 2)])
    assert [e[2] for e in book.submit(5000, BUY, 5, 101) if e[0] is FILL] == [1, 3000]
    assert book.best_ask() is None


def test_a_level_emptied_and_filled_again_is_found_as_the_best_price() -> None:
    book = book_with_asks((1, 5, 101), (2, 5, 102))
    book.cancel(1)
    book.submit(3, SELL, 2, 101)

    assert book.best_ask() == 101
    assert book.depth(5) == ([], [(101, 2, 1), (102, 5, 1)])


# --- replace -----------------------------------------------------------------------------------


def test_a_smaller_quantity_at_the_same_price_keeps_time_priority() -> None:
    book = book_with_asks((1, 10, 101), (2, 10, 101))

    assert book.replace(1, quantity=4, price=101) == [(REPLACED, 5, 1, 101, 4, True)]
    assert book.order(1) == RestingOrder(1, SELL, 101, 4, priority=2)
    fills = [e for e in book.submit(3, BUY, 6, 101) if e[0] is FILL]
    assert fills == [(FILL, 7, 1, 3, 101, 4, 0, 2), (FILL, 8, 2, 3, 101, 2, 8, 0)]


def test_a_larger_quantity_loses_time_priority() -> None:
    book = book_with_asks((1, 10, 101), (2, 10, 101))

    assert book.replace(1, quantity=12, price=101) == [
        (REPLACED, 5, 1, 101, 12, False),
        (RESTED, 6, 1, SELL, 101, 12),
    ]
    assert book.order(1) == RestingOrder(1, SELL, 101, 12, priority=6)
    assert [e[2] for e in book.submit(3, BUY, 11, 101) if e[0] is FILL] == [2, 1]


def test_a_new_price_loses_time_priority_and_may_trade_at_once() -> None:
    book = book_with_asks((1, 5, 102))
    book.submit(2, BUY, 8, 100)

    assert book.replace(2, quantity=8, price=102) == [
        (REPLACED, 5, 2, 102, 8, False),
        (FILL, 6, 1, 2, 102, 5, 0, 3),
        (RESTED, 7, 2, BUY, 102, 3),
    ]
    assert (book.best_bid(), book.best_ask()) == (102, None)


def test_a_replace_that_trades_completely_leaves_nothing_resting() -> None:
    book = book_with_asks((1, 5, 102))
    book.submit(2, BUY, 3, 100)

    assert book.replace(2, quantity=3, price=103) == [
        (REPLACED, 5, 2, 103, 3, False),
        (FILL, 6, 1, 2, 102, 3, 2, 0),
    ]
    assert book.order(2) is None


def test_replace_of_an_unknown_order_is_rejected() -> None:
    assert OrderBook("TEST").replace(1, quantity=1, price=100) == [
        (REPLACE_REJECTED, 1, 1, RejectReason.UNKNOWN_ORDER)
    ]


@pytest.mark.parametrize(
    ("quantity", "price", "reason"),
    [
        (0, 100, RejectReason.INVALID_QUANTITY),
        (5, 0, RejectReason.INVALID_PRICE),
        (5, MAX_PRICE + 1, RejectReason.INVALID_PRICE),
    ],
)
def test_an_impossible_replace_changes_nothing(
    quantity: int, price: int, reason: RejectReason
) -> None:
    book = book_with_bids((1, 5, 100))

    assert book.replace(1, quantity=quantity, price=price) == [(REPLACE_REJECTED, 3, 1, reason)]
    assert book.order(1) == RestingOrder(1, BUY, 100, 5, priority=2)


def test_a_post_only_order_cannot_be_replaced_across_the_spread() -> None:
    book = book_with_asks((1, 5, 102))
    book.submit(2, BUY, 5, 100, post_only=True)

    assert book.replace(2, quantity=5, price=102) == [
        (REPLACE_REJECTED, 5, 2, RejectReason.POST_ONLY_WOULD_CROSS)
    ]
    assert book.replace(2, quantity=6, price=101) == [
        (REPLACED, 6, 2, 101, 6, False),
        (RESTED, 7, 2, BUY, 101, 6),
    ]
    assert book.order(2) == RestingOrder(2, BUY, 101, 6, priority=7, post_only=True)


# --- sequence and restore ----------------------------------------------------------------------


def test_every_event_takes_the_next_sequence_number() -> None:
    book = OrderBook("TEST", sequence=100)
    events = [
        *book.submit(1, SELL, 5, 101),
        *book.submit(2, BUY, 8, 101),
        *book.cancel(1),
        *book.cancel(2),
        *book.replace(3, quantity=1, price=1),
        *book.submit(3, BUY, 0, 1),
    ]

    assert [event[1] for event in events] == list(range(101, 101 + len(events)))
    assert book.sequence == 100 + len(events)


def test_restore_rebuilds_priority_from_the_orders_sequence_not_their_order() -> None:
    resting = [
        RestingOrder(12, SELL, 101, 3, priority=40),
        RestingOrder(10, SELL, 101, 2, priority=7),
        RestingOrder(11, BUY, 99, 4, priority=20, post_only=True),
    ]

    book = OrderBook.restore("TEST", resting, sequence=41)

    assert book.sequence == 41
    assert book.resting_orders() == [resting[1], resting[2], resting[0]]
    assert book.submit(13, BUY, 4, 101) == [
        (ACCEPTED, 42, 13, BUY, 4, 101, GTC, False),
        (FILL, 43, 10, 13, 101, 2, 0, 2),
        (FILL, 44, 12, 13, 101, 2, 1, 0),
    ]


def test_a_restored_book_behaves_as_the_original() -> None:
    original = book_with_asks((1, 5, 101), (2, 5, 101), (3, 5, 103))
    original.submit(4, BUY, 7, 101)
    original.replace(3, quantity=2, price=103)
    copy = OrderBook.restore("TEST", original.resting_orders(), sequence=original.sequence)

    for book in (original, copy):
        assert book.submit(5, BUY, 20, 103) == [
            (ACCEPTED, 11, 5, BUY, 20, 103, GTC, False),
            (FILL, 12, 2, 5, 101, 3, 0, 17),
            (FILL, 13, 3, 5, 103, 2, 0, 15),
            (RESTED, 14, 5, BUY, 103, 15),
        ]


@pytest.mark.parametrize(
    "resting",
    [
        [RestingOrder(1, BUY, 101, 1, 1), RestingOrder(2, SELL, 101, 1, 2)],  # crossed
        [RestingOrder(1, BUY, 100, 1, 1), RestingOrder(1, BUY, 99, 1, 2)],  # same id
        [RestingOrder(1, BUY, 100, 1, 1), RestingOrder(2, BUY, 99, 1, 1)],  # same priority
        [RestingOrder(1, BUY, 100, 1, 11)],  # priority after the sequence
        [RestingOrder(1, BUY, 100, 0, 1)],  # nothing open
        [RestingOrder(1, BUY, 0, 1, 1)],  # no price
        [RestingOrder(1, "buy", 100, 1, 1)],  # type: ignore[arg-type]  # a side of another type
    ],
)
def test_restore_refuses_an_impossible_book(resting: list[RestingOrder]) -> None:
    with pytest.raises(ValueError, match=r"."):
        OrderBook.restore("TEST", resting, sequence=10)


def test_as_dict_names_an_events_fields() -> None:
    assert as_dict((FILL, 4, 1, 2, 101, 10, 0, 5)) == {
        "kind": FILL,
        "seq": 4,
        "maker_id": 1,
        "taker_id": 2,
        "price": 101,
        "quantity": 10,
        "maker_remaining": 0,
        "taker_remaining": 5,
    }
