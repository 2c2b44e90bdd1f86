"""What the Alpaca-compatible trading routes share: the kit, who is calling, request bodies
read with exact decimals, instrument look-ups, and finplat's refusals in Alpaca's terms.

Errors leave as `ProblemException`s; under /v2 the platform renders them in Alpaca's body,
`{"code": 40310000, "message": "insufficient buying power"}` (see marketdata's
`ALPACA_ERROR_FORMATS`, which the composition root registers for /v2).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from finplat import marketdata
from finplat.identity import Permission, Principal, require
from finplat.kernel import DomainError
from finplat.platform.db import UnitOfWork
from finplat.platform.http.problems import ProblemException, status_for
from finplat.trading.context import TradingKit

NEW_YORK = ZoneInfo("America/New_York")


def _kit(request: Request) -> TradingKit:
    kit = request.app.state.trading
    assert isinstance(kit, TradingKit)  # noqa: S101 - wired by the composition root
    return kit


Kit = Annotated[TradingKit, Depends(_kit)]
Reader = Annotated[Principal, require(Permission.TRADING_READ)]
Trader = Annotated[Principal, require(Permission.TRADING_WRITE)]


# -- errors -------------------------------------------------------------------------------------

#: How Alpaca answers what finplat refuses, by finplat's code: (status, Alpaca's message, or
#: None to keep finplat's). Codes not listed keep the status of their kind (422 for rules).
_ALPACA: Mapping[str, tuple[int, str | None]] = {
    "insufficient_buying_power": (403, "insufficient buying power"),
    "insufficient_qty": (403, "insufficient qty available for order"),
    "close_exceeds_position": (403, None),
    "trading_halted": (403, None),
    "account_halted": (403, None),
    "kyc_not_approved": (403, None),
    "reduce_only": (403, None),
    "account_restricted": (403, None),
    "order_rate_exceeded": (403, None),
    "client_order_id_reused": (422, "client_order_id must be unique"),
    "order_not_found": (404, "order not found"),
}


def alpaca_code(status: int) -> int:
    """Alpaca's error number for a status (40310000 for 403...; 40010001 for a 400)."""
    return 40010001 if status == 400 else status * 100_000 + 10_000


def problem(error: DomainError) -> ProblemException:
    status, message = _ALPACA.get(error.code, (status_for(error), None))
    return ProblemException(status, error.code, message or error.message)


@contextmanager
def alpaca_errors() -> Iterator[None]:
    """Raise finplat's domain errors as the answer Alpaca gives for them."""
    try:
        yield
    except DomainError as error:
        raise problem(error) from error


def bad_request(message: str) -> ProblemException:
    return ProblemException(400, "bad_request", message)


def unprocessable(message: str, code: str = "invalid_request") -> ProblemException:
    return ProblemException(422, code, message)


def not_found(message: str, code: str = "not_found") -> ProblemException:
    return ProblemException(404, code, message)


# -- requests -----------------------------------------------------------------------------------


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object whose numbers are exact Decimals (not floats)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise bad_request("request body format is invalid") from None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def flag(params: Mapping[str, str], name: str) -> bool:
    text = params.get(name, "").strip().lower()
    if text in {"", "false", "0"}:
        return False
    if text in {"true", "1"}:
        return True
    raise unprocessable(f"invalid {name}: {text[:20]!r}; use true or false")


def instant(params: Mapping[str, str], name: str) -> datetime | None:
    """RFC 3339, or a bare date meaning its midnight in New York."""
    text = params.get(name, "").strip().replace(" ", "+")  # an unescaped '+' arrives as ' '
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).astimezone(UTC)
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise unprocessable(f"invalid {name}: {text[:40]!r}") from None
    if at.tzinfo is None:
        raise unprocessable(f"invalid {name}: {text[:40]!r} has no time zone offset")
    return at.astimezone(UTC)


def day_param(params: Mapping[str, str], name: str) -> date | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise unprocessable(f"invalid {name}: {text[:40]!r}; use YYYY-MM-DD") from None


def limit_param(params: Mapping[str, str], name: str, *, default: int, most: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise unprocessable(f"invalid {name}: {text[:20]!r}; it must be between 1 and {most}")
    return int(text)


# -- instruments --------------------------------------------------------------------------------


async def instruments_of(
    kit: TradingKit, symbols: Iterable[str]
) -> dict[str, marketdata.Instrument]:
    """The instruments of `symbols` that the master knows."""
    found: dict[str, marketdata.Instrument] = {}
    async with kit.uows(read_only=True) as uow:
        for symbol in set(symbols):
            instrument = await marketdata.find_instrument(uow, symbol)
            if instrument is not None:
                found[symbol] = instrument
    return found


async def resolve_asset(uow: UnitOfWork, text: str) -> marketdata.Instrument | None:
    """An instrument by symbol ("AAPL", "BTC/USD", or Alpaca's "BTCUSD") or by asset id."""
    wanted = text.strip()
    try:
        asset_id = uuid.UUID(wanted)
    except ValueError:
        asset_id = None
    if asset_id is not None:
        return next((i for i in await marketdata.list_instruments(uow) if i.id == asset_id), None)
    symbol = wanted.upper()
    found = await marketdata.find_instrument(uow, symbol)
    if found is not None or "/" in symbol:
        return found
    pairs = await marketdata.list_instruments(uow, asset_class=marketdata.AssetClass.CRYPTO)
    return next((i for i in pairs if i.symbol.replace("/", "") == symbol), None)
