"""Properties of the order model under random input.

Random event sequences go through `Order.apply` and random fills through `Order.filled`, the
way the engine drives an order (fill events only come from `filled`, which decides between
partial_fill and fill). Each step is checked against a small model of the table: a refused
step leaves the order as it was; an accepted one moves exactly where the table says.

Random requests, numbers included that no client should send, either pass `check_request` or
are rejected with `OrderRejected`, never with another exception. Well-formed requests against
random accounts and markets are either denied with a known code or satisfy every risk rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from finplat.kernel import BusinessRuleViolation, DomainError
from finplat.trading.domain.orders import (
    TERMINAL,
    TRANSITIONS,
    Grid,
    InvalidTransition,
    Leg,
    Order,
    OrderClass,
    OrderEvent,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    check_request,
)
from finplat.trading.domain.risk import (
    AccountTradingState,
    AccountView,
    Market,
    RiskDenied,
    RiskLimits,
    check_order,
    order_value,
    reference_price,
)

D = Decimal
S, E = OrderStatus, OrderEvent
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
NANO = D("0.000000001")
APPLIED = [event for event in OrderEvent if event not in {E.FILL, E.PARTIAL_FILL}]
RESTORING = {E.CANCEL_REJECTED, E.REPLACE_REJECTED}
STAMPS = {S.FILLED: "filled_at", S.CANCELED: "canceled_at", S.EXPIRED: "expired_at"}

# no deadline: the machine is shared and timing says nothing about correctness
PROPERTY = settings(max_examples=300, deadline=None)

Action = tuple[str, Any, Any]
events = st.tuples(st.just("event"), st.sampled_from(APPLIED), st.none())
units = st.sampled_from([D(1), D("0.001"), NANO])


def fills(unit: Decimal) -> st.SearchStrategy[Action]:
    return st.tuples(
        st.just("fill"),
        st.integers(min_value=-1, max_value=12).map(lambda n: n * unit),
        st.integers(min_value=1, max_value=50_000).map(lambda cents: D(cents) / 100),
    )


def new_order(qty: Decimal) -> Order:
    request = OrderRequest(
        symbol="AAPL", side=Side.BUY, type=OrderType.MARKET, time_in_force=TimeInForce.DAY, qty=qty
    )
    return Order(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        client_order_id="p-1",
        request=request,
        status=S.PENDING_NEW,
        created_at=T0,
        updated_at=T0,
        venue="simulated",
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Decimal, list[Action]]:
    unit = draw(units)
    qty = draw(st.integers(min_value=1, max_value=10)) * unit
    actions = draw(st.lists(st.one_of(events, fills(unit)), max_size=40))
    return qty, actions


def expected_refusal(order: Order, action: Action) -> str | None:
    """What the model says a step is refused with, or None when it is accepted."""
    kind, value, _ = action
    if kind == "event":
        return None if value in TRANSITIONS[order.status] else "order_not_in_a_state_to_change"
    assert order.remaining_qty is not None
    if value <= 0:
        return "bad_fill"
    if value > order.remaining_qty:
        return "overfill"
    event = E.FILL if value == order.remaining_qty else E.PARTIAL_FILL
    return None if event in TRANSITIONS[order.status] else "order_not_in_a_state_to_change"


def expected_status(order: Order, action: Action) -> OrderStatus:
    kind, value, _ = action
    if kind == "fill":
        event = E.FILL if value == order.remaining_qty else E.PARTIAL_FILL
        return TRANSITIONS[order.status][event]
    if value in RESTORING:
        return S.PARTIALLY_FILLED if order.filled_qty else S.NEW
    return TRANSITIONS[order.status][value]


def refusal(call: Callable[[], None], kind: type[DomainError]) -> DomainError | None:
    """The error of `kind` the call raises, or None when it returns."""
    try:
        call()
    except kind as error:
        return error
    return None


def step(order: Order, action: Action, at: datetime) -> Order:
    kind, value, price = action
    if kind == "event":
        return order.apply(value, at)
    return order.filled(value, price, at)


@PROPERTY
@given(scenarios())
def test_random_sequences_never_leave_the_table(scenario: tuple[Decimal, list[Action]]) -> None:
    qty, actions = scenario
    order = new_order(qty)
    notional = D(0)
    submitted: datetime | None = None
    for index, action in enumerate(actions, start=1):
        at = T0 + timedelta(seconds=index)
        expected = expected_refusal(order, action)
        outcome: Order | BusinessRuleViolation
        try:
            outcome = step(order, action, at)
        except BusinessRuleViolation as refused:
            outcome = refused
        if isinstance(outcome, BusinessRuleViolation):
            assert outcome.code == expected, action
            refused_move = isinstance(outcome, InvalidTransition)
            assert refused_move == (expected == "order_not_in_a_state_to_change")
            continue  # the order is a value: a refused step leaves it as it was
        after = outcome
        assert expected is None, (order.status, action)
        assert order.status not in TERMINAL
        assert after.status is expected_status(order, action)
        assert after.updated_at == at
        if action[0] == "fill":
            notional += action[1] * action[2]
            assert after.filled_qty == order.filled_qty + action[1]
        else:
            assert after.filled_qty == order.filled_qty
        if action[1] is E.NEW:
            submitted = at
        order = after

        assert order.status in TRANSITIONS
        assert 0 <= order.filled_qty <= qty
        assert (order.status is S.FILLED) == (order.filled_qty == qty)
        if order.status is S.PARTIALLY_FILLED:
            assert 0 < order.filled_qty < qty
        assert order.filled_notional == notional
        if order.filled_qty:
            average = (notional / order.filled_qty).quantize(NANO, ROUND_HALF_EVEN)
            assert order.filled_avg_price == average
        else:
            assert order.filled_avg_price is None
        assert order.submitted_at == submitted
        for status, stamp in STAMPS.items():
            assert (getattr(order, stamp) is not None) == (order.status is status)
        assert (order.failed_at is not None) == (order.status is S.REJECTED)


# --- requests and risk never fail with anything but their own errors ---------------------------

wild_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([D("1E+30"), D("-0"), D("0.000000001"), D("1E-40"), D("1" * 31)]),
)
prices = st.one_of(
    st.none(),
    st.integers(min_value=1, max_value=30_000).map(lambda cents: D(cents) / 100),
    wild_decimals,
)
quantities = st.one_of(
    st.integers(min_value=1, max_value=2_000).map(D),
    st.integers(min_value=1, max_value=2_000_000).map(lambda n: D(n) / 1000),
    wild_decimals,
)
legs = st.one_of(st.none(), st.builds(Leg, limit_price=prices, stop_price=prices))
grids = st.builds(
    Grid,
    symbol=st.just("AAPL"),
    tick_size=st.sampled_from([D("0.01"), D("0.0001"), D("0.5"), D(1)]),
    lot_size=st.sampled_from([NANO, D("0.0001"), D(1), D(100)]),
    min_order_size=st.sampled_from([NANO, D("0.001"), D(1)]),
    fractionable=st.booleans(),
    crypto=st.booleans(),
    tradable=st.sampled_from([True] * 9 + [False]),  # mostly tradable
)


@st.composite
def sizes(draw: st.DrawFn) -> dict[str, Decimal | None]:
    """Mostly one of qty and notional, as clients send them; sometimes both or neither."""
    shape = draw(st.sampled_from(["qty"] * 6 + ["notional"] * 3 + ["both", "neither"]))
    qty = draw(quantities) if shape in {"qty", "both"} else None
    notional = draw(prices) if shape in {"notional", "both"} else None
    return {"qty": qty, "notional": notional}


requests = st.builds(
    lambda size, **fields: OrderRequest(**size, **fields),
    sizes(),
    symbol=st.just("AAPL"),
    side=st.sampled_from(Side),
    type=st.sampled_from(OrderType),
    time_in_force=st.sampled_from(TimeInForce),
    limit_price=prices,
    stop_price=prices,
    trail_price=st.one_of(st.none(), prices),
    trail_percent=st.one_of(st.none(), wild_decimals, st.integers(1, 99).map(D)),
    extended_hours=st.booleans(),
    order_class=st.sampled_from(OrderClass),
    take_profit=legs,
    stop_loss=legs,
    expires_at=st.one_of(st.none(), st.just(T0 + timedelta(days=3))),
)


@PROPERTY
@given(requests, grids)
def test_check_request_refuses_with_its_own_error_only(request: OrderRequest, grid: Grid) -> None:
    # anything but OrderRejected fails the test
    rejection = refusal(lambda: check_request(request, grid), OrderRejected)
    if rejection is not None:
        assert rejection.code.replace("_", "").isalpha()
        return
    # what passed is well formed: one size, positive, on the grids
    assert (request.qty is None) != (request.notional is None)
    if request.qty is not None:
        assert request.qty > 0
        assert grid.fractionable or request.qty % 1 == 0
    for price in (request.limit_price, request.stop_price, request.trail_price):
        assert price is None or (price > 0 and price % grid.tick_size == 0)


# --- risk accepts only what every rule allows --------------------------------------------------

GRID = Grid(
    symbol="AAPL",
    tick_size=D("0.01"),
    lot_size=NANO,
    min_order_size=NANO,
    fractionable=True,
    crypto=False,
    tradable=True,
)
LIMITS = RiskLimits(
    max_order_qty=D(1000),
    max_order_notional=D(50_000),
    collar_percent=D(5),
    max_orders_per_minute=5,
)
DENIALS = {
    "trading_halted",
    "account_halted",
    "kyc_not_approved",
    "order_rate_exceeded",
    "market_open",
    "market_closed",
    "price_outside_collar",
    "no_quote",
    "quantity_too_large",
    "notional_too_large",
    "reduce_only",
    "account_restricted",
    "insufficient_buying_power",
    "insufficient_qty",
}
cents = st.integers(min_value=1, max_value=30_000).map(lambda c: D(c) / 100)


@st.composite
def well_formed(draw: st.DrawFn) -> OrderRequest:
    kind = draw(st.sampled_from(OrderType))
    immediate = kind in {OrderType.MARKET, OrderType.LIMIT}
    tif = draw(st.sampled_from(TimeInForce if immediate else ["day", "gtc", "gtd"]))
    fields: dict[str, Any] = {"time_in_force": TimeInForce(tif)}
    if kind is OrderType.MARKET and tif == "day" and draw(st.booleans()):
        fields["notional"] = draw(st.integers(1, 6_000_000).map(lambda c: D(c) / 100))
    else:
        fields["qty"] = draw(st.integers(1, 1_200).map(D))
    if kind.has_limit:
        fields["limit_price"] = draw(cents)
    if kind in {OrderType.STOP, OrderType.STOP_LIMIT}:
        fields["stop_price"] = draw(cents)
    if kind is OrderType.TRAILING_STOP:
        trail = draw(st.sampled_from(["trail_price", "trail_percent"]))
        fields[trail] = draw(cents if trail == "trail_price" else st.integers(1, 50).map(D))
    if kind is OrderType.LIMIT and tif == "day":
        fields["extended_hours"] = draw(st.booleans())
    if tif == "gtd":
        fields["expires_at"] = T0 + timedelta(days=3)
    return OrderRequest(symbol="AAPL", side=draw(st.sampled_from(Side)), type=kind, **fields)


quotes = st.sampled_from([True] * 4 + [False]).flatmap(
    lambda quoted: cents if quoted else st.none()
)
markets = st.builds(
    Market,
    regular_open=st.sampled_from([True] * 3 + [False]),
    extended_open=st.booleans(),
    bid=quotes,
    ask=quotes,
    always_open=st.sampled_from([False] * 3 + [True]),
)
accounts = st.builds(
    AccountView,
    kyc_approved=st.sampled_from([True] * 9 + [False]),
    state=st.sampled_from(["active"] * 4 + ["reduce_only"] * 4 + ["halted"]).map(
        AccountTradingState
    ),
    buying_power=st.integers(min_value=0, max_value=60_000).map(D),
    position_qty=st.integers(min_value=-300, max_value=300).map(D),
    sellable_qty=st.integers(min_value=0, max_value=300).map(D),
    orders_last_minute=st.integers(min_value=0, max_value=5),
    may_short=st.booleans(),
    restricted=st.sampled_from([False] * 4 + [True]),
)


def session_allows(request: OrderRequest, market: Market) -> bool:
    tif = request.time_in_force
    if market.always_open:
        return True
    if tif is TimeInForce.OPG:
        return not market.regular_open
    if tif in {TimeInForce.GTC, TimeInForce.GTD} and request.type is not OrderType.MARKET:
        return True
    return market.regular_open or (request.extended_hours and market.extended_open)


def collar_allows(request: OrderRequest, market: Market) -> bool:
    if request.type is not OrderType.LIMIT or request.limit_price is None:
        return True
    band = LIMITS.collar_percent / 100
    if request.side is Side.BUY:
        return market.ask is None or request.limit_price <= market.ask * (1 + band)
    return market.bid is None or request.limit_price >= market.bid * (1 - band)


@settings(max_examples=1000, deadline=None)  # the rules combine: look wider
@given(well_formed(), accounts, markets, st.sampled_from([False] * 19 + [True]))
def test_risk_accepts_only_what_every_rule_allows(
    request: OrderRequest, account: AccountView, market: Market, kill: bool
) -> None:
    check_request(request, GRID)  # the generator makes only well-formed requests
    denial = refusal(
        lambda: check_order(request, account, market, LIMITS, kill_switch=kill), RiskDenied
    )
    if denial is not None:
        assert denial.code in DENIALS
        return
    assert not kill
    assert account.state is not AccountTradingState.HALTED
    assert account.kyc_approved
    assert account.orders_last_minute < LIMITS.max_orders_per_minute
    assert session_allows(request, market)
    assert collar_allows(request, market)
    value = order_value(request, market, LIMITS)
    units = (
        request.qty if request.qty is not None else value / reference_price(request, market, LIMITS)
    )
    assert units <= LIMITS.max_order_qty or request.qty is None
    assert value <= LIMITS.max_order_notional
    reduce_only = account.state is AccountTradingState.REDUCE_ONLY
    if request.side is Side.BUY:
        assert not account.restricted
        assert value <= account.buying_power
        assert not reduce_only or units <= -account.position_qty
    else:
        assert units <= account.sellable_qty or (account.may_short and not reduce_only)
