"""The Alpaca-compatible trading API (/v2) on both databases, through the app's HTTP stack:
Alpaca's wire shapes, exact decimals, status codes and error bodies, on a funded paper
customer. The venue records orders and fills nothing; fills are reported through the
service as a venue would (`apply_execution`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from finplat import trading
from finplat.app import Platform, build_platform, create_app
from finplat.identity import ApiKeyScope
from finplat.kernel import ManualClock
from finplat.platform.db import Database
from finplat.trading.venue import Execution
from tests.support.alpaca_trading import (
    AAPL,
    BTC,
    RecordingVenue,
    alpaca_headers,
    api_key,
    mount_alpaca,
    paper_trader,
    seed_market,
)
from tests.support.identity import identity_settings

D = Decimal
OPEN = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # Monday 09:30 New York, the open
EMAIL = "algo@example.com"


@dataclass
class Api:
    http: httpx.AsyncClient
    platform: Platform
    user_id: uuid.UUID
    headers: dict[str, str]
    venue: RecordingVenue
    internal: RecordingVenue
    clock: ManualClock

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=self.headers, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    async def order(self, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok("POST", "/v2/orders", json=body)
        return result

    async def raw_order(self, text: str) -> httpx.Response:
        headers = {**self.headers, "content-type": "application/json"}
        return await self.http.post("/v2/orders", content=text, headers=headers)

    async def account(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok("GET", "/v2/account")
        return result

    async def fill(self, order_id: str, n: int, qty: str, price: str, **kw: Any) -> None:
        execution = Execution(
            uuid.UUID(order_id), f"{order_id}:{n}", D(qty), D(price), self.clock.now(), **kw
        )
        filled = await trading.apply_execution(self.platform.trading, "simulated", execution)
        assert filled is not None


@pytest.fixture
def start() -> datetime:
    return OPEN


@pytest.fixture
async def api(
    database: Database, database_url: str, tmp_path: Path, start: datetime
) -> AsyncIterator[Api]:
    clock = ManualClock(start)
    settings = identity_settings(database_url, tmp_path)
    platform = build_platform(settings, clock=clock)
    venue, internal = RecordingVenue("simulated"), RecordingVenue("internal", False)
    platform.trading.venues.update({"simulated": venue, "internal": internal})
    try:
        await seed_market(platform)
        user_id = await paper_trader(platform, EMAIL, D(100_000))
        headers = alpaca_headers(await api_key(platform, EMAIL, ApiKeyScope.TRADE))
        app = create_app(settings, platform=platform)
        mount_alpaca(app)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http, platform, user_id, headers, venue, internal, clock)
    finally:
        await platform.database.dispose()


def assert_alpaca_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    code = 40010001 if status == 400 else status * 100_000 + 10_000
    assert response.json() == {"code": code, "message": message}


MARKET_BUY = {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}
LIMIT_BUY = {
    "symbol": "AAPL",
    "qty": 2,
    "side": "buy",
    "type": "limit",
    "time_in_force": "day",
    "limit_price": 190.4,
}


# -- account --------------------------------------------------------------------------------------


async def test_the_account_of_a_funded_paper_customer(api: Api) -> None:
    account = await api.account()
    number = account.pop("account_number")
    assert number.startswith("PA")
    assert len(number) == 12
    assert account == {
        "id": str(api.user_id),
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "currency": "USD",
        "buying_power": "100000.00",
        "regt_buying_power": "100000.00",
        "daytrading_buying_power": "0.00",
        "effective_buying_power": "100000.00",
        "non_marginable_buying_power": "100000.00",
        "options_buying_power": "100000.00",
        "cash": "100000.00",
        "accrued_fees": "0.00",
        "pending_transfer_in": "0.00",
        "pending_transfer_out": "0.00",
        "portfolio_value": "100000.00",
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": True,
        "account_blocked": False,
        "created_at": "2026-01-05T14:30:00Z",
        "trade_suspended_by_user": False,
        "multiplier": "1",
        "shorting_enabled": False,
        "equity": "100000.00",
        "last_equity": "100000.00",
        "long_market_value": "0.00",
        "short_market_value": "0.00",
        "position_market_value": "0.00",
        "initial_margin": "0.00",
        "maintenance_margin": "0.00",
        "last_maintenance_margin": "0.00",
        "sma": "0.00",
        "daytrade_count": 0,
        "balance_asof": "2026-01-05",
        "options_approved_level": 0,
        "options_trading_level": 0,
    }


async def test_credentials_and_scopes_are_checked_in_alpacas_shape(api: Api) -> None:
    response = await api.http.get("/v2/account")
    assert response.status_code == 401
    assert response.json()["code"] == 40110000
    data_only = alpaca_headers(await api_key(api.platform, EMAIL, ApiKeyScope.DATA))
    response = await api.http.get("/v2/account", headers=data_only)
    assert response.status_code == 403
    assert response.json()["code"] == 40310000
    read_only = alpaca_headers(await api_key(api.platform, EMAIL, ApiKeyScope.READ))
    assert (await api.http.get("/v2/account", headers=read_only)).status_code == 200
    refused = await api.http.post("/v2/orders", json=LIMIT_BUY, headers=read_only)
    assert refused.status_code == 403


# -- submitting -----------------------------------------------------------------------------------


async def test_a_limit_order_in_alpacas_shape(api: Api) -> None:
    order = await api.order(**LIMIT_BUY, client_order_id="first")
    assert uuid.UUID(order["id"]).version == 7
    assert order == {
        "id": order["id"],
        "client_order_id": "first",
        "created_at": "2026-01-05T14:30:00Z",
        "updated_at": "2026-01-05T14:30:00Z",
        "submitted_at": "2026-01-05T14:30:00Z",
        "filled_at": None,
        "expired_at": None,
        "canceled_at": None,
        "failed_at": None,
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "asset_id": str(AAPL.id),
        "symbol": "AAPL",
        "asset_class": "us_equity",
        "notional": None,
        "qty": "2",
        "filled_qty": "0",
        "filled_avg_price": None,
        "order_class": "simple",
        "order_type": "limit",
        "type": "limit",
        "side": "buy",
        "time_in_force": "day",
        "limit_price": "190.4",
        "stop_price": None,
        "status": "new",
        "extended_hours": False,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
        "expires_at": None,
        "subtag": None,
        "source": None,
    }
    assert [o.id for o in api.venue.working_orders] == [uuid.UUID(order["id"])]
    account = await api.account()
    assert (account["cash"], account["buying_power"]) == ("100000.00", "99619.20")


async def test_numbers_are_read_exactly_as_written(api: Api) -> None:
    response = await api.raw_order(
        '{"symbol": "AAPL", "qty": 0.123456789, "side": "buy", "type": "market",'
        ' "time_in_force": "day"}'
    )
    assert response.status_code == 200, response.text
    assert response.json()["qty"] == "0.123456789"
    as_text = await api.order(
        symbol="BTC/USD",
        qty="0.000000001",
        side="buy",
        type="limit",
        time_in_force="gtc",
        limit_price="91000.01",
    )
    assert (as_text["qty"], as_text["limit_price"]) == ("0.000000001", "91000.01")
    assert (as_text["asset_class"], as_text["asset_id"]) == ("crypto", str(BTC.id))


@pytest.mark.parametrize(
    ("kind", "extra", "shown"),
    [
        ("market", {}, {}),
        ("limit", {"limit_price": "190.00"}, {"limit_price": "190"}),
        ("stop", {"stop_price": 195.1}, {"stop_price": "195.1"}),
        (
            "stop_limit",
            {"stop_price": "195.00", "limit_price": "195.50"},
            {"stop_price": "195", "limit_price": "195.5"},
        ),
        ("trailing_stop", {"trail_percent": 2.5}, {"trail_percent": "2.5"}),
        ("trailing_stop", {"trail_price": "1.25"}, {"trail_price": "1.25"}),
    ],
)
async def test_every_order_type(
    api: Api, kind: str, extra: dict[str, Any], shown: dict[str, str]
) -> None:
    order = await api.order(
        symbol="AAPL", qty=1, side="buy", type=kind, time_in_force="gtc", **extra
    )
    assert (order["type"], order["order_type"], order["status"]) == (kind, kind, "new")
    prices = ("limit_price", "stop_price", "trail_price", "trail_percent")
    assert {name: order[name] for name in prices if order[name] is not None} == shown


@pytest.mark.parametrize("tif", ["day", "gtc", "ioc", "fok", "cls"])
async def test_every_time_in_force_while_the_market_is_open(api: Api, tif: str) -> None:
    order = await api.order(**{**LIMIT_BUY, "time_in_force": tif})
    assert (order["time_in_force"], order["status"]) == (tif, "new")


@pytest.mark.parametrize("start", [datetime(2026, 1, 5, 13, 0, tzinfo=UTC)])
async def test_opening_auction_orders_before_the_open(api: Api) -> None:
    order = await api.order(symbol="MSFT", qty=3, side="buy", type="market", time_in_force="opg")
    assert (order["time_in_force"], order["qty"], order["status"]) == ("opg", "3", "new")
    day = await api.call("POST", "/v2/orders", json=MARKET_BUY)
    assert day.status_code == 422
    assert day.json()["message"].startswith("the market for AAPL is closed")


async def test_opening_auction_orders_are_refused_once_the_market_is_open(api: Api) -> None:
    response = await api.call(
        "POST",
        "/v2/orders",
        json={"symbol": "MSFT", "qty": 3, "side": "buy", "type": "market", "time_in_force": "opg"},
    )
    assert_alpaca_error(response, 422, "opening-auction orders are taken only before the open")


async def test_notional_and_fractional_orders(api: Api) -> None:
    notional = await api.order(
        symbol="AAPL", notional="25.5", side="buy", type="market", time_in_force="day"
    )
    assert (notional["notional"], notional["qty"]) == ("25.5", None)
    fractional = await api.order(
        symbol="AAPL", qty="0.5", side="buy", type="market", time_in_force="day"
    )
    assert (fractional["notional"], fractional["qty"]) == (None, "0.5")
    whole_only = await api.call(
        "POST",
        "/v2/orders",
        json={
            "symbol": "MSFT",
            "qty": "0.5",
            "side": "buy",
            "type": "market",
            "time_in_force": "day",
        },
    )
    assert_alpaca_error(whole_only, 422, "MSFT trades in whole units only")


async def test_a_bracket_order_answers_with_its_legs(api: Api) -> None:
    order = await api.order(
        **LIMIT_BUY,
        order_class="bracket",
        take_profit={"limit_price": 200},
        stop_loss={"stop_price": 180, "limit_price": 179.5},
    )
    assert order["order_class"] == "bracket"
    legs = order["legs"]
    assert [(leg["side"], leg["type"], leg["status"]) for leg in legs] == [
        ("sell", "limit", "held"),
        ("sell", "stop_limit", "held"),
    ]
    assert [(leg["limit_price"], leg["stop_price"]) for leg in legs] == [
        ("200", None),
        ("179.5", "180"),
    ]
    fetched = await api.ok("GET", f"/v2/orders/{order['id']}")
    assert [leg["id"] for leg in fetched["legs"]] == [leg["id"] for leg in legs]


async def test_refusals_in_alpacas_shape_change_nothing(api: Api) -> None:
    cases = [
        ({**LIMIT_BUY, "qty": 1000}, 403, "insufficient buying power"),
        ({**LIMIT_BUY, "side": "sell"}, 403, "insufficient qty available for order"),
        ({**LIMIT_BUY, "symbol": "ZZZZ"}, 422, "no tradable asset 'ZZZZ'"),
        ({**LIMIT_BUY, "qty": -1}, 422, "qty must be positive"),
        (
            {**LIMIT_BUY, "limit_price": "190.401"},
            422,
            "limit_price 190.401 is not a multiple of 0.01",
        ),
        (
            {**LIMIT_BUY, "type": "bogus"},
            422,
            "invalid type 'bogus'; use one of market, limit, stop, stop_limit, trailing_stop",
        ),
        ({**LIMIT_BUY, "color": "red"}, 422, "unknown field: color"),
        ({**LIMIT_BUY, "qty": "lots"}, 422, "qty is not a number: 'lots'"),
    ]
    for body, status, message in cases:
        assert_alpaca_error(await api.call("POST", "/v2/orders", json=body), status, message)
    assert_alpaca_error(await api.raw_order("{not json"), 400, "request body format is invalid")
    assert await api.ok("GET", "/v2/orders", params={"status": "all"}) == []
    assert (await api.account())["buying_power"] == "100000.00"


@pytest.mark.parametrize("start", [datetime(2026, 1, 5, 21, 30, tzinfo=UTC)])
async def test_a_day_order_is_refused_when_the_market_is_closed(api: Api) -> None:
    response = await api.call("POST", "/v2/orders", json=MARKET_BUY)
    assert response.status_code == 422
    assert response.json()["message"].startswith("the market for AAPL is closed")
    waits = await api.order(**{**LIMIT_BUY, "time_in_force": "gtc"})
    assert waits["status"] == "new"


async def test_a_client_order_id_retry_returns_the_original(api: Api) -> None:
    first = await api.order(**LIMIT_BUY, client_order_id="retry-me")
    again = await api.order(**LIMIT_BUY, client_order_id="retry-me")
    assert again == first
    reused = await api.call(
        "POST", "/v2/orders", json={**LIMIT_BUY, "qty": 3, "client_order_id": "retry-me"}
    )
    assert_alpaca_error(reused, 422, "client_order_id must be unique")
    assert len(await api.ok("GET", "/v2/orders")) == 1


# -- reading --------------------------------------------------------------------------------------


async def test_get_by_id_and_by_client_order_id(api: Api) -> None:
    order = await api.order(**LIMIT_BUY, client_order_id="mine")
    assert await api.ok("GET", f"/v2/orders/{order['id']}") == order
    by_client = await api.ok(
        "GET", "/v2/orders:by_client_order_id", params={"client_order_id": "mine"}
    )
    assert by_client == order
    for path, params in (
        (f"/v2/orders/{uuid.uuid4()}", {}),
        ("/v2/orders/not-a-uuid", {}),
        ("/v2/orders:by_client_order_id", {"client_order_id": "nobody"}),
    ):
        assert_alpaca_error(await api.call("GET", path, params=params), 404, "order not found")


async def test_another_customers_order_is_not_found(api: Api) -> None:
    order = await api.order(**LIMIT_BUY)
    await paper_trader(api.platform, "other@example.com", D(1000))
    other = alpaca_headers(await api_key(api.platform, "other@example.com", ApiKeyScope.TRADE))
    response = await api.http.get(f"/v2/orders/{order['id']}", headers=other)
    assert_alpaca_error(response, 404, "order not found")
    canceled = await api.http.delete(f"/v2/orders/{order['id']}", headers=other)
    assert_alpaca_error(canceled, 404, "order not found")
    assert (await api.http.get("/v2/orders", headers=other)).json() == []


async def test_listing_orders_by_status_direction_symbol_and_side(api: Api) -> None:
    ids = []
    for symbol, side in (("AAPL", "buy"), ("MSFT", "buy"), ("AAPL", "buy")):
        price = "190.00" if symbol == "AAPL" else "440.00"
        order = await api.order(
            symbol=symbol, qty=1, side=side, type="limit", time_in_force="day", limit_price=price
        )
        ids.append(order["id"])
        api.clock.advance(timedelta(seconds=1))
    await api.ok("DELETE", f"/v2/orders/{ids[1]}", status=204)

    async def listed(**params: str) -> list[str]:
        return [o["id"] for o in await api.ok("GET", "/v2/orders", params=params)]

    assert await listed() == [ids[2], ids[0]]
    assert await listed(status="closed") == [ids[1]]
    assert await listed(status="all", direction="asc") == ids
    assert await listed(status="all", limit="1") == [ids[2]]
    assert await listed(status="all", symbols="MSFT,TSLA") == [ids[1]]
    assert await listed(status="all", side="sell") == []
    assert await listed(status="all", after="2026-01-05T14:30:00.5Z") == [ids[2], ids[1]]
    assert await listed(status="all", until="2026-01-05T14:30:01Z") == [ids[0]]
    bad = await api.call("GET", "/v2/orders", params={"status": "sleeping"})
    assert_alpaca_error(bad, 422, "invalid status: 'sleeping'; use open, closed or all")
    bad = await api.call("GET", "/v2/orders", params={"limit": "501"})
    assert_alpaca_error(bad, 422, "invalid limit: '501'; it must be between 1 and 500")


async def test_nested_lists_roll_legs_up_under_their_entry(api: Api) -> None:
    entry = await api.order(**LIMIT_BUY, order_class="oto", take_profit={"limit_price": "200"})
    flat = await api.ok("GET", "/v2/orders")
    assert {o["id"] for o in flat} == {entry["id"], entry["legs"][0]["id"]}
    assert all(o["legs"] is None for o in flat)
    nested = await api.ok("GET", "/v2/orders", params={"nested": "true"})
    assert [o["id"] for o in nested] == [entry["id"]]
    assert [leg["id"] for leg in nested[0]["legs"]] == [entry["legs"][0]["id"]]


# -- canceling ------------------------------------------------------------------------------------


async def test_cancel_answers_204_and_frees_the_hold(api: Api) -> None:
    order = await api.order(**LIMIT_BUY)
    api.clock.advance(timedelta(seconds=5))
    response = await api.call("DELETE", f"/v2/orders/{order['id']}")
    assert (response.status_code, response.content) == (204, b"")
    canceled = await api.ok("GET", f"/v2/orders/{order['id']}")
    assert (canceled["status"], canceled["canceled_at"]) == ("canceled", "2026-01-05T14:30:05Z")
    assert (await api.account())["buying_power"] == "100000.00"
    assert api.venue.withdrawn_ids == [uuid.UUID(order["id"])]
    again = await api.call("DELETE", f"/v2/orders/{order['id']}")
    assert_alpaca_error(again, 422, "the order is canceled and cannot be canceled")


async def test_cancel_on_a_book_venue_is_pending_until_confirmed(api: Api) -> None:
    order = await api.order(
        symbol="IWM", qty=1, side="buy", type="limit", time_in_force="day", limit_price="219"
    )
    await api.ok("DELETE", f"/v2/orders/{order['id']}", status=204)
    pending = await api.ok("GET", f"/v2/orders/{order['id']}")
    assert pending["status"] == "pending_cancel"
    assert [o.id for o in api.internal.cancel_requests] == [uuid.UUID(order["id"])]


async def test_cancel_all_answers_207_with_each_order(api: Api) -> None:
    aapl = await api.order(**LIMIT_BUY)
    api.clock.advance(timedelta(seconds=1))
    iwm = await api.order(
        symbol="IWM", qty=1, side="buy", type="limit", time_in_force="day", limit_price="219"
    )
    response = await api.call("DELETE", "/v2/orders")
    assert response.status_code == 207
    answers = response.json()
    assert [(a["id"], a["status"], a["body"]["status"]) for a in answers] == [
        (iwm["id"], 200, "pending_cancel"),
        (aapl["id"], 200, "canceled"),
    ]
    assert answers[1]["body"] == await api.ok("GET", f"/v2/orders/{aapl['id']}")
    assert (await api.call("DELETE", "/v2/orders")).json() == [
        {
            "id": iwm["id"],
            "status": 422,
            "body": {
                "code": 42210000,
                "message": "the order is pending_cancel and cannot be canceled",
            },
        }
    ]


# -- replacing ------------------------------------------------------------------------------------


async def test_replace_supersedes_the_order_and_holds_anew(api: Api) -> None:
    old = await api.order(**LIMIT_BUY, client_order_id="old")
    api.clock.advance(timedelta(seconds=2))
    new = await api.ok(
        "PATCH",
        f"/v2/orders/{old['id']}",
        json={"qty": 3, "limit_price": 190.3, "client_order_id": "new"},
    )
    assert (new["qty"], new["limit_price"], new["status"]) == ("3", "190.3", "new")
    assert (new["replaces"], new["client_order_id"]) == (old["id"], "new")
    assert new["created_at"] == "2026-01-05T14:30:02Z"
    replaced = await api.ok("GET", f"/v2/orders/{old['id']}")
    assert (replaced["status"], replaced["replaced_by"]) == ("replaced", new["id"])
    assert replaced["replaced_at"] == "2026-01-05T14:30:02Z"
    assert (await api.account())["buying_power"] == str(D(100_000) - 3 * D("190.30"))
    assert api.venue.withdrawn_ids == [uuid.UUID(old["id"])]
    assert [o.id for o in api.venue.working_orders][-1] == uuid.UUID(new["id"])
    keeps_tif = await api.ok("PATCH", f"/v2/orders/{new['id']}", json={"time_in_force": "gtc"})
    assert (keeps_tif["qty"], keeps_tif["time_in_force"]) == ("3", "gtc")


async def test_a_refused_replacement_leaves_the_order_as_it_was(api: Api) -> None:
    old = await api.order(**LIMIT_BUY)
    too_big = await api.call("PATCH", f"/v2/orders/{old['id']}", json={"qty": 600})
    assert_alpaca_error(too_big, 403, "insufficient buying power")
    for body, message in (
        ({}, "give at least one field to replace"),
        ({"trail": 1}, "only trailing stops take trail"),
        ({"stop_price": "180"}, "a limit order takes no stop_price"),
        ({"qty": 1, "side": "sell"}, "unknown field: side"),
    ):
        refused = await api.call("PATCH", f"/v2/orders/{old['id']}", json=body)
        assert_alpaca_error(refused, 422, message)
    assert (await api.ok("GET", f"/v2/orders/{old['id']}"))["status"] == "new"
    assert (await api.account())["buying_power"] == "99619.20"
    await api.ok("DELETE", f"/v2/orders/{old['id']}", status=204)
    done = await api.call("PATCH", f"/v2/orders/{old['id']}", json={"qty": 1})
    assert_alpaca_error(done, 422, "the order is canceled and cannot be replaced")


async def test_replace_is_refused_where_the_venue_cannot_do_it_yet(api: Api) -> None:
    order = await api.order(
        symbol="IWM", qty=1, side="buy", type="limit", time_in_force="day", limit_price="219"
    )
    response = await api.call("PATCH", f"/v2/orders/{order['id']}", json={"limit_price": 218})
    assert_alpaca_error(
        response,
        422,
        "replace is not supported on this venue yet; cancel the order and submit a new one",
    )


async def test_a_trailing_stops_trail_is_replaced(api: Api) -> None:
    order = await api.order(
        symbol="AAPL",
        qty=1,
        side="buy",
        type="trailing_stop",
        time_in_force="gtc",
        trail_percent="2",
    )
    new = await api.ok("PATCH", f"/v2/orders/{order['id']}", json={"trail": 3.5})
    assert (new["trail_percent"], new["trail_price"]) == ("3.5", None)


async def test_a_held_exit_leg_is_replaced_within_its_group(api: Api) -> None:
    entry = await api.order(
        **LIMIT_BUY,
        order_class="bracket",
        take_profit={"limit_price": 200},
        stop_loss={"stop_price": 180},
    )
    take_profit = entry["legs"][0]
    api.clock.advance(timedelta(seconds=1))
    new = await api.ok("PATCH", f"/v2/orders/{take_profit['id']}", json={"limit_price": 201})
    assert (new["status"], new["limit_price"], new["replaces"]) == (
        "held",
        "201",
        take_profit["id"],
    )
    legs = (await api.ok("GET", f"/v2/orders/{entry['id']}"))["legs"]
    assert [(leg["id"], leg["status"]) for leg in legs] == [
        (take_profit["id"], "replaced"),
        (entry["legs"][1]["id"], "held"),
        (new["id"], "held"),
    ]
    refused = await api.call("PATCH", f"/v2/orders/{entry['id']}", json={"limit_price": 190})
    assert_alpaca_error(
        refused,
        422,
        "a bracket order with legs cannot be replaced; replace its legs, or cancel it and "
        "submit a new one",
    )
    await api.ok("DELETE", f"/v2/orders/{entry['id']}", status=204)
    legs = (await api.ok("GET", f"/v2/orders/{entry['id']}"))["legs"]
    assert [leg["status"] for leg in legs] == ["replaced", "canceled", "canceled"]


# -- fills, positions, activities -----------------------------------------------------------------


async def test_a_fill_makes_a_position_valued_at_the_quote(api: Api) -> None:
    order = await api.order(**LIMIT_BUY)
    await api.fill(order["id"], 1, "2", "190.40")
    filled = await api.ok("GET", f"/v2/orders/{order['id']}")
    assert (filled["status"], filled["filled_qty"], filled["filled_avg_price"]) == (
        "filled",
        "2",
        "190.4",
    )
    positions = await api.ok("GET", "/v2/positions")
    assert positions == [
        {
            "asset_id": str(AAPL.id),
            "symbol": "AAPL",
            "exchange": "NASDAQ",
            "asset_class": "us_equity",
            "asset_marginable": False,
            "qty": "2",
            "avg_entry_price": "190.4",
            "side": "long",
            "market_value": "380.82",  # at the quote's middle, 190.41
            "cost_basis": "380.80",
            "unrealized_pl": "0.02",
            "unrealized_plpc": "0.000052521",
            "unrealized_intraday_pl": "0.00",
            "unrealized_intraday_plpc": "0",
            "current_price": "190.41",
            "lastday_price": "190.41",
            "change_today": "0",
            "qty_available": "2",
        }
    ]
    for key in ("AAPL", str(AAPL.id)):
        assert await api.ok("GET", f"/v2/positions/{key}") == positions[0]
    missing = await api.call("GET", "/v2/positions/MSFT")
    assert_alpaca_error(missing, 404, "position does not exist")
    account = await api.account()
    assert (account["cash"], account["buying_power"]) == ("99619.20", "99619.20")
    assert (account["long_market_value"], account["equity"]) == ("380.82", "100000.02")


async def test_a_partially_filled_order_is_replaced_for_what_is_left(api: Api) -> None:
    order = await api.order(**{**LIMIT_BUY, "qty": 5})
    await api.fill(order["id"], 1, "2", "190.40")
    new = await api.ok("PATCH", f"/v2/orders/{order['id']}", json={"limit_price": "190.35"})
    assert (new["qty"], new["filled_qty"], new["limit_price"]) == ("3", "0", "190.35")
    old = await api.ok("GET", f"/v2/orders/{order['id']}")
    assert (old["status"], old["filled_qty"]) == ("replaced", "2")
    account = await api.account()
    assert account["cash"] == "99619.20"
    assert account["buying_power"] == str(D("99619.20") - 3 * D("190.35"))


async def test_closing_a_position_in_whole_or_in_part(api: Api) -> None:
    order = await api.order(**{**LIMIT_BUY, "qty": 4})
    await api.fill(order["id"], 1, "4", "190.40")
    half = await api.ok("DELETE", "/v2/positions/AAPL", params={"percentage": "50"})
    assert (half["side"], half["type"], half["qty"], half["time_in_force"]) == (
        "sell",
        "market",
        "2",
        "day",
    )
    assert (await api.ok("GET", "/v2/positions/AAPL"))["qty_available"] == "2"
    refused = await api.call("DELETE", "/v2/positions/AAPL", params={"qty": "5"})
    assert_alpaca_error(
        refused, 403, "insufficient qty available for order (requested: 5, available: 4)"
    )
    rest = await api.call("DELETE", "/v2/positions/AAPL")
    assert_alpaca_error(rest, 403, "insufficient qty available for order")
    await api.ok("DELETE", "/v2/orders", status=207)
    whole = await api.ok("DELETE", "/v2/positions/AAPL", params={"qty": "0.5"})
    assert whole["qty"] == "0.5"


async def test_closing_every_position_answers_207(api: Api) -> None:
    aapl = await api.order(**LIMIT_BUY)
    btc = await api.order(
        symbol="BTC/USD",
        qty="0.01",
        side="buy",
        type="limit",
        time_in_force="gtc",
        limit_price="92000.01",
    )
    await api.fill(aapl["id"], 1, "2", "190.40")
    await api.fill(btc["id"], 1, "0.01", "92000.01")
    extra = await api.order(
        symbol="AAPL", qty=1, side="buy", type="limit", time_in_force="day", limit_price="190"
    )
    response = await api.call("DELETE", "/v2/positions", params={"cancel_orders": "true"})
    assert response.status_code == 207
    answers = response.json()
    assert [(a["symbol"], a["status"], a["body"]["qty"], a["body"]["side"]) for a in answers] == [
        ("AAPL", 200, "2", "sell"),
        ("BTC/USD", 200, "0.01", "sell"),
    ]
    assert answers[1]["body"]["time_in_force"] == "gtc"
    assert (await api.ok("GET", f"/v2/orders/{extra['id']}"))["status"] == "canceled"
    bitcoin = await api.ok("GET", "/v2/positions/BTCUSD")
    assert (bitcoin["symbol"], bitcoin["exchange"], bitcoin["qty_available"]) == (
        "BTC/USD",
        "CRYPTO",
        "0",
    )


async def test_fill_activities_page_by_token(api: Api) -> None:
    order = await api.order(**LIMIT_BUY)
    await api.fill(order["id"], 1, "0.5", "190.39")
    api.clock.advance(timedelta(milliseconds=1500))
    await api.fill(order["id"], 2, "1.5", "190.40")
    activities = await api.ok("GET", "/v2/account/activities")
    seen = [
        (a["type"], a["qty"], a["cum_qty"], a["leaves_qty"], a["order_status"]) for a in activities
    ]
    assert seen == [
        ("fill", "1.5", "2", "0", "filled"),
        ("partial_fill", "0.5", "0.5", "1.5", "partially_filled"),
    ]
    first = activities[1]
    assert first["id"].startswith("20260105143000000::")
    assert {k: v for k, v in first.items() if k != "id"} == {
        "activity_type": "FILL",
        "transaction_time": "2026-01-05T14:30:00Z",
        "type": "partial_fill",
        "price": "190.39",
        "qty": "0.5",
        "side": "buy",
        "symbol": "AAPL",
        "leaves_qty": "1.5",
        "order_id": order["id"],
        "cum_qty": "0.5",
        "order_status": "partially_filled",
    }
    page = await api.ok("GET", "/v2/account/activities/FILL", params={"page_size": "1"})
    assert page == activities[:1]
    rest = await api.ok(
        "GET", "/v2/account/activities", params={"page_size": "1", "page_token": page[0]["id"]}
    )
    assert rest == activities[1:]
    ascending = await api.ok("GET", "/v2/account/activities", params={"direction": "asc"})
    assert ascending == activities[::-1]
    assert await api.ok("GET", "/v2/account/activities/CSD") == []
    assert await api.ok("GET", "/v2/account/activities", params={"date": "2026-01-06"}) == []
    assert_alpaca_error(
        await api.call("GET", "/v2/account/activities/BOGUS"), 422, "invalid activity type: BOGUS"
    )


# -- assets, clock, calendar ----------------------------------------------------------------------


async def test_assets_in_alpacas_shape(api: Api) -> None:
    aapl = await api.ok("GET", "/v2/assets/AAPL")
    assert aapl == {
        "id": str(AAPL.id),
        "class": "us_equity",
        "exchange": "NASDAQ",
        "symbol": "AAPL",
        "name": "AAPL (trading tests)",
        "status": "active",
        "tradable": True,
        "marginable": False,
        "maintenance_margin_requirement": 100,
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": True,
        "attributes": ["fractional_eh_enabled"],
        "min_order_size": "0.000000001",
        "min_trade_increment": "0.000000001",
        "price_increment": "0.01",
    }
    assert await api.ok("GET", f"/v2/assets/{AAPL.id}") == aapl
    for key in ("BTC/USD", "BTCUSD", "btcusd"):
        assert (await api.ok("GET", f"/v2/assets/{key}"))["id"] == str(BTC.id)
    assert_alpaca_error(await api.call("GET", "/v2/assets/NOPE"), 404, "asset not found")
    listed = await api.ok("GET", "/v2/assets")
    assert [a["symbol"] for a in listed] == ["AAPL", "BTC/USD", "IWM", "MSFT"]
    crypto = await api.ok("GET", "/v2/assets", params={"asset_class": "crypto"})
    assert [a["symbol"] for a in crypto] == ["BTC/USD"]
    arca = await api.ok("GET", "/v2/assets", params={"exchange": "ARCA", "status": "active"})
    assert [a["symbol"] for a in arca] == ["IWM"]
    assert await api.ok("GET", "/v2/assets", params={"status": "inactive"}) == []


async def test_the_clock_in_new_york_time(api: Api) -> None:
    assert await api.ok("GET", "/v2/clock") == {
        "timestamp": "2026-01-05T09:30:00-05:00",
        "is_open": True,
        "next_open": "2026-01-06T09:30:00-05:00",
        "next_close": "2026-01-05T16:00:00-05:00",
    }


async def test_the_calendar_with_early_closes_holidays_and_settlement(api: Api) -> None:
    days = await api.ok("GET", "/v2/calendar", params={"start": "2025-12-23", "end": "2025-12-29"})
    assert days == [
        {
            "date": "2025-12-23",
            "open": "09:30",
            "close": "16:00",
            "session_open": "0400",
            "session_close": "2000",
            "settlement_date": "2025-12-24",
        },
        {
            "date": "2025-12-24",
            "open": "09:30",
            "close": "13:00",
            "session_open": "0400",
            "session_close": "1700",
            "settlement_date": "2025-12-26",
        },
        {
            "date": "2025-12-26",
            "open": "09:30",
            "close": "16:00",
            "session_open": "0400",
            "session_close": "2000",
            "settlement_date": "2025-12-29",
        },
        {
            "date": "2025-12-29",
            "open": "09:30",
            "close": "16:00",
            "session_open": "0400",
            "session_close": "2000",
            "settlement_date": "2025-12-30",
        },
    ]
    settled = await api.ok(
        "GET",
        "/v2/calendar",
        params={"start": "2025-12-26", "end": "2025-12-26", "date_type": "SETTLEMENT"},
    )
    assert [d["date"] for d in settled] == ["2025-12-24"]
    everything = await api.ok("GET", "/v2/calendar")
    assert (everything[0]["date"], everything[-1]["date"]) == ("2000-01-03", "2029-12-31")
    bad = await api.call("GET", "/v2/calendar", params={"start": "Dec 1"})
    assert_alpaca_error(bad, 422, "invalid start: 'Dec 1'; use YYYY-MM-DD")


async def test_bodies_are_json_objects(api: Api) -> None:
    response = await api.raw_order(json.dumps([LIMIT_BUY]))
    assert_alpaca_error(response, 400, "request body must be a JSON object")
