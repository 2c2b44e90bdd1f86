"""Alpaca's Trading API v2 on finplat, so that alpaca-py's `TradingClient` and
`TradingStream` work unmodified with `url_override`.

Served at the root (Alpaca's paths) and left out of finplat's OpenAPI document: orders
(`alpaca_orders`), positions (`alpaca_positions`), the account and its activities
(`alpaca_account`), assets, clock and calendar (`alpaca_market`); the `trade_updates`
WebSocket is `alpaca_stream`. Errors under /v2 take Alpaca's body, `{"code", "message"}`.
"""

from __future__ import annotations

from fastapi import APIRouter

from finplat.trading.api import alpaca_account, alpaca_market, alpaca_orders, alpaca_positions

alpaca_router = APIRouter(include_in_schema=False)
for _part in (alpaca_orders, alpaca_positions, alpaca_account, alpaca_market):
    alpaca_router.include_router(_part.router)
