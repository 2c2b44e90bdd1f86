"""Alpaca's positions API: GET/DELETE /v2/positions and GET/DELETE /v2/positions/{symbol}.

A position is valued at its mark: the latest trade, else the middle of the latest quote,
else its average entry price (no market data). `lastday_price` is the close of the last
daily bar before today. Closing a position places a market order for all of it, or for
`qty` or `percentage` of it (rounded down to the instrument's lot).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from finplat import ledger, marketdata
from finplat.kernel import BusinessRuleViolation, DomainError, InvalidInput, NotFound
from finplat.trading.api.alpaca_http import (
    Kit,
    Reader,
    Trader,
    alpaca_code,
    alpaca_errors,
    flag,
    problem,
    resolve_asset,
)
from finplat.trading.api.alpaca_models import decimal_field, position_json
from finplat.trading.api.alpaca_orders import one_order
from finplat.trading.booking import share_asset
from finplat.trading.context import TradingKit
from finplat.trading.domain.orders import Order, OrderRequest, OrderType, Side, TimeInForce
from finplat.trading.positions import Position, open_positions, position
from finplat.trading.service import cancel_all, submit_order

router = APIRouter(include_in_schema=False)

_SHARE_SCALE = 9


@dataclass(frozen=True)
class Valued:
    """A position with what the API shows next to it."""

    position: Position
    instrument: marketdata.Instrument | None
    price: Decimal | None  # the mark
    lastday_price: Decimal | None
    available: Decimal  # not held for open sell orders

    def json(self) -> dict[str, object]:
        return position_json(
            self.position,
            self.instrument,
            price=self.price,
            lastday_price=self.lastday_price,
            qty_available=self.available,
        )

    @property
    def lastday_value(self) -> Decimal:
        """At the last close (or the mark, without one)."""
        if self.lastday_price is None:
            return self.market_value
        return self.position.qty * self.lastday_price

    @property
    def market_value(self) -> Decimal:
        held = self.position
        return held.qty * (self.price if self.price is not None else held.avg_entry_price)


async def mark_price(kit: TradingKit, symbol: str) -> Decimal | None:
    cache = kit.marketdata.cache
    trade = await cache.latest_trade(symbol)
    if trade is not None:
        return trade.price
    quote = await cache.latest_quote(symbol)
    return quote.mid if quote is not None else None


async def valued_positions(
    kit: TradingKit, account_id: uuid.UUID, symbol: str | None = None
) -> list[Valued]:
    """The account's open positions (or its position in `symbol`), valued."""
    now = kit.clock.now()
    out = []
    async with kit.uows(read_only=True) as uow:
        if symbol is None:
            held = await open_positions(uow, account_id)
        else:
            one = await position(uow, account_id, symbol)
            held = [one] if one is not None and one.qty else []
        shares = {
            a.asset.code: a
            for a in await ledger.accounts_of(uow, account_id)
            if a.kind is ledger.AccountKind.CUSTOMER_SECURITIES
        }
        for item in held:
            instrument = await marketdata.find_instrument(uow, item.symbol)
            lastday = None
            if instrument is not None:
                today = marketdata.Timeframe.DAY.bucket(now, instrument.timezone)
                bars = await marketdata.latest_bars(
                    uow.session, item.symbol, marketdata.Timeframe.DAY, 1, before=today
                )
                lastday = bars[0].close if bars else None
            account = shares.get(share_asset(item.symbol).code)
            available = item.qty
            if item.qty > 0:
                minor = account.available if account is not None else 0
                available = Decimal(minor).scaleb(-_SHARE_SCALE).normalize()
            out.append(Valued(item, instrument, None, lastday, available))
    return [replace(v, price=await mark_price(kit, v.position.symbol)) for v in out]


def _lot(instrument: marketdata.Instrument | None) -> Decimal:
    if instrument is None:
        return Decimal(1)
    return instrument.lot_size if instrument.fractionable else max(instrument.lot_size, Decimal(1))


