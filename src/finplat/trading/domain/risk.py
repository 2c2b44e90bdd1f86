"""Pre-trade risk: every check an order must pass before it may hold money or reach a venue.

Each denial carries a stable code and a readable message. The checks run in a fixed order,
so the same order in the same situation is always denied for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from finplat.kernel import BusinessRuleViolation
from finplat.trading.domain.orders import OrderRequest, OrderType, Side, TimeInForce


class AccountTradingState(StrEnum):
    ACTIVE = "active"
    REDUCE_ONLY = "reduce_only"  # may only shrink positions (a margin call, a closing account)
    HALTED = "halted"


class RiskDenied(BusinessRuleViolation):
    """An order the rules refuse; `code` is stable for clients to act on."""


@dataclass(frozen=True)
class RiskLimits:
    max_order_qty: Decimal
    max_order_notional: Decimal
    collar_percent: Decimal  # how far past the quote a marketable limit may reach
    max_orders_per_minute: int


@dataclass(frozen=True)
class Market:
    """The market as the order would meet it."""

    regular_open: bool
    extended_open: bool
    bid: Decimal | None = None
    ask: Decimal | None = None
    always_open: bool = False  # crypto


@dataclass(frozen=True)
class AccountView:
    """What risk needs to know of the account, read under the account's lock."""

    kyc_approved: bool
    state: AccountTradingState
    buying_power: Decimal  # cash available: posted cash less holds
    position_qty: Decimal  # signed: negative when short
    sellable_qty: Decimal  # the long position not already held for other sell orders
    orders_last_minute: int
    may_short: bool = False  # the account and the instrument allow short sales
    restricted: bool = False  # a funding shortfall (a returned deposit) not yet covered


def _deny(message: str, code: str) -> RiskDenied:
    return RiskDenied(message, code=code)


def reference_price(request: OrderRequest, market: Market, limits: RiskLimits) -> Decimal:
    """The price an order is sized and held at: its limit, or for a market order the far
    side of the quote widened by the collar (what it could pay at worst)."""
    if request.limit_price is not None:
        return request.limit_price
    far: Decimal | None
    if request.stop_price is not None and request.type is OrderType.STOP:
        far = request.stop_price
    else:
        far = market.ask if request.side is Side.BUY else market.bid
    if far is None:
        raise _deny(f"there is no quote for {request.symbol} to price it", "no_quote")
    widen = 1 + limits.collar_percent / 100 if request.side is Side.BUY else 1
    return far * widen


def order_value(request: OrderRequest, market: Market, limits: RiskLimits) -> Decimal:
    """The notional the order is worth at its reference price."""
    if request.notional is not None:
        return request.notional
    assert request.qty is not None  # noqa: S101 - a request has qty or notional
    return request.qty * reference_price(request, market, limits)


def _units(request: OrderRequest, market: Market, limits: RiskLimits) -> Decimal:
    """The quantity the order moves: its qty, or its notional at the reference price."""
    if request.qty is not None:
        return request.qty
    return order_value(request, market, limits) / reference_price(request, market, limits)


def check_order(
    request: OrderRequest,
    account: AccountView,
    market: Market,
    limits: RiskLimits,
    *,
    kill_switch: bool,
) -> None:
    """Raise `RiskDenied` with the first rule the order breaks."""
    if kill_switch:
        raise _deny("trading is halted by the operator", "trading_halted")
    if account.state is AccountTradingState.HALTED:
        raise _deny("trading on this account is halted", "account_halted")
    if not account.kyc_approved:
        raise _deny("the account's identity check is not approved yet", "kyc_not_approved")
    if account.orders_last_minute >= limits.max_orders_per_minute:
        raise _deny(
            f"at most {limits.max_orders_per_minute} orders a minute", "order_rate_exceeded"
        )
    _check_session(request, market)
    if request.type is OrderType.MARKET:
        far = market.ask if request.side is Side.BUY else market.bid
        if far is None:
            raise _deny(f"there is no quote for {request.symbol} to trade at", "no_quote")
    _check_collar(request, market, limits)
    _check_size(request, market, limits)
    _check_position(request, account, market, limits)


def _check_session(request: OrderRequest, market: Market) -> None:
    if market.always_open:
        return
    tif = request.time_in_force
    if tif is TimeInForce.OPG:
        if market.regular_open:
            raise _deny("opening-auction orders are taken only before the open", "market_open")
        return
    if tif in {TimeInForce.GTC, TimeInForce.GTD} and request.type is not OrderType.MARKET:
        return  # they wait for the market
    open_now = market.regular_open or (request.extended_hours and market.extended_open)
    if not open_now:
        raise _deny(
            f"the market for {request.symbol} is closed; use gtc, or extended_hours for a "
            "limit order in the extended session",
            "market_closed",
        )


def _check_collar(request: OrderRequest, market: Market, limits: RiskLimits) -> None:
    if request.limit_price is None or request.type is not OrderType.LIMIT:
        return
    band = limits.collar_percent / 100
    if request.side is Side.BUY and market.ask is not None:
        ceiling = market.ask * (1 + band)
        if request.limit_price > ceiling:
            raise _deny(
                f"a buy limit of {request.limit_price} is more than {limits.collar_percent}% "
                f"above the ask {market.ask}",
                "price_outside_collar",
            )
    if request.side is Side.SELL and market.bid is not None:
        floor = market.bid * (1 - band)
        if request.limit_price < floor:
            raise _deny(
                f"a sell limit of {request.limit_price} is more than {limits.collar_percent}% "
                f"below the bid {market.bid}",
                "price_outside_collar",
            )


def _check_size(request: OrderRequest, market: Market, limits: RiskLimits) -> None:
    if request.qty is not None and request.qty > limits.max_order_qty:
        raise _deny(f"at most {limits.max_order_qty} units an order", "quantity_too_large")
    if order_value(request, market, limits) > limits.max_order_notional:
        raise _deny(f"at most {limits.max_order_notional} an order", "notional_too_large")


def _check_position(
    request: OrderRequest, account: AccountView, market: Market, limits: RiskLimits
) -> None:
    if request.side is Side.BUY:
        reduce_only = account.state is AccountTradingState.REDUCE_ONLY
        # buying back more than the short would open a long: that is no reduction
        if reduce_only and _units(request, market, limits) > -account.position_qty:
            raise _deny("this account may only reduce its positions", "reduce_only")
        if account.restricted:
            raise _deny(
                "buying is restricted until the account's negative cash is covered",
                "account_restricted",
            )
        needed = order_value(request, market, limits)
        if needed > account.buying_power:
            raise _deny(
                f"buying power {account.buying_power} is less than the {needed} this order "
                "may cost",
                "insufficient_buying_power",
            )
        return
    if _units(request, market, limits) <= account.sellable_qty:
        return
    if account.state is AccountTradingState.REDUCE_ONLY:
        raise _deny("this account may only reduce its positions", "reduce_only")
    if not account.may_short:
        raise _deny(
            f"only {account.sellable_qty} {request.symbol} can be sold, and short sales are "
            "not allowed",
            "insufficient_qty",
        )
