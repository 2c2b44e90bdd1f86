"""Alpaca's wire shapes for trading: orders, assets, positions and trade updates as JSON
objects, and order requests read from Alpaca's JSON.

Money and quantities are decimal strings written from the exact Decimal (Alpaca's types);
times are RFC 3339 in UTC; enums are lower case, as Alpaca spells them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, TypeVar

from finplat import marketdata
from finplat.kernel import InvalidInput
from finplat.trading.domain.orders import (
    Leg,
    Order,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from finplat.trading.positions import Position
from finplat.trading.updates import TradeUpdate

CENT = Decimal("0.01")

#: Alpaca's exchange names for the listing MICs of the instrument master.
EXCHANGES = {
    "XNAS": "NASDAQ",
    "XNYS": "NYSE",
    "ARCX": "ARCA",
    "BATS": "BATS",
    "XASE": "AMEX",
    "CRYPTO": "CRYPTO",
}


def plain(value: Decimal) -> str:
    """A decimal as Alpaca writes it: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def opt(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def money(value: Decimal) -> str:
    """A cash amount, to the cent."""
    return format(value.quantize(CENT, ROUND_HALF_EVEN), "f")


def stamp(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def exchange_of(instrument: marketdata.Instrument) -> str:
    return EXCHANGES.get(instrument.exchange, instrument.exchange)


def asset_id(symbol: str, instrument: marketdata.Instrument | None) -> uuid.UUID:
    """The instrument's id; a symbol no longer in the master keeps a stable derived id."""
    if instrument is not None:
        return instrument.id
    return uuid.uuid5(uuid.NAMESPACE_URL, f"finplat:asset:{symbol}")


def asset_class(instrument: marketdata.Instrument | None) -> str:
    if instrument is None:
        return marketdata.AssetClass.US_EQUITY.value
    return instrument.asset_class.value


# -- out ----------------------------------------------------------------------------------------


def asset_attributes(instrument: marketdata.Instrument) -> list[str]:
    crypto = instrument.asset_class is marketdata.AssetClass.CRYPTO
    return ["fractional_eh_enabled"] if instrument.fractionable and not crypto else []


def asset_json(instrument: marketdata.Instrument) -> dict[str, object]:
    return {
        "id": str(instrument.id),
        "class": instrument.asset_class.value,
        "exchange": exchange_of(instrument),
        "symbol": instrument.symbol,
        "name": instrument.name,
        "status": instrument.status.value,
        "tradable": instrument.tradable,
        "marginable": instrument.marginable,
        "maintenance_margin_requirement": 100,
        "shortable": instrument.shortable,
        "easy_to_borrow": instrument.easy_to_borrow,
        "fractionable": instrument.fractionable,
        "attributes": asset_attributes(instrument),
        "min_order_size": plain(instrument.min_order_size),
        "min_trade_increment": plain(instrument.lot_size),
        "price_increment": plain(instrument.tick_size),
    }


def order_json(
    order: Order,
    instrument: marketdata.Instrument | None,
    legs: Sequence[Order] | None = None,
) -> dict[str, object]:
    """An order as Alpaca sends it; `legs` nests the exit legs (None: `"legs": null`)."""
    request = order.request
    replaced_at = order.updated_at if order.status is OrderStatus.REPLACED else None
    return {
        "id": str(order.id),
        "client_order_id": order.client_order_id,
        "created_at": stamp(order.created_at),
        "updated_at": stamp(order.updated_at),
        # Alpaca stamps every accepted order; one not yet at a venue counts from creation
        "submitted_at": stamp(order.submitted_at or order.created_at),
        "filled_at": stamp(order.filled_at),
        "expired_at": stamp(order.expired_at),
        "canceled_at": stamp(order.canceled_at),
        "failed_at": stamp(order.failed_at),
        "replaced_at": stamp(replaced_at),
        "replaced_by": None if order.replaced_by is None else str(order.replaced_by),
        "replaces": None if order.replaces is None else str(order.replaces),
        "asset_id": str(asset_id(order.symbol, instrument)),
        "symbol": order.symbol,
        "asset_class": asset_class(instrument),
        "notional": opt(request.notional),
        "qty": opt(request.qty),
        "filled_qty": plain(order.filled_qty),
        "filled_avg_price": opt(order.filled_avg_price),
        "order_class": request.order_class.value,
        "order_type": request.type.value,
        "type": request.type.value,
        "side": request.side.value,
        "time_in_force": request.time_in_force.value,
        "limit_price": opt(request.limit_price),
        "stop_price": opt(request.stop_price),
        "status": order.status.value,
        "extended_hours": request.extended_hours,
        "legs": None if legs is None else [order_json(leg, instrument) for leg in legs],
        "trail_percent": opt(request.trail_percent),
        "trail_price": opt(request.trail_price),
        "hwm": opt(order.high_water_mark),
        "expires_at": stamp(request.expires_at),
        "subtag": None,
        "source": None,
    }


def trade_update_json(
    update: TradeUpdate, instrument: marketdata.Instrument | None
) -> dict[str, object]:
    data: dict[str, object] = {
        "event": update.event.value,
        "timestamp": stamp(update.at),
        "order": order_json(update.order, instrument),
    }
    if update.execution_id is not None:
        data["execution_id"] = str(update.execution_id)
    for name, value in (
        ("price", update.price),
        ("qty", update.qty),
        ("position_qty", update.position_qty),
    ):
        if value is not None:
            data[name] = plain(value)
    return {"stream": "trade_updates", "data": data}


def position_json(
    position: Position,
    instrument: marketdata.Instrument | None,
    *,
    price: Decimal | None,
    lastday_price: Decimal | None,
    qty_available: Decimal,
) -> dict[str, object]:
    """`price` is the mark (None without market data: the position is valued at cost)."""
    qty, cost = position.qty, position.cost_basis
    sign = 1 if qty > 0 else -1
    current = price if price is not None else position.avg_entry_price
    value = qty * current
    pl = value - sign * cost
    base = lastday_price if lastday_price is not None else current
    intraday = qty * (current - base)
    return {
        "asset_id": str(asset_id(position.symbol, instrument)),
        "symbol": position.symbol,
        "exchange": exchange_of(instrument) if instrument else "",
        "asset_class": asset_class(instrument),
        "asset_marginable": instrument.marginable if instrument else False,
        "qty": plain(qty),
        "avg_entry_price": plain(position.avg_entry_price),
        "side": position.side,
        "market_value": money(value),
        "cost_basis": money(cost),
        "unrealized_pl": money(pl),
        "unrealized_plpc": _ratio(pl, cost),
        "unrealized_intraday_pl": money(intraday),
        "unrealized_intraday_plpc": _ratio(intraday, abs(qty * base)),
        "current_price": plain(current),
        "lastday_price": plain(base),
        "change_today": _ratio(current - base, base),
        "qty_available": plain(qty_available),
    }


def _ratio(part: Decimal, whole: Decimal) -> str:
    if not whole:
        return "0"
    return plain((part / whole).quantize(Decimal("1e-10"), ROUND_HALF_EVEN))


# -- in -----------------------------------------------------------------------------------------


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_order_request")


def decimal_field(body: Mapping[str, Any], name: str) -> Decimal | None:
    """A number or a decimal string; the JSON is read with exact decimals, so a number
    arrives as the Decimal of its text."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _invalid(f"{name} must be a number or a decimal string")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise _invalid(f"{name} is not a number: {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise _invalid(f"{name} must be a finite number")
    return number


_E = TypeVar("_E", Side, OrderType, TimeInForce, OrderClass)


def enum_field(body: Mapping[str, Any], name: str, kind: type[_E], default: _E | None = None) -> _E:
    value = body.get(name)
    if value is None or value == "":
        if default is None:
            raise _invalid(f"{name} is required")
        return default
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    try:
        return kind(value.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise _invalid(f"invalid {name} {value[:40]!r}; use one of {allowed}") from None


def _leg(body: Mapping[str, Any], name: str, fields: tuple[str, ...]) -> Leg | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid(f"{name} must be an object")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise _invalid(f"unknown field in {name}: {unknown[0][:40]}")
    return Leg(
        limit_price=decimal_field(value, "limit_price"),
        stop_price=decimal_field(value, "stop_price"),
    )


ORDER_FIELDS = frozenset(
    {
        "symbol",
        "qty",
        "notional",
        "side",
        "type",
        "time_in_force",
        "limit_price",
        "stop_price",
        "trail_price",
        "trail_percent",
        "extended_hours",
        "client_order_id",
        "order_class",
        "take_profit",
        "stop_loss",
        "position_intent",
        "expires_at",  # finplat's gtd orders; Alpaca has no gtd
    }
)
POSITION_INTENTS = frozenset({"buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close"})
MAX_CLIENT_ORDER_ID = 128


def client_order_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("client_order_id")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CLIENT_ORDER_ID:
        raise _invalid(f"client_order_id must be 1 to {MAX_CLIENT_ORDER_ID} characters")
    return value


def _expires_at(body: Mapping[str, Any]) -> datetime | None:
    value = body.get("expires_at")
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("expires_at must be an RFC 3339 time") from None
    if at.tzinfo is None:
        raise _invalid("expires_at needs a time zone offset")
    return at.astimezone(UTC)


def order_request(body: Mapping[str, Any]) -> OrderRequest:
    """An order request from the body of Alpaca's POST /v2/orders."""
    unknown = sorted(set(body) - ORDER_FIELDS)
    if unknown:
        raise _invalid(f"unknown field: {unknown[0][:40]}")
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not 0 < len(symbol.strip()) <= 24:
        raise _invalid("symbol is required")
    if body.get("order_class") == "mleg":
        raise _invalid("mleg orders are for options, which are not traded here")
    intent = body.get("position_intent")
    if intent is not None and intent not in POSITION_INTENTS:
        raise _invalid(f"invalid position_intent {str(intent)[:40]!r}")
    extended = body.get("extended_hours", False)
    if not isinstance(extended, bool):
        raise _invalid("extended_hours must be true or false")
    return OrderRequest(
        symbol=symbol.strip().upper(),
        side=enum_field(body, "side", Side),
        type=enum_field(body, "type", OrderType),
        time_in_force=enum_field(body, "time_in_force", TimeInForce),
        qty=decimal_field(body, "qty"),
        notional=decimal_field(body, "notional"),
        limit_price=decimal_field(body, "limit_price"),
        stop_price=decimal_field(body, "stop_price"),
        trail_price=decimal_field(body, "trail_price"),
        trail_percent=decimal_field(body, "trail_percent"),
        extended_hours=extended,
        client_order_id=client_order_id(body),
        order_class=enum_field(body, "order_class", OrderClass, OrderClass.SIMPLE),
        take_profit=_leg(body, "take_profit", ("limit_price",)),
        stop_loss=_leg(body, "stop_loss", ("stop_price", "limit_price")),
        expires_at=_expires_at(body),
    )
