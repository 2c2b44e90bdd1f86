"""The Alpaca-compatible market data API (/v2/stocks, /v1beta3/crypto/us) on both databases,
through the app's HTTP stack: wire shapes, exact numbers, pages, errors in Alpaca's shape."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from finplat.app import Platform, build_platform, create_app
from finplat.identity import ApiKeyScope
from finplat.identity.accounts import create_user
from finplat.identity.apikeys import create_key_for_email
from finplat.kernel import ManualClock
from finplat.marketdata.bars import save_bars
from finplat.marketdata.domain import AssetClass, Bar, Instrument, Quote, Timeframe, Trade
from finplat.marketdata.instruments import upsert_instrument
from finplat.marketdata.live import LiveBars
from finplat.platform.db import Database
from tests.support.http import assert_problem
from tests.support.identity import PASSWORD, identity_settings

NEW_YORK = ZoneInfo("America/New_York")
D = Decimal


def _instrument(
    symbol: str, exchange: str, asset_class: AssetClass = AssetClass.US_EQUITY
) -> Instrument:
    crypto = asset_class is AssetClass.CRYPTO
    return Instrument(
        symbol=symbol,
        name=f"{symbol} test listing",
        asset_class=asset_class,
        exchange=exchange,
        currency="USD",
        tick_size=D("0.01"),
        lot_size=D("0.00000001") if crypto else D(1),
        fractionable=crypto,
        shortable=not crypto,
    )


def _day(symbol: str, day: str, ohlc: str, volume: str, count: int, vwap: str) -> Bar:
    o, h, low, c = (D(x) for x in ohlc.split())
    start = datetime.fromisoformat(day).replace(tzinfo=NEW_YORK).astimezone(UTC)
    if symbol == "BTC/USD":
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return Bar(symbol, Timeframe.DAY, start, o, h, low, c, D(volume), count, D(vwap))


def _minute(symbol: str, minute: int, close: str) -> Bar:
    start = datetime(2026, 1, 5, 14, minute, tzinfo=UTC)
    price = D(close)
    return Bar(symbol, Timeframe.MINUTE, start, price, price, price, price, D(100), 1, price)


DAYS = [
    _day("AAPL", "2025-12-31", "271.01 272.5 269.88 270.97", "1234567.5", 4567, "271.123456789"),
    _day("AAPL", "2026-01-02", "271 274.1 270.2 273.4", "2000000", 5000, "272.25"),
    _day("AAPL", "2026-01-05", "273.5 274 273.1 273.9", "15000", 120, "273.6"),
    # 17 significant digits: a float would round the volume to 98765432.12345679
    _day("IBM", "2026-01-02", "301.1 303.33 300.07 302.92", "98765432.123456789", 777, "301.5"),
    _day("IBM", "2026-01-05", "303 304 302.5 303.5", "1000", 10, "303.25"),
    _day("BTC/USD", "2026-01-04", "91000 92500.5 90100.25 92000", "12.34567891", 300, "91500.5"),
]
MINUTES = [_minute("AAPL", m, f"273.{m}") for m in range(25, 30)]
AAPL_QUOTE = Quote(
    "AAPL",
    D("273.88"),
    D(300),
    D("273.9"),
    D(200),
    datetime(2026, 1, 5, 14, 29, 59, 123456, tzinfo=UTC),
)
BTC_QUOTE = Quote(
    "BTC/USD",
    D("91999.5"),
    D("0.5"),
    D("92000.25"),
    D("1.25"),
    datetime(2026, 1, 5, 14, 29, tzinfo=UTC),
)


def _trade(symbol: str, second: int, price: str, trade_id: int, size: str = "10") -> Trade:
    return Trade(
        symbol, D(price), D(size), datetime(2026, 1, 5, 14, 29, second, tzinfo=UTC), trade_id
    )


# AAPL trades 2 and 3 share a timestamp: a page may end between them
TRADES = [
    _trade("AAPL", 1, "273.8", 1),
    _trade("AAPL", 2, "273.81", 2),
    _trade("AAPL", 2, "273.82", 3),
    _trade("AAPL", 3, "273.83", 4, size="0.5"),
    _trade("IBM", 1, "303.5", 9),
]


@dataclass
class Api:
    http: httpx.AsyncClient
    platform: Platform
    headers: dict[str, str]

    async def get(self, path: str, **params: str | int) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers)

    async def ok(self, path: str, **params: str | int) -> Any:
        response = await self.get(path, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        return response.json()


async def seed(platform: Platform) -> None:
    kit = platform.marketdata
    async with platform.uows() as uow:
        for instrument in (
            _instrument("AAPL", "XNAS"),
            _instrument("IBM", "XNYS"),
            _instrument("BTC/USD", "CRYPTO", AssetClass.CRYPTO),
        ):
            await upsert_instrument(uow, instrument, now=platform.clock.now())
        await save_bars(uow.session, [*DAYS, *MINUTES])
        await create_user(
            platform.identity,
            uow,
            email="quant@example.com",
            password=PASSWORD,
            verified=True,
            actor_type="system",
        )
    ticks: list[Quote | Trade] = [AAPL_QUOTE, BTC_QUOTE, *TRADES]
    for tick in ticks:
        await kit.cache.put(tick)


async def _key(platform: Platform, *scopes: ApiKeyScope) -> dict[str, str]:
    key = await create_key_for_email(
        platform.identity, "quant@example.com", scopes=scopes, name="t", expires_in=None
    )
    return {"APCA-API-KEY-ID": key.key_id, "APCA-API-SECRET-KEY": key.secret}


@pytest.fixture
async def api(
    database: Database, database_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Api]:
    settings = identity_settings(database_url, tmp_path)
    platform = build_platform(settings, clock=clock)
    try:
        await seed(platform)
        headers = await _key(platform, ApiKeyScope.DATA)
        # No lifespan: the live feed stays off, so the cache and bars hold only the seed.
        app = create_app(settings, platform=platform)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http, platform, headers)
    finally:
        await platform.database.dispose()


def assert_alpaca_error(response: httpx.Response, status: int, code: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"code": code, "message": message}


# -- bars ---------------------------------------------------------------------------------------


async def test_daily_bars_are_keyed_by_symbol_with_exact_numbers(api: Api) -> None:
    response = await api.get(
        "/v2/stocks/bars", symbols="ibm,AAPL", timeframe="1Day", start="2025-12-31"
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "bars": {
            "AAPL": [
                {
                    "t": "2025-12-31T05:00:00Z",
                    "o": 271.01,
                    "h": 272.5,
                    "l": 269.88,
                    "c": 270.97,
                    "v": 1234567.5,
                    "n": 4567,
                    "vw": 271.123456789,
                },
                {
                    "t": "2026-01-02T05:00:00Z",
                    "o": 271,
                    "h": 274.1,
                    "l": 270.2,
                    "c": 273.4,
                    "v": 2000000,
                    "n": 5000,
                    "vw": 272.25,
                },
                {
                    "t": "2026-01-05T05:00:00Z",
                    "o": 273.5,
                    "h": 274,
                    "l": 273.1,
                    "c": 273.9,
                    "v": 15000,
                    "n": 120,
                    "vw": 273.6,
                },
            ],
            "IBM": [
                {
                    "t": "2026-01-02T05:00:00Z",
                    "o": 301.1,
                    "h": 303.33,
                    "l": 300.07,
                    "c": 302.92,
                    "v": float("98765432.123456789"),
                    "n": 777,
                    "vw": 301.5,
                },
                {
                    "t": "2026-01-05T05:00:00Z",
                    "o": 303,
                    "h": 304,
                    "l": 302.5,
                    "c": 303.5,
                    "v": 1000,
                    "n": 10,
                    "vw": 303.25,
                },
            ],
        },
        "next_page_token": None,
    }
    # the number text is the Decimal's, digit for digit
    assert '"v":98765432.123456789,' in response.text


async def test_pages_run_by_symbol_then_time_and_end_without_a_token(api: Api) -> None:
    query: dict[str, str | int] = {
        "symbols": "AAPL,IBM",
        "timeframe": "1Day",
        "start": "2025-12-01",
        "limit": 2,
    }
    seen: list[tuple[str, str]] = []
    pages = 0
    token = ""
    while True:
        page = await api.ok("/v2/stocks/bars", **query, **({"page_token": token} if token else {}))
        pages += 1
        bars = page["bars"]
        assert isinstance(bars, dict)
        seen += [(symbol, bar["t"]) for symbol, items in bars.items() for bar in items]
        if page["next_page_token"] is None:
            break
        token = str(page["next_page_token"])
    assert pages == 3
    assert seen == [
        ("AAPL", "2025-12-31T05:00:00Z"),
        ("AAPL", "2026-01-02T05:00:00Z"),
        ("AAPL", "2026-01-05T05:00:00Z"),
        ("IBM", "2026-01-02T05:00:00Z"),
        ("IBM", "2026-01-05T05:00:00Z"),
    ]


async def test_descending_pages_keep_symbols_in_order(api: Api) -> None:
    query = {"symbols": "AAPL,IBM", "timeframe": "1Day", "start": "2025-12-01", "sort": "desc"}
    first = await api.ok("/v2/stocks/bars", **query, limit=4)
    assert {s: [b["t"][:10] for b in items] for s, items in first["bars"].items()} == {
        "AAPL": ["2026-01-05", "2026-01-02", "2025-12-31"],
        "IBM": ["2026-01-05"],
    }
    rest = await api.ok(
        "/v2/stocks/bars", **query, limit=4, page_token=str(first["next_page_token"])
    )
    assert rest == {
        "bars": {
            "IBM": [
                {
                    "t": "2026-01-02T05:00:00Z",
                    "o": 301.1,
                    "h": 303.33,
                    "l": 300.07,
                    "c": 302.92,
                    "v": float("98765432.123456789"),
                    "n": 777,
                    "vw": 301.5,
                }
            ]
        },
        "next_page_token": None,
    }


async def test_end_is_inclusive_and_start_defaults_to_today(api: Api) -> None:
    upto = await api.ok(
        "/v2/stocks/bars",
        symbols="AAPL",
        timeframe="1Min",
        start="2026-01-05T14:26:00Z",
        end="2026-01-05T14:28:00+00:00",
    )
    assert [b["c"] for b in upto["bars"]["AAPL"]] == [273.26, 273.27, 273.28]
    today = await api.ok("/v2/stocks/bars", symbols="AAPL", timeframe="1Day")
    assert [b["t"] for b in today["bars"]["AAPL"]] == ["2026-01-05T05:00:00Z"]


async def test_the_bar_forming_now_replaces_its_saved_state(api: Api) -> None:
    kit = api.platform.marketdata
    kit.live = LiveBars({"AAPL": NEW_YORK})
    kit.live.add(Trade("AAPL", D("273.95"), D(7), datetime(2026, 1, 5, 14, 29, 40, tzinfo=UTC)))
    page = await api.ok("/v2/stocks/bars", symbols="AAPL", timeframe="1Min", limit=3, sort="desc")
    assert page["bars"] == {
        "AAPL": [
            {
                "t": "2026-01-05T14:29:00Z",
                "o": 273.95,
                "h": 273.95,
                "l": 273.95,
                "c": 273.95,
                "v": 7,
                "n": 1,
                "vw": 273.95,
            },
            {
                "t": "2026-01-05T14:28:00Z",
                "o": 273.28,
                "h": 273.28,
                "l": 273.28,
                "c": 273.28,
                "v": 100,
                "n": 1,
                "vw": 273.28,
            },
            {
                "t": "2026-01-05T14:27:00Z",
                "o": 273.27,
                "h": 273.27,
                "l": 273.27,
                "c": 273.27,
                "v": 100,
                "n": 1,
                "vw": 273.27,
            },
        ]
    }
    ascending = await api.ok("/v2/stocks/bars", symbols="AAPL", timeframe="1Min")
    assert [b["c"] for b in ascending["bars"]["AAPL"]] == [273.25, 273.26, 273.27, 273.28, 273.95]


async def test_unknown_symbols_give_an_empty_result(api: Api) -> None:
    for symbols in ("ZZZZ", "BTC/USD"):  # not listed; not a stock
        page = await api.ok(
            "/v2/stocks/bars", symbols=symbols, timeframe="1Day", start="2025-01-01"
        )
        assert page == {"bars": {}, "next_page_token": None}
    assert await api.ok("/v2/stocks/quotes/latest", symbols="ZZZZ") == {"quotes": {}}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"timeframe": "5Min"}, "unsupported timeframe '5Min'; use 1Min, 1Hour or 1Day"),
        ({"timeframe": ""}, "missing timeframe"),
        ({"symbols": ""}, "missing symbols"),
        ({"symbols": "AAPL,A$B"}, "invalid symbol: A$B"),
        ({"limit": "0"}, "invalid limit: '0'; it must be between 1 and 10000"),
        ({"limit": "10001"}, "invalid limit: '10001'; it must be between 1 and 10000"),
        ({"limit": "ten"}, "invalid limit: 'ten'; it must be between 1 and 10000"),
        ({"sort": "up"}, "invalid sort: 'up'; use asc or desc"),
        ({"start": "yesterday"}, "invalid start: 'yesterday' is neither RFC 3339 nor YYYY-MM-DD"),
        (
            {"start": "2026-01-05T10:00:00"},
            "invalid start: '2026-01-05T10:00:00' has no time zone offset (RFC 3339 needs one)",
        ),
        ({"start": "2026-01-05", "end": "2026-01-02"}, "end should not be before start"),
        ({"feed": "nasdaq"}, "invalid feed: 'nasdaq'"),
        ({"adjustment": "reverse"}, "invalid adjustment: 'reverse'"),
        ({"asof": "last week"}, "invalid asof: 'last week'; use YYYY-MM-DD"),
        ({"currency": "EUR"}, "unsupported currency: 'EUR'; prices are in USD"),
        ({"page_token": "not-a-token"}, "invalid page_token"),
        (
            {
                "page_token": base64.b64encode(
                    json.dumps(["MSFT", "2026-01-02T05:00:00+00:00", 0]).encode()
                ).decode()
            },
            "invalid page_token",
        ),
        (
            {
                "page_token": base64.b64encode(
                    json.dumps(["AAPL", "2026-01-02T05:00:00", 0]).encode()
                ).decode()
            },
            "invalid page_token",
        ),
    ],
)
async def test_bad_requests_get_400_in_alpacas_shape(
    api: Api, params: dict[str, str], message: str
) -> None:
    query = {"symbols": "AAPL", "timeframe": "1Day", **params}
    assert_alpaca_error(await api.get("/v2/stocks/bars", **query), 400, 40010001, message)


async def test_options_that_change_nothing_are_accepted(api: Api) -> None:
    page = await api.ok(
        "/v2/stocks/bars",
        symbols="IBM",
        timeframe="1D",
        start="2026-01-05",
        feed="sip",
        adjustment="split,dividend",
        asof="2026-01-05",
        currency="USD",
    )
    assert [b["t"] for b in page["bars"]["IBM"]] == ["2026-01-05T05:00:00Z"]


# -- quotes, trades, latest, snapshots ----------------------------------------------------------


async def test_trades_page_through_ticks_that_share_a_timestamp(api: Api) -> None:
    ids: list[int] = []
    token = ""
    while True:
        extra = {"page_token": token} if token else {}
        page = await api.ok("/v2/stocks/trades", symbols="AAPL,IBM", limit=2, **extra)
        ids += [t["i"] for items in page["trades"].values() for t in items]
        if page["next_page_token"] is None:
            break
        token = str(page["next_page_token"])
    assert ids == [1, 2, 3, 4, 9]
    newest_first = await api.ok("/v2/stocks/trades", symbols="AAPL", limit=2, sort="desc")
    assert [t["i"] for t in newest_first["trades"]["AAPL"]] == [4, 3]
    rest = await api.ok(
        "/v2/stocks/trades",
        symbols="AAPL",
        sort="desc",
        page_token=str(newest_first["next_page_token"]),
    )
    assert [t["i"] for t in rest["trades"]["AAPL"]] == [2, 1]
    assert rest["trades"]["AAPL"][1] == {
        "t": "2026-01-05T14:29:01Z",
        "p": 273.8,
        "s": 10,
        "i": 1,
        "x": "Q",
        "c": [],
        "z": "C",
    }


async def test_quotes_and_latest_ticks(api: Api) -> None:
    expected_quote = {
        "t": "2026-01-05T14:29:59.123456Z",
        "bp": 273.88,
        "bs": 300,
        "ap": 273.9,
        "as": 200,
        "ax": "Q",
        "bx": "Q",
        "c": [],
        "z": "C",
    }
    assert await api.ok("/v2/stocks/quotes", symbols="AAPL") == {
        "quotes": {"AAPL": [expected_quote]},
        "next_page_token": None,
    }
    assert await api.ok("/v2/stocks/quotes/latest", symbols="AAPL,IBM,ZZZZ") == {
        "quotes": {"AAPL": expected_quote}
    }
    latest = await api.ok("/v2/stocks/trades/latest", symbols="AAPL,IBM")
    assert latest == {
        "trades": {
            "AAPL": {
                "t": "2026-01-05T14:29:03Z",
                "p": 273.83,
                "s": 0.5,
                "i": 4,
                "x": "Q",
                "c": [],
                "z": "C",
            },
            "IBM": {
                "t": "2026-01-05T14:29:01Z",
                "p": 303.5,
                "s": 10,
                "i": 9,
                "x": "N",
                "c": [],
                "z": "A",
            },
        }
    }
    bars = await api.ok("/v2/stocks/bars/latest", symbols="AAPL,IBM")
    assert bars == {
        "bars": {
            "AAPL": {
                "t": "2026-01-05T14:29:00Z",
                "o": 273.29,
                "h": 273.29,
                "l": 273.29,
                "c": 273.29,
                "v": 100,
                "n": 1,
                "vw": 273.29,
            }
        }
    }


async def test_snapshots_carry_the_latest_of_everything_and_null_for_unknowns(api: Api) -> None:
    snaps = await api.ok("/v2/stocks/snapshots", symbols="IBM,ZZZZ")
    assert snaps == {
        "IBM": {
            "latestTrade": {
                "t": "2026-01-05T14:29:01Z",
                "p": 303.5,
                "s": 10,
                "i": 9,
                "x": "N",
                "c": [],
                "z": "A",
            },
            "latestQuote": None,
            "minuteBar": None,
            "dailyBar": {
                "t": "2026-01-05T05:00:00Z",
                "o": 303,
                "h": 304,
                "l": 302.5,
                "c": 303.5,
                "v": 1000,
                "n": 10,
                "vw": 303.25,
            },
            "prevDailyBar": {
                "t": "2026-01-02T05:00:00Z",
                "o": 301.1,
                "h": 303.33,
                "l": 300.07,
                "c": 302.92,
                "v": float("98765432.123456789"),
                "n": 777,
                "vw": 301.5,
            },
        },
        "ZZZZ": None,
    }


async def test_crypto_lives_under_v1beta3_in_its_own_shapes(api: Api) -> None:
    bars = await api.ok(
        "/v1beta3/crypto/us/bars", symbols="BTC/USD", timeframe="1Day", start="2026-01-04"
    )
    assert bars == {
        "bars": {
            "BTC/USD": [
                {
                    "t": "2026-01-04T00:00:00Z",
                    "o": 91000,
                    "h": 92500.5,
                    "l": 90100.25,
                    "c": 92000,
                    "v": 12.34567891,
                    "n": 300,
                    "vw": 91500.5,
                }
            ]
        },
        "next_page_token": None,
    }
    quote = {"t": "2026-01-05T14:29:00Z", "bp": 91999.5, "bs": 0.5, "ap": 92000.25, "as": 1.25}
    assert await api.ok("/v1beta3/crypto/us/latest/quotes", symbols="BTC/USD,AAPL") == {
        "quotes": {"BTC/USD": quote}
    }
    snaps = await api.ok("/v1beta3/crypto/us/snapshots", symbols="BTC/USD")
    assert snaps["snapshots"]["BTC/USD"]["latestQuote"] == quote
    assert snaps["snapshots"]["BTC/USD"]["dailyBar"]["c"] == 92000


# -- access -----------------------------------------------------------------------------------


async def test_callers_need_a_valid_key_with_the_data_scope(api: Api) -> None:
    query = {"symbols": "AAPL"}
    anonymous = await api.http.get("/v2/stocks/quotes/latest", params=query)
    assert_alpaca_error(anonymous, 401, 40110000, "sign in, or send an API key")
    wrong = {**api.headers, "APCA-API-SECRET-KEY": "not-the-secret"}
    response = await api.http.get("/v2/stocks/quotes/latest", params=query, headers=wrong)
    assert_alpaca_error(response, 401, 40110000, "the API key is not valid")
    trade_only = await _key(api.platform, ApiKeyScope.TRADE)
    response = await api.http.get("/v2/stocks/quotes/latest", params=query, headers=trade_only)
    assert_alpaca_error(
        response, 403, 40310000, "this action needs the 'marketdata:read' permission"
    )


async def test_unknown_paths_answer_in_alpacas_shape_and_the_native_api_does_not(api: Api) -> None:
    assert_alpaca_error(await api.get("/v2/stocks/AAPL/nothing"), 404, 40410000, "Not Found")
    assert_problem(await api.get("/api/v1/nothing"), 404, "not_found")