def close_request(
    held: Position,
    instrument: marketdata.Instrument | None,
    *,
    qty: Decimal | None = None,
    percentage: Decimal | None = None,
) -> OrderRequest:
    """The market order that closes `held`, or the part of it asked for."""
    size = abs(held.qty)
    if qty is not None and percentage is not None:
        raise InvalidInput("give qty or percentage, not both", code="invalid_close")
    if qty is not None:
        if qty <= 0:
            raise InvalidInput("qty must be positive", code="invalid_close")
        if qty > size:
            raise BusinessRuleViolation(
                f"insufficient qty available for order (requested: {qty}, available: {size})",
                code="close_exceeds_position",
            )
        size = qty
    elif percentage is not None:
        if not 0 < percentage <= 100:
            raise InvalidInput("percentage must be above 0 and at most 100", code="invalid_close")
        lot = _lot(instrument)
        size = (size * percentage / 100 / lot).to_integral_value(ROUND_FLOOR) * lot
        if size == 0:
            raise InvalidInput(
                f"{percentage}% of the position is less than one lot", code="invalid_close"
            )
    crypto = instrument is not None and instrument.asset_class is marketdata.AssetClass.CRYPTO
    return OrderRequest(
        symbol=held.symbol,
        side=Side.SELL if held.qty > 0 else Side.BUY,
        type=OrderType.MARKET,
        time_in_force=TimeInForce.GTC if crypto else TimeInForce.DAY,
        qty=size,
    )


async def _held(kit: TradingKit, account_id: uuid.UUID, text: str) -> Valued:
    async with kit.uows(read_only=True) as uow:
        instrument = await resolve_asset(uow, text)
    found = await valued_positions(kit, account_id, instrument.symbol) if instrument else []
    if not found:
        raise NotFound("position does not exist", code="position_not_found")
    return found[0]


@router.get("/v2/positions", name="alpaca_list_positions")
async def list_positions_route(principal: Reader, kit: Kit) -> Response:
    return JSONResponse([v.json() for v in await valued_positions(kit, principal.user_id)])


@router.get("/v2/positions/{symbol_or_asset_id:path}", name="alpaca_get_position")
async def get_position_route(symbol_or_asset_id: str, principal: Reader, kit: Kit) -> Response:
    with alpaca_errors():
        held = await _held(kit, principal.user_id, symbol_or_asset_id)
    return JSONResponse(held.json())


@router.delete("/v2/positions/{symbol_or_asset_id:path}", name="alpaca_close_position")
async def close_position_route(
    symbol_or_asset_id: str, request: Request, principal: Trader, kit: Kit
) -> Response:
    """Close the position with a market order (all of it, or `qty` or `percentage`)."""
    params = request.query_params
    with alpaca_errors():
        qty, percentage = decimal_field(params, "qty"), decimal_field(params, "percentage")
        held = await _held(kit, principal.user_id, symbol_or_asset_id)
        order = close_request(held.position, held.instrument, qty=qty, percentage=percentage)
        submitted = await submit_order(kit, principal.user_id, order)
    return JSONResponse(await one_order(kit, submitted.order))


async def _close(kit: TradingKit, account_id: uuid.UUID, held: Valued) -> dict[str, object]:
    symbol = held.position.symbol
    try:
        order: Order = (
            await submit_order(kit, account_id, close_request(held.position, held.instrument))
        ).order
    except DomainError as error:
        refused = problem(error)
        body = {"code": alpaca_code(refused.status), "message": refused.detail, "symbol": symbol}
        return {"symbol": symbol, "status": refused.status, "body": body}
    return {"symbol": symbol, "status": 200, "body": await one_order(kit, order)}


@router.delete("/v2/positions", name="alpaca_close_all_positions", status_code=207)
async def close_all_route(request: Request, principal: Trader, kit: Kit) -> Response:
    """Close every position (after canceling every open order with `cancel_orders=true`):
    a multi-status list, one `{symbol, status, body}` per position."""
    if flag(request.query_params, "cancel_orders"):
        with alpaca_errors():
            await cancel_all(kit, principal.user_id)
    held = await valued_positions(kit, principal.user_id)
    return JSONResponse([await _close(kit, principal.user_id, v) for v in held], status_code=207)
