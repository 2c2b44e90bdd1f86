"""alpaca-py's historical data clients, unmodified, against finplat with `url_override`.

alpaca-py parses prices into floats; each is compared with the exact Decimal that was
stored through `Decimal(str(value))`, which recovers it when it has at most 15 significant
digits (all of the seed does).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.models import Bar as AlpacaBar
from alpaca.data.models import BarSet, QuoteSet, Snapshot, TradeSet
from alpaca.data.models import Quote as AlpacaQuote
from alpaca.data.models import Trade as AlpacaTrade
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestQuoteRequest,
    CryptoSnapshotRequest,
    StockBarsRequest,
    StockLatestBarRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockQuotesRequest,
    StockSnapshotRequest,
    StockTradesRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from finplat.marketdata.api.alpaca_data import MAX_LIMIT
from finplat.marketdata.domain import Bar, Quote, Timeframe, Trade
from tests.acceptance.conftest import NOW, Live

pytestmark = pytest.mark.acceptance


def exact(value: float | None) -> Decimal:
    assert value is not None
    return Decimal(str(value))


def bar_values(bar: AlpacaBar) -> tuple[object, ...]:
    return (
        bar.symbol,
        bar.timestamp,
        *(exact(v) for v in (bar.open, bar.high, bar.low, bar.close, bar.volume)),
        bar.trade_count,
        exact(bar.vwap),
    )


def stored_values(bar: Bar) -> tuple[object, ...]:
    return (
        bar.symbol,
        bar.start,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        bar.trade_count,
        bar.vwap,
    )


def quote_values(quote: AlpacaQuote) -> tuple[object, ...]:
    prices = (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size)
    return (quote.symbol, quote.timestamp, *(exact(v) for v in prices))


def stored_quote(quote: Quote) -> tuple[object, ...]:
    prices = (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size)
    return (quote.symbol, quote.timestamp, *prices)


def trade_values(trade: AlpacaTrade) -> tuple[object, ...]:
    return (trade.symbol, trade.timestamp, exact(trade.price), exact(trade.size), trade.id)


def stored_trade(trade: Trade) -> tuple[object, ...]:
    return (trade.symbol, trade.timestamp, trade.price, trade.size, trade.trade_id)


def stocks(live: Live) -> StockHistoricalDataClient:
    return StockHistoricalDataClient(live.key_id, live.secret, url_override=live.url)


def barset(result: Any) -> BarSet:
    assert isinstance(result, BarSet)
    return result


def all_pages(client: StockHistoricalDataClient, path: str, request: Any, size: int) -> Any:
    """alpaca-py's own pagination loop with small pages: its public methods always ask for
    pages of 10,000, so small ones are only reachable through the loop they call."""
    return client._get_marketdata(
        path, request.to_request_fields(), page_limit=size, page_size=size
    )


# -- bars -----------------------------------------------------------------------------------


def test_daily_bars_of_several_symbols_are_exact(live: Live) -> None:
    since = datetime(2025, 12, 29, tzinfo=UTC)
    request = StockBarsRequest(
        symbol_or_symbols=["MSFT", "AAPL"], timeframe=TimeFrame.Day, start=since
    )
    result = barset(stocks(live).get_stock_bars(request))
    assert sorted(result.data) == ["AAPL", "MSFT"]
    for symbol in ("AAPL", "MSFT"):
        expected = [stored_values(b) for b in live.bars_of(symbol, Timeframe.DAY, since)]
        assert len(expected) == 6  # Dec 29, 30, 31, Jan 1, 2 and today's forming bar
        assert [bar_values(b) for b in result[symbol]] == expected
    frame = result.df
    assert list(frame.index.names) == ["symbol", "timestamp"]
    assert len(frame) == 12


def test_minute_history_runs_past_one_page_of_alpaca_py(live: Live) -> None:
    since = datetime(2025, 12, 16, tzinfo=UTC)
    request = StockBarsRequest(
        symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Minute, start=since
    )
    result = barset(stocks(live).get_stock_bars(request))
    expected = {s: live.bars_of(s, Timeframe.MINUTE, since) for s in ("AAPL", "MSFT")}
    assert sum(len(bars) for bars in expected.values()) == 10_980 > MAX_LIMIT
    for symbol, bars in expected.items():
        assert [bar_values(b) for b in result[symbol]] == [stored_values(b) for b in bars]


@pytest.mark.parametrize("sort", [Sort.ASC, Sort.DESC])
def test_small_pages_follow_the_token_across_symbols(live: Live, sort: Sort) -> None:
    since = datetime(2025, 12, 23, tzinfo=UTC)
    request = StockBarsRequest(
        symbol_or_symbols="AAPL,MSFT", timeframe=TimeFrame.Day, start=since, sort=sort
    )
    result = BarSet(all_pages(stocks(live), "/stocks/bars", request, 3))
    for symbol in ("AAPL", "MSFT"):
        expected = [stored_values(b) for b in live.bars_of(symbol, Timeframe.DAY, since)]
        expected = expected[::-1] if sort is Sort.DESC else expected
        assert len(expected) == 10
        assert [bar_values(b) for b in result[symbol]] == expected


def test_a_limit_caps_the_total_in_symbol_order(live: Live) -> None:
    request = StockBarsRequest(
        symbol_or_symbols=["MSFT", "AAPL"],
        timeframe=TimeFrame.Hour,
        start=datetime(2025, 12, 1, tzinfo=UTC),
        limit=5,
    )
    assert barset(stocks(live).get_stock_bars(request)).data == {}  # no hour bars stored
    request = StockBarsRequest(
        symbol_or_symbols=["MSFT", "AAPL"],
        timeframe=TimeFrame.Day,
        start=datetime(2025, 12, 1, tzinfo=UTC),
        limit=5,
    )
    result = barset(stocks(live).get_stock_bars(request))
    first_five = live.bars_of("AAPL", Timeframe.DAY, datetime(2025, 12, 1, tzinfo=UTC))[:5]
    assert list(result.data) == ["AAPL"]
    assert [bar_values(b) for b in result["AAPL"]] == [stored_values(b) for b in first_five]


def test_unknown_symbols_have_no_bars(live: Live) -> None:
    request = StockBarsRequest(symbol_or_symbols="NOPE", timeframe=TimeFrame.Day)
    assert barset(stocks(live).get_stock_bars(request)).data == {}


# -- latest, snapshots, quotes and trades -----------------------------------------------------


def _latest(live: Live, kind: type[Quote] | type[Trade], symbol: str) -> Any:
    return [t for t in live.ticks if isinstance(t, kind) and t.symbol == symbol][-1]


def test_latest_quote_trade_and_bar(live: Live) -> None:
    client = stocks(live)
    symbols = ["AAPL", "MSFT", "NOPE"]
    quotes = client.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=symbols))
    assert isinstance(quotes, dict)
    assert {s: quote_values(q) for s, q in quotes.items()} == {
        s: stored_quote(_latest(live, Quote, s)) for s in ("AAPL", "MSFT")
    }
    assert quotes["AAPL"].ask_exchange == "Q"
    assert quotes["AAPL"].tape == "C"
    trades = client.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=symbols))
    assert isinstance(trades, dict)
    assert {s: trade_values(t) for s, t in trades.items()} == {
        s: stored_trade(_latest(live, Trade, s)) for s in ("AAPL", "MSFT")
    }
    bars = client.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols="AAPL"))
    assert isinstance(bars, dict)
    newest = live.bars_of("AAPL", Timeframe.MINUTE, NOW - timedelta(minutes=1))
    assert [b.start for b in newest] == [datetime(2026, 1, 5, 14, 59, tzinfo=UTC)]
    assert bar_values(bars["AAPL"]) == stored_values(newest[0])


def test_snapshot(live: Live) -> None:
    request = StockSnapshotRequest(symbol_or_symbols=["AAPL", "NOPE"])
    snapshots = stocks(live).get_stock_snapshot(request)
    assert isinstance(snapshots, dict)
    assert list(snapshots) == ["AAPL"]
    snap = snapshots["AAPL"]
    assert isinstance(snap, Snapshot)
    assert snap.latest_trade is not None
    assert snap.latest_quote is not None
    assert snap.minute_bar is not None
    assert snap.daily_bar is not None
    assert snap.previous_daily_bar is not None
    assert trade_values(snap.latest_trade) == stored_trade(_latest(live, Trade, "AAPL"))
    assert quote_values(snap.latest_quote) == stored_quote(_latest(live, Quote, "AAPL"))
    days = live.bars_of("AAPL", Timeframe.DAY, datetime(2026, 1, 1, tzinfo=UTC))
    assert [bar_values(snap.previous_daily_bar), bar_values(snap.daily_bar)] == [
        stored_values(b) for b in days[-2:]
    ]
    assert snap.daily_bar.timestamp == datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
    assert snap.minute_bar.timestamp == datetime(2026, 1, 5, 14, 59, tzinfo=UTC)


def test_recent_quotes_and_trades(live: Live) -> None:
    client = stocks(live)
    since = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    quotes = client.get_stock_quotes(StockQuotesRequest(symbol_or_symbols="AAPL", start=since))
    assert isinstance(quotes, QuoteSet)
    stored = [t for t in live.ticks if isinstance(t, Quote) and t.symbol == "AAPL"]
    assert [quote_values(q) for q in quotes["AAPL"]] == [stored_quote(q) for q in stored]
    request = StockTradesRequest(symbol_or_symbols=["AAPL", "MSFT"], start=since)
    # pages of two: the first ends between two trades that share a timestamp
    trades = TradeSet(all_pages(client, "/stocks/trades", request, 2))
    for symbol in ("AAPL", "MSFT"):
        expected = [t for t in live.ticks if isinstance(t, Trade) and t.symbol == symbol]
        assert [trade_values(t) for t in trades[symbol]] == [stored_trade(t) for t in expected]


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeframe", "text"), [(TimeFrame(5, TimeFrameUnit.Minute), "5Min"), (TimeFrame.Week, "1Week")]
)
def test_a_bad_request_is_an_api_error_with_our_message(
    live: Live, timeframe: TimeFrame, text: str
) -> None:
    request = StockBarsRequest(symbol_or_symbols="AAPL", timeframe=timeframe)
    with pytest.raises(APIError) as raised:
        stocks(live).get_stock_bars(request)
    assert raised.value.status_code == 400
    assert raised.value.code == 40010001
    assert raised.value.message == f"unsupported timeframe '{text}'; use 1Min, 1Hour or 1Day"


def test_a_wrong_key_is_refused_and_a_key_without_the_data_scope_forbidden(live: Live) -> None:
    request = StockLatestQuoteRequest(symbol_or_symbols="AAPL")
    wrong = StockHistoricalDataClient(live.key_id, "not-the-secret", url_override=live.url)
    with pytest.raises(APIError) as raised:
        wrong.get_stock_latest_quote(request)
    assert (raised.value.status_code, raised.value.code) == (401, 40110000)
    assert raised.value.message == "the API key is not valid"
    trade_only = StockHistoricalDataClient(*live.trade_key, url_override=live.url)
    with pytest.raises(APIError) as raised:
        trade_only.get_stock_latest_quote(request)
    assert (raised.value.status_code, raised.value.code) == (403, 40310000)


# -- crypto -----------------------------------------------------------------------------------


def test_the_crypto_client_reads_bars_quotes_and_snapshots(live: Live) -> None:
    client = CryptoHistoricalDataClient(live.key_id, live.secret, url_override=live.url)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    request = CryptoBarsRequest(symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Day, start=since)
    bars = barset(client.get_crypto_bars(request))
    expected = live.bars_of("BTC/USD", Timeframe.DAY, since)
    assert len(expected) == 3
    assert [bar_values(b) for b in bars["BTC/USD"]] == [stored_values(b) for b in expected]
    quotes = client.get_crypto_latest_quote(CryptoLatestQuoteRequest(symbol_or_symbols="BTC/USD"))
    assert isinstance(quotes, dict)
    assert quote_values(quotes["BTC/USD"]) == stored_quote(_latest(live, Quote, "BTC/USD"))
    snapshots = client.get_crypto_snapshot(CryptoSnapshotRequest(symbol_or_symbols="BTC/USD"))
    assert isinstance(snapshots, dict)
    snap = snapshots["BTC/USD"]
    assert snap.latest_trade is not None
    assert trade_values(snap.latest_trade) == stored_trade(_latest(live, Trade, "BTC/USD"))
    assert snap.daily_bar is not None
    assert bar_values(snap.daily_bar) == stored_values(expected[-1])
