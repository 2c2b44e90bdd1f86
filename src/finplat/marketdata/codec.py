"""Ticks and bars as JSON-ready dicts and back, decimals as strings (the cache's and the
stream's wire form)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from finplat.marketdata.domain import Bar, Quote, Timeframe, Trade, plain


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def quote_to_dict(quote: Quote) -> dict[str, Any]:
    return {
        "symbol": quote.symbol,
        "bid_price": plain(quote.bid_price),
        "bid_size": plain(quote.bid_size),
        "ask_price": plain(quote.ask_price),
        "ask_size": plain(quote.ask_size),
        "timestamp": iso(quote.timestamp),
        "provider": quote.provider,
        "stale": quote.stale,
    }


def quote_from_dict(data: dict[str, Any]) -> Quote:
    return Quote(
        data["symbol"],
        Decimal(data["bid_price"]),
        Decimal(data["bid_size"]),
        Decimal(data["ask_price"]),
        Decimal(data["ask_size"]),
        parse_time(data["timestamp"]),
        data.get("provider", ""),
        bool(data.get("stale", False)),
    )


def trade_to_dict(trade: Trade) -> dict[str, Any]:
    return {
        "symbol": trade.symbol,
        "price": plain(trade.price),
        "size": plain(trade.size),
        "timestamp": iso(trade.timestamp),
        "trade_id": trade.trade_id,
        "provider": trade.provider,
    }


def trade_from_dict(data: dict[str, Any]) -> Trade:
    return Trade(
        data["symbol"],
        Decimal(data["price"]),
        Decimal(data["size"]),
        parse_time(data["timestamp"]),
        int(data.get("trade_id", 0)),
        data.get("provider", ""),
    )


def bar_to_dict(bar: Bar) -> dict[str, Any]:
    return {
        "symbol": bar.symbol,
        "timeframe": bar.timeframe.value,
        "start": iso(bar.start),
        "open": plain(bar.open),
        "high": plain(bar.high),
        "low": plain(bar.low),
        "close": plain(bar.close),
        "volume": plain(bar.volume),
        "trade_count": bar.trade_count,
        "vwap": plain(bar.vwap),
    }


def bar_from_dict(data: dict[str, Any]) -> Bar:
    return Bar(
        data["symbol"],
        Timeframe(data["timeframe"]),
        parse_time(data["start"]),
        Decimal(data["open"]),
        Decimal(data["high"]),
        Decimal(data["low"]),
        Decimal(data["close"]),
        Decimal(data["volume"]),
        int(data["trade_count"]),
        Decimal(data["vwap"]),
    )
