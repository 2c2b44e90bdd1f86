"""The paper venue's decisions: what a quote does to an order (pure, no database)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from finplat.marketdata import AssetClass, Instrument, calendar_for
from finplat.trading.domain.orders import (
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from finplat.trading.venues.paper_matching import (
    WAIT,
    End,
    Ending,
    Fill,
    Hours,
    Moment,
    Step,
    Terms,
    Touch,
    deadline,
    decide,
    slipped,
)

D = Decimal
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # Monday 09:30 New York, the open
CENTS = Terms(tick=D("0.01"), lot=D("0.000000001"))
WHOLE = Terms(tick=D("0.01"), lot=D(1))
OPEN = Hours(regular=True, extended=True)
PRE_MARKET = Hours(regular=False, extended=True)
CLOSED = Hours(regular=False, extended=False)


def an_order(
    kind: OrderType = OrderType.MARKET,
    side: Side = Side.BUY,
    tif: TimeInForce = TimeInForce.DAY,
    qty: str | None = "100",
    **request: object,
) -> Order:
    asked = OrderRequest(
        symbol="AAPL",
        side=side,
        type=kind,
        time_in_force=tif,
        qty=None if qty is None else D(qty),
        **request,  # type: ignore[arg-type]
    )
    return Order(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        client_order_id="c-1",
        request=asked,
        status=OrderStatus.NEW,
        created_at=T0,
        updated_at=T0,
        venue="simulated",
        submitted_at=T0,
    )


def touch(bid: str, ask: str, bid_size: str = "100", ask_size: str = "100") -> Touch:
    return Touch(D(bid), D(bid_size), D(ask), D(ask_size))


def on_quote(order: Order, quote: Touch | None, **options: object) -> Step:
    settings: dict[str, object] = {"terms": CENTS, "hours": OPEN, "moment": Moment.QUOTE}
    settings.update(options)
    return decide(order, quote, **settings)  # type: ignore[arg-type]


def expired(reason: str, **step: object) -> Step:
    return Step(end=End(Ending.EXPIRE, reason), **step)  # type: ignore[arg-type]


# -- market orders ----------------------------------------------------------------------------


def test_a_market_buy_fills_at_the_ask_and_a_sell_at_the_bid() -> None:
    quote = touch("189.98", "190.02")
    assert on_quote(an_order(), quote) == Step(fill=Fill(D(100), D("190.02")))
    assert on_quote(an_order(side=Side.SELL), quote) == Step(fill=Fill(D(100), D("189.98")))


def test_a_fill_takes_at_most_the_quoted_size_and_the_rest_waits() -> None:
    step = on_quote(an_order(qty="100"), touch("10.00", "10.01", ask_size="30"))
    assert step == Step(fill=Fill(D(30), D("10.01")))
    partly = an_order(qty="100").filled(D(30), D("10.01"), T0)
    assert on_quote(partly, touch("10.00", "10.02", ask_size="500")) == Step(
        fill=Fill(D(70), D("10.02"))
    )


def test_the_quoted_size_is_rounded_down_to_the_lot() -> None:
    step = on_quote(an_order(qty="10"), touch("5.00", "5.01", ask_size="3.7"), terms=WHOLE)
    assert step == Step(fill=Fill(D(3), D("5.01")))
    assert on_quote(an_order(qty="10"), touch("5.00", "5.01", ask_size="0.5"), terms=WHOLE) == WAIT


def test_a_quote_without_size_on_the_side_fills_nothing() -> None:
    assert on_quote(an_order(), touch("10.00", "10.01", ask_size="0")) == WAIT
    assert on_quote(an_order(side=Side.SELL), touch("0", "10.01")) == WAIT


def test_a_market_order_without_a_quote_waits() -> None:
    assert on_quote(an_order(), None, moment=Moment.ARRIVAL) == WAIT


def test_a_market_order_reaching_a_closed_market_is_rejected() -> None:
    step = on_quote(an_order(), touch("10", "10.01"), hours=CLOSED, moment=Moment.ARRIVAL)
    assert step == Step(end=End(Ending.REJECT, "the market for AAPL is closed"))


def test_a_working_market_order_waits_through_a_closed_market() -> None:
    partly = an_order(tif=TimeInForce.GTC).filled(D(30), D("10.01"), T0)
    assert on_quote(partly, touch("10", "10.01"), hours=CLOSED) == WAIT
    assert on_quote(an_order(), touch("10", "10.01"), hours=CLOSED) == WAIT


def test_filled_canceled_and_held_orders_do_nothing() -> None:
    quote = touch("10", "10.01")
    for status in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.HELD):
        assert on_quote(replace(an_order(), status=status), quote) == WAIT


# -- slippage ---------------------------------------------------------------------------------


def test_slippage_moves_the_price_against_the_customer_rounded_away_from_them() -> None:
    five = replace(CENTS, slippage_bps=D(5))
    assert slipped(D("100.00"), Side.BUY, five) == D("100.05")
    assert slipped(D("100.01"), Side.BUY, five) == D("100.07")  # 100.0600050 -> up
    assert slipped(D("100.01"), Side.SELL, five) == D("99.95")  # 99.9599950 -> down
    assert slipped(D("0.01"), Side.SELL, replace(CENTS, slippage_bps=D(9000))) == D("0.01")
    quote = touch("100.00", "100.01")
    assert on_quote(an_order(), quote, terms=five) == Step(fill=Fill(D(100), D("100.07")))


def test_slippage_never_takes_a_limit_order_past_its_limit() -> None:
    five = replace(CENTS, slippage_bps=D(5))
    buy = an_order(OrderType.LIMIT, limit_price=D("100.03"))
    assert on_quote(buy, touch("100.00", "100.01"), terms=five) == Step(
        fill=Fill(D(100), D("100.03"))
    )
    sell = an_order(OrderType.LIMIT, side=Side.SELL, limit_price=D("99.98"))
    assert on_quote(sell, touch("100.00", "100.01"), terms=five) == Step(
        fill=Fill(D(100), D("99.98"))
    )


# -- limit orders -----------------------------------------------------------------------------


def test_a_buy_limit_waits_until_the_ask_reaches_it_then_fills_at_the_ask() -> None:
    buy = an_order(OrderType.LIMIT, limit_price=D("50.00"))
    assert on_quote(buy, touch("50.00", "50.01")) == WAIT
    assert on_quote(buy, touch("49.90", "50.00")) == Step(fill=Fill(D(100), D("50.00")))
    assert on_quote(buy, touch("49.60", "49.62")) == Step(fill=Fill(D(100), D("49.62")))


def test_a_sell_limit_waits_until_the_bid_reaches_it_then_fills_at_the_bid() -> None:
    sell = an_order(OrderType.LIMIT, side=Side.SELL, limit_price=D("50.00"))
    assert on_quote(sell, touch("49.99", "50.01")) == WAIT
    assert on_quote(sell, touch("50.37", "50.40")) == Step(fill=Fill(D(100), D("50.37")))


def test_an_extended_hours_limit_order_fills_in_the_extended_session_others_wait() -> None:
    quote = touch("49.00", "49.50")
    extended = an_order(OrderType.LIMIT, limit_price=D("50.00"), extended_hours=True)
    regular = an_order(OrderType.LIMIT, limit_price=D("50.00"))
    assert on_quote(extended, quote, hours=PRE_MARKET) == Step(fill=Fill(D(100), D("49.50")))
    assert on_quote(regular, quote, hours=PRE_MARKET) == WAIT
    assert on_quote(extended, quote, hours=CLOSED) == WAIT


# -- stops ------------------------------------------------------------------------------------


def test_a_buy_stop_triggers_when_the_ask_reaches_it_and_fills_as_a_market_order() -> None:
    stop = an_order(OrderType.STOP, stop_price=D("105.00"))
    assert on_quote(stop, touch("104.90", "104.99")) == WAIT
    assert on_quote(stop, touch("104.98", "105.02", ask_size="40")) == Step(
        trigger=True, fill=Fill(D(40), D("105.02"))
    )


def test_a_sell_stop_watches_the_bid() -> None:
    stop = an_order(OrderType.STOP, side=Side.SELL, stop_price=D("95.00"))
    assert on_quote(stop, touch("95.01", "94.00")) == WAIT  # a crossed ask does not count
    assert on_quote(stop, touch("95.00", "95.05")) == Step(
        trigger=True, fill=Fill(D(100), D("95.00"))
    )


def test_a_triggered_stop_works_as_a_market_order_without_triggering_again() -> None:
    triggered = replace(an_order(OrderType.STOP, stop_price=D("105.00")), triggered=True)
    assert on_quote(triggered, touch("99.00", "99.10")) == Step(fill=Fill(D(100), D("99.10")))


def test_a_stop_limit_triggers_then_fills_only_within_its_limit() -> None:
    order = an_order(OrderType.STOP_LIMIT, stop_price=D("105.00"), limit_price=D("105.10"))
    assert on_quote(order, touch("105.10", "105.20")) == Step(trigger=True)
    triggered = replace(order, triggered=True)
    assert on_quote(triggered, touch("105.10", "105.20")) == WAIT
    assert on_quote(triggered, touch("105.00", "105.05")) == Step(fill=Fill(D(100), D("105.05")))


def test_a_one_sided_quote_does_not_trigger_a_sell_stop() -> None:
    stop = an_order(OrderType.STOP, side=Side.SELL, stop_price=D("95.00"))
    assert on_quote(stop, touch("0", "96.00")) == WAIT


def test_a_trailing_sell_stop_follows_the_highest_bid_then_triggers() -> None:
    trail = an_order(OrderType.TRAILING_STOP, side=Side.SELL, trail_price=D("2.00"))
    first = on_quote(trail, touch("100.00", "100.05"))
    assert first == Step(mark=D("100.00"))
    higher = on_quote(trail, touch("103.50", "103.55"), mark=D("100.00"))
    assert higher == Step(mark=D("103.50"))
    assert on_quote(trail, touch("101.60", "101.65"), mark=D("103.50")) == WAIT  # stop 101.50
    assert on_quote(trail, touch("101.50", "101.55"), mark=D("103.50")) == Step(
        trigger=True, fill=Fill(D(100), D("101.50"))
    )


def test_a_trailing_buy_stop_in_percent_follows_the_lowest_ask() -> None:
    trail = an_order(OrderType.TRAILING_STOP, trail_percent=D("1.5"))
    assert on_quote(trail, touch("79.90", "80.00"), mark=D("81.00")) == Step(mark=D("80.00"))
    # 80.00 * 1.015 = 81.20: the stop rounds up (away from the market) to the tick
    assert on_quote(trail, touch("81.10", "81.19"), mark=D("80.00")) == WAIT
    assert on_quote(trail, touch("81.15", "81.20"), mark=D("80.00")) == Step(
        trigger=True, fill=Fill(D(100), D("81.20"))
    )


def test_a_trailing_stop_does_not_track_a_closed_market() -> None:
    trail = an_order(OrderType.TRAILING_STOP, side=Side.SELL, trail_price=D("2.00"))
    assert on_quote(trail, touch("120.00", "120.05"), hours=CLOSED, mark=D("100")) == WAIT


# -- ioc and fok ------------------------------------------------------------------------------


def test_ioc_fills_what_the_quote_allows_and_expires_the_rest() -> None:
    ioc = an_order(tif=TimeInForce.IOC)
    step = on_quote(ioc, touch("10", "10.01", ask_size="60"), moment=Moment.ARRIVAL)
    assert step == Step(
        fill=Fill(D(60), D("10.01")), end=End(Ending.EXPIRE, "ioc: the rest expires")
    )
    whole = on_quote(ioc, touch("10", "10.01", ask_size="600"), moment=Moment.ARRIVAL)
    assert whole == Step(fill=Fill(D(100), D("10.01")))


def test_an_ioc_limit_out_of_reach_expires_at_once() -> None:
    ioc = an_order(OrderType.LIMIT, tif=TimeInForce.IOC, limit_price=D("9.00"))
    step = on_quote(ioc, touch("10", "10.01"), moment=Moment.ARRIVAL)
    assert step == expired("nothing could fill")


def test_fok_fills_completely_or_expires_without_a_fill() -> None:
    fok = an_order(tif=TimeInForce.FOK)
    short = on_quote(fok, touch("10", "10.01", ask_size="99"), moment=Moment.ARRIVAL)
    assert short == expired("fok: the quote cannot fill it all")
    enough = on_quote(fok, touch("10", "10.01", ask_size="100"), moment=Moment.ARRIVAL)
    assert enough == Step(fill=Fill(D(100), D("10.01")))


def test_ioc_and_fok_without_a_quote_or_market_expire() -> None:
    ioc = an_order(tif=TimeInForce.IOC)
    assert on_quote(ioc, None, moment=Moment.ARRIVAL) == expired("no quote for AAPL")
    limit_ioc = an_order(OrderType.LIMIT, tif=TimeInForce.FOK, limit_price=D(10))
    step = on_quote(limit_ioc, touch("10", "10.01"), hours=CLOSED, moment=Moment.ARRIVAL)
    assert step == expired("the market for AAPL is closed")


def test_a_restart_expires_what_an_ioc_left_and_gives_an_unseen_one_its_look() -> None:
    partly = an_order(tif=TimeInForce.IOC).filled(D(60), D("10.01"), T0)
    step = on_quote(partly, touch("10", "10.01"), moment=Moment.RESUME)
    assert step == expired("the rest of an ioc order does not rest")
    unseen = an_order(tif=TimeInForce.IOC)
    assert on_quote(unseen, touch("10", "10.01"), moment=Moment.RESUME) == Step(
        fill=Fill(D(100), D("10.01"))
    )


def test_a_restart_leaves_resting_orders_for_the_next_quote() -> None:
    assert on_quote(an_order(), touch("10", "10.01"), moment=Moment.RESUME) == WAIT


# -- notional ---------------------------------------------------------------------------------


def test_a_notional_buy_takes_whole_lots_of_its_notional_and_says_it_is_final() -> None:
    order = an_order(qty=None, notional=D("1000.00"))
    step = on_quote(order, touch("189.98", "190.07"))
    # 1000 / 190.07 = 5.2612195506...: rounded down to the lot, it costs at most the notional
    assert step == Step(fill=Fill(D("5.261219550"), D("190.07"), final=True))


def test_a_notional_order_short_of_size_fills_part_and_is_not_final() -> None:
    order = an_order(qty=None, notional=D("1000.00"))
    step = on_quote(order, touch("99.99", "100.00", ask_size="4"))
    assert step == Step(fill=Fill(D(4), D("100.00")))
    rest = order.filled(D(4), D("100.00"), T0)
    assert on_quote(rest, touch("124.99", "125.00")) == Step(
        fill=Fill(D("4.8"), D("125.00"), final=True)
    )


def test_a_notional_remainder_worth_less_than_a_lot_expires() -> None:
    order = an_order(qty=None, notional=D("10.00"))
    rest = order.filled(D("0.999999999"), D("10.00"), T0)  # 0.00000001 left
    assert on_quote(rest, touch("10.00", "10.01")) == expired("nothing could fill")


# -- auctions ---------------------------------------------------------------------------------


def test_opg_waits_for_the_open_then_fills_whole_at_the_first_quote() -> None:
    opg = an_order(tif=TimeInForce.OPG)
    assert on_quote(opg, touch("10", "10.01"), hours=PRE_MARKET, moment=Moment.ARRIVAL) == WAIT
    step = on_quote(opg, touch("10.20", "10.25", ask_size="1"))
    assert step == Step(fill=Fill(D(100), D("10.25")))  # the auction ignores the quoted size


def test_an_opg_limit_out_of_reach_at_the_open_expires() -> None:
    opg = an_order(OrderType.LIMIT, tif=TimeInForce.OPG, limit_price=D("10.00"))
    assert on_quote(opg, touch("10.20", "10.25")) == expired("not filled in the opening auction")


def test_cls_ignores_quotes_and_fills_at_the_close_on_the_last_quote() -> None:
    cls = an_order(side=Side.SELL, tif=TimeInForce.CLS)
    assert on_quote(cls, touch("10.20", "10.25")) == WAIT
    step = on_quote(cls, touch("10.20", "10.25", bid_size="3"), moment=Moment.DEADLINE)
    assert step == Step(fill=Fill(D(100), D("10.20")))
    assert on_quote(cls, None, moment=Moment.DEADLINE) == expired(
        "not filled in the closing auction"
    )


def test_a_deadline_expires_other_orders() -> None:
    day = an_order(OrderType.LIMIT, limit_price=D("1.00"))
    assert on_quote(day, touch("10", "10.01"), moment=Moment.DEADLINE) == expired(
        "day order: its time in force ended"
    )


# -- deadlines --------------------------------------------------------------------------------

AAPL = Instrument(
    symbol="AAPL",
    name="Apple Inc.",
    asset_class=AssetClass.US_EQUITY,
    exchange="XNAS",
    currency="USD",
    tick_size=D("0.01"),
    lot_size=D("0.000000001"),
    fractionable=True,
    shortable=True,
)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def deadline_of(order: Order, placed: str) -> datetime | None:
    order = replace(order, created_at=when(placed), submitted_at=when(placed))
    return deadline(order, calendar_for(AAPL), AAPL.timezone)


@pytest.mark.parametrize(
    ("placed", "closes"),
    [
        ("2026-01-05T14:30:00", "2026-01-05T21:00:00"),  # Monday: 16:00 New York
        ("2026-11-27T15:00:00", "2026-11-27T18:00:00"),  # after Thanksgiving: 13:00
        ("2026-01-03T12:00:00", "2026-01-05T21:00:00"),  # a Saturday: Monday's close
    ],
)
def test_a_day_order_ends_at_its_session_close(placed: str, closes: str) -> None:
    assert deadline_of(an_order(OrderType.LIMIT, limit_price=D(1)), placed) == when(closes)


def test_an_extended_hours_day_order_ends_with_its_session_post_market() -> None:
    order = an_order(OrderType.LIMIT, limit_price=D(1), extended_hours=True)
    assert deadline_of(order, "2026-01-05T10:00:00") == when("2026-01-06T01:00:00")
    # placed in Monday's post-market: Monday's post-market end, not Tuesday's
    assert deadline_of(order, "2026-01-05T22:00:00") == when("2026-01-06T01:00:00")
    assert deadline_of(order, "2026-01-06T02:00:00") == when("2026-01-07T01:00:00")


def test_gtd_opg_cls_and_gtc_deadlines() -> None:
    until = when("2026-02-01T15:00:00")
    gtd = an_order(OrderType.LIMIT, tif=TimeInForce.GTD, limit_price=D(1), expires_at=until)
    assert deadline_of(gtd, "2026-01-05T15:00:00") == until
    opg = an_order(tif=TimeInForce.OPG)
    assert deadline_of(opg, "2026-01-05T12:00:00") == when("2026-01-05T21:00:00")
    assert deadline_of(opg, "2026-01-05T22:00:00") == when("2026-01-06T21:00:00")
    assert deadline_of(an_order(tif=TimeInForce.CLS), "2026-01-05T15:00:00") == when(
        "2026-01-05T21:00:00"
    )
    assert deadline_of(an_order(tif=TimeInForce.GTC), "2026-01-05T15:00:00") is None
