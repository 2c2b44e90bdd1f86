"""The native market data routes, on both databases, through the whole app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from finplat.kernel import ManualClock
from finplat.marketdata.bars import save_bars
from finplat.marketdata.domain import Bar, Quote, Timeframe, Trade
from finplat.marketdata.instruments import import_instruments
from finplat.platform.db import Database
from tests.support.http import assert_problem
from tests.support.identity import Harness, bearer, identity_harness

D = Decimal
DEMO = Path("data/instruments/demo.csv").read_text(encoding="utf-8")
FRIDAY = datetime(2026, 1, 2, 5, tzinfo=UTC)


@pytest.fixture
async def harness(
    database: Database, database_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Harness]:
    async with identity_harness(database_url, tmp_path, clock) as running:
        kit = running.platform.marketdata
        async with kit.uows() as uow:
            await import_instruments(uow, DEMO, now=clock.now())
            await save_bars(
                uow.session,
                [
                    Bar("AAPL", Timeframe.DAY, FRIDAY - timedelta(days=n), *prices, D(1000), 9, p)
                    for n, p in enumerate((D("243.10"), D("242.00"), D("241.50")))
                    for prices in [(p, p + 1, p - 1, p)]
                ],
            )
        yield running


@pytest.fixture
async def headers(harness: Harness) -> dict[str, str]:
    await harness.sign_up_and_verify("trader@example.com")
    tokens = await harness.tokens("trader@example.com")
    return bearer(tokens["access_token"])


async def test_market_data_needs_a_signed_in_caller(harness: Harness) -> None:
    response = await harness.http.get("/api/v1/marketdata/instruments")
    assert_problem(response, 401, "unauthenticated")


async def test_instruments_list_search_and_lookup(
    harness: Harness, headers: dict[str, str]
) -> None:
    listed = (await harness.http.get("/api/v1/marketdata/instruments", headers=headers)).json()
    assert len(listed) == 27
    crypto = await harness.http.get(
        "/api/v1/marketdata/instruments", params={"asset_class": "crypto"}, headers=headers
    )
    assert [i["symbol"] for i in crypto.json()] == ["BTC/USD", "ETH/USD", "SOL/USD"]
    found = await harness.http.get(
        "/api/v1/marketdata/instruments", params={"search": "micro"}, headers=headers
    )
    assert {i["symbol"] for i in found.json()} >= {"MSFT"}
    btc = (await harness.http.get("/api/v1/marketdata/instruments/btc/usd", headers=headers)).json()
    assert btc["symbol"] == "BTC/USD"
    assert btc["tick_size"] == "0.01"
    assert btc["lot_size"] == "0.000000001"
    assert btc["shortable"] is False
    missing = await harness.http.get("/api/v1/marketdata/instruments/NOPE", headers=headers)
    assert_problem(missing, 404, "instrument_not_found")


async def test_bars_latest_and_paged(harness: Harness, headers: dict[str, str]) -> None:
    latest = await harness.http.get(
        "/api/v1/marketdata/bars/AAPL", params={"limit": 2}, headers=headers
    )
    body = latest.json()
    assert [b["close"] for b in body["bars"]] == ["242.00", "243.10"]
    assert body["next_page_token"] is None
    first = await harness.http.get(
        "/api/v1/marketdata/bars/AAPL",
        params={"start": "2025-12-01T00:00:00Z", "limit": 2},
        headers=headers,
    )
    page = first.json()
    assert [b["close"] for b in page["bars"]] == ["241.50", "242.00"]
    assert page["bars"][0] == {
        "start": "2025-12-31T05:00:00Z",
        "open": "241.50",
        "high": "242.50",
        "low": "240.50",
        "close": "241.50",
        "volume": "1000",
        "trade_count": 9,
        "vwap": "241.50",
    }
    rest = await harness.http.get(
        "/api/v1/marketdata/bars/AAPL",
        params={"start": "2025-12-01T00:00:00Z", "limit": 2, "page_token": page["next_page_token"]},
        headers=headers,
    )
    assert [b["close"] for b in rest.json()["bars"]] == ["243.10"]
    assert rest.json()["next_page_token"] is None


async def test_bad_bar_requests_are_refused(harness: Harness, headers: dict[str, str]) -> None:
    path = "/api/v1/marketdata/bars/AAPL"
    bad_frame = await harness.http.get(path, params={"timeframe": "5Min"}, headers=headers)
    assert_problem(bad_frame, 422, "invalid_timeframe")
    bad_token = await harness.http.get(path, params={"page_token": "!!!"}, headers=headers)
    assert_problem(bad_token, 422, "invalid_page_token")
    backwards = await harness.http.get(
        path,
        params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        headers=headers,
    )
    assert_problem(backwards, 422, "invalid_range")
    too_many = await harness.http.get(path, params={"limit": 10_001}, headers=headers)
    assert_problem(too_many, 422, "validation_error")


async def test_quotes_snapshot_clock_and_calendar(
    harness: Harness, headers: dict[str, str], clock: ManualClock
) -> None:
    kit = harness.platform.marketdata
    now = clock.now()  # Monday 2026-01-05 09:30 New York: the market has just opened
    await kit.cache.put(Quote("AAPL", D("244.00"), D(100), D("244.02"), D(300), now, "test"))
    await kit.cache.put(Trade("AAPL", D("244.01"), D(5), now, 1, "test"))
    quotes = await harness.http.get(
        "/api/v1/marketdata/quotes/latest", params={"symbols": "aapl,MSFT"}, headers=headers
    )
    assert quotes.json() == {
        "AAPL": {
            "bid_price": "244.00",
            "bid_size": "100",
            "ask_price": "244.02",
            "ask_size": "300",
            "timestamp": "2026-01-05T14:30:00Z",
            "stale": False,
        }
    }
    snap = (await harness.http.get("/api/v1/marketdata/snapshots/AAPL", headers=headers)).json()
    assert snap["market_open"] is True
    assert snap["latest_trade"]["price"] == "244.01"
    assert snap["daily_bar"]["close"] == "243.10"  # no trade has formed today's bar here
    assert snap["previous_daily_bar"]["close"] == "242.00"
    assert (snap["change"], snap["change_percent"]) == ("0.91", "0.37")
    market = (await harness.http.get("/api/v1/marketdata/clock", headers=headers)).json()
    assert market == {
        "asset_class": "us_equity",
        "timestamp": "2026-01-05T14:30:00Z",
        "is_open": True,
        "next_open": "2026-01-06T14:30:00Z",
        "next_close": "2026-01-05T21:00:00Z",
    }
    calendar = await harness.http.get(
        "/api/v1/marketdata/calendar",
        params={"start": "2026-11-25", "end": "2026-11-30"},
        headers=headers,
    )
    sessions = {s["date"]: s for s in calendar.json()}
    assert list(sessions) == ["2026-11-25", "2026-11-27", "2026-11-30"]  # Thanksgiving shut
    assert sessions["2026-11-27"]["early_close"] is True
    assert sessions["2026-11-27"]["close"] == "2026-11-27T18:00:00Z"
