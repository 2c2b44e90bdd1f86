"""The instrument master: what can be traded and on what grid, kept in `md_instruments`, and
its import from CSV. Sizes are stored as integer nanos (see `domain.SCALE`)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, String, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from finplat.kernel import Conflict, NotFound, new_id
from finplat.marketdata.domain import (
    AssetClass,
    Instrument,
    InstrumentStatus,
    InvalidMarketData,
    Venue,
    from_nanos,
    to_nanos,
)
from finplat.marketdata.store import instruments
from finplat.platform.db import UnitOfWork

_MAX_LENGTH = {
    column.name: column.type.length
    for column in instruments.columns
    if isinstance(column.type, String) and column.type.length is not None
}


# -- reading and writing ----------------------------------------------------------------------


def _instrument(row: Row[Any]) -> Instrument:
    return Instrument(
        id=row.id,
        symbol=row.symbol,
        name=row.name,
        asset_class=AssetClass(row.asset_class),
        exchange=row.exchange,
        currency=row.currency,
        tick_size=from_nanos(row.tick_size),
        lot_size=from_nanos(row.lot_size),
        min_order_size=from_nanos(row.min_order_size),
        fractionable=row.fractionable,
        shortable=row.shortable,
        easy_to_borrow=row.easy_to_borrow,
        marginable=row.marginable,
        status=InstrumentStatus(row.status),
        venue=Venue(row.venue),
    )


def _values(instrument: Instrument, now: datetime) -> dict[str, object]:
    values: dict[str, object] = {
        "symbol": instrument.symbol,
        "name": instrument.name,
        "asset_class": instrument.asset_class.value,
        "exchange": instrument.exchange,
        "currency": instrument.currency,
        "tick_size": to_nanos(instrument.tick_size),
        "lot_size": to_nanos(instrument.lot_size),
        "min_order_size": to_nanos(instrument.min_order_size),
        "fractionable": instrument.fractionable,
        "shortable": instrument.shortable,
        "easy_to_borrow": instrument.easy_to_borrow,
        "marginable": instrument.marginable,
        "status": instrument.status.value,
        "venue": instrument.venue.value,
        "updated_at": now,
    }
    for column, limit in _MAX_LENGTH.items():
        if len(str(values[column])) > limit:
            raise InvalidMarketData(f"{column} of {instrument.symbol} is over {limit} characters")
    return values


async def find_instrument(uow: UnitOfWork, symbol: str) -> Instrument | None:
    """The instrument with `symbol` (in any case), or None."""
    query = select(instruments).where(instruments.c.symbol == symbol.strip().upper())
    row = (await uow.session.execute(query)).one_or_none()
    return _instrument(row) if row is not None else None


async def get_instrument(uow: UnitOfWork, symbol: str) -> Instrument:
    found = await find_instrument(uow, symbol)
    if found is None:
        raise NotFound(f"no instrument {symbol!r}", code="instrument_not_found")
    return found


async def get_instrument_by_id(uow: UnitOfWork, id: uuid.UUID) -> Instrument:
    row = (
        await uow.session.execute(select(instruments).where(instruments.c.id == id))
    ).one_or_none()
    if row is None:
        raise NotFound("no such instrument", code="instrument_not_found")
    return _instrument(row)


async def list_instruments(
    uow: UnitOfWork,
    *,
    asset_class: AssetClass | None = None,
    status: InstrumentStatus | None = None,
    search: str | None = None,
) -> list[Instrument]:
    """Instruments in symbol order; `search` matches a symbol prefix or a part of the name,
    ignoring case."""
    query = select(instruments).order_by(instruments.c.symbol)
    if asset_class is not None:
        query = query.where(instruments.c.asset_class == asset_class.value)
    if status is not None:
        query = query.where(instruments.c.status == status.value)
    term = (search or "").strip()
    if term:
        query = query.where(
            or_(
                instruments.c.symbol.startswith(term.upper(), autoescape=True),
                instruments.c.name.icontains(term, autoescape=True),
            )
        )
    return [_instrument(row) for row in await uow.session.execute(query)]


async def upsert_instrument(
    uow: UnitOfWork, instrument: Instrument, *, now: datetime
) -> Instrument:
    """Insert the instrument, or update the one with its symbol (which keeps its id)."""
    saved, _ = await _save(uow, instrument, now)
    return saved


async def _locked_id(uow: UnitOfWork, symbol: str) -> uuid.UUID | None:
    query = select(instruments.c.id).where(instruments.c.symbol == symbol).with_for_update()
    found: uuid.UUID | None = await uow.session.scalar(query)
    return found


async def _save(uow: UnitOfWork, instrument: Instrument, now: datetime) -> tuple[Instrument, bool]:
    """The stored instrument, and whether it was created."""
    values = _values(instrument, now)
    existing = await _locked_id(uow, instrument.symbol)
    if existing is None:
        try:
            async with uow.session.begin_nested():
                await uow.session.execute(insert(instruments).values(id=instrument.id, **values))
        except IntegrityError:
            existing = await _locked_id(uow, instrument.symbol)  # inserted concurrently?
            if existing is None:
                raise Conflict(
                    f"instrument id {instrument.id} belongs to another symbol",
                    code="instrument_id_taken",
                ) from None
        else:
            return instrument, True
    await uow.session.execute(
        update(instruments).where(instruments.c.id == existing).values(**values)
    )
    return replace(instrument, id=existing), False


# -- CSV import -------------------------------------------------------------------------------

REQUIRED_COLUMNS = (
    "symbol",
    "name",
    "asset_class",
    "exchange",
    "currency",
    "tick_size",
    "lot_size",
    "fractionable",
    "shortable",
)
#: Left out, or left empty, these take the defaults of `Instrument`.
OPTIONAL_COLUMNS = ("min_order_size", "easy_to_borrow", "marginable", "status", "venue")

_DECIMALS = frozenset({"tick_size", "lot_size", "min_order_size"})
_BOOLEANS = frozenset({"fractionable", "shortable", "easy_to_borrow", "marginable"})
_CHOICES: dict[str, type[StrEnum]] = {
    "asset_class": AssetClass,
    "status": InstrumentStatus,
    "venue": Venue,
}
_TRUTH = {"true": True, "false": False}
_MOST_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int  # symbols already present, whether or not a field changed


def _header_problems(columns: list[str]) -> list[str]:
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    problems = [f"line 1, column {name!r}: unknown column" for name in columns if name not in known]
    problems += [
        f"line 1, column {name}: repeated"
        for name in sorted(set(columns))
        if columns.count(name) > 1
    ]
    problems += [
        f"line 1: the required column {name} is missing"
        for name in REQUIRED_COLUMNS
        if name not in columns
    ]
    return problems


def _field(column: str, text: str) -> object:
    """The value of one non-empty cell; InvalidMarketData says what is wrong with it."""
    if column in _DECIMALS:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise InvalidMarketData(f"{text!r} is not a decimal") from None
        if not value.is_finite() or value <= 0:
            raise InvalidMarketData(f"{text!r} is not a positive decimal")
        to_nanos(value)
        return value
    if column in _BOOLEANS:
        if text.lower() not in _TRUTH:
            raise InvalidMarketData(f"{text!r} is not true or false")
        return _TRUTH[text.lower()]
    if column in _CHOICES:
        choices = _CHOICES[column]
        if text.lower() not in set(choices):
            allowed = ", ".join(choices)
            raise InvalidMarketData(f"{text!r} is not one of {allowed}")
        return choices(text.lower())
    limit = _MAX_LENGTH.get(column)
    if limit is not None and len(text) > limit:
        raise InvalidMarketData(f"longer than {limit} characters")
    return text


def _parse_line(line: int, cells: dict[str, str], problems: list[str]) -> Instrument | None:
    fields: dict[str, Any] = {}
    before = len(problems)
    for column, text in cells.items():
        if not text:
            if column in REQUIRED_COLUMNS:
                problems.append(f"line {line}, column {column}: empty")
            continue
        try:
            fields[column] = _field(column, text)
        except InvalidMarketData as error:
            problems.append(f"line {line}, column {column}: {error.message}")
    if len(problems) > before:
        return None
    try:
        return Instrument(id=new_id(), **fields)
    except InvalidMarketData as error:
        where = ", column symbol" if error.code == "invalid_symbol" else ""
        problems.append(f"line {line}{where}: {error.message}")
        return None


def parse_instruments_csv(text: str) -> list[Instrument]:
    """Instruments from CSV with a header row, checked strictly: every problem in the file is
    reported at once, by line and column, in one InvalidMarketData."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise InvalidMarketData("the instrument file is empty", code="invalid_instrument_file")
    columns = [name.strip() for name in header]
    problems = _header_problems(columns)
    _raise_if_any(problems)
    parsed: list[Instrument] = []
    first_seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            problems.append(
                f"line {line}: {len(record)} fields where the header has {len(columns)}"
            )
            continue
        found = _parse_line(
            line, dict(zip(columns, (c.strip() for c in record), strict=True)), problems
        )
        if found is None:
            continue
        if found.symbol in first_seen:
            problems.append(
                f"line {line}, column symbol: {found.symbol} is already on line "
                f"{first_seen[found.symbol]}"
            )
            continue
        first_seen[found.symbol] = line
        parsed.append(found)
    _raise_if_any(problems)
    return parsed


def _raise_if_any(problems: list[str]) -> None:
    if not problems:
        return
    shown = "; ".join(problems[:_MOST_PROBLEMS_SHOWN])
    more = len(problems) - _MOST_PROBLEMS_SHOWN
    if more > 0:
        shown += f"; and {more} more"
    raise InvalidMarketData(f"invalid instrument file: {shown}", code="invalid_instrument_file")


async def import_instruments(uow: UnitOfWork, text: str, *, now: datetime) -> ImportSummary:
    """Upsert every instrument of a CSV file; a file with any problem changes nothing."""
    created = updated = 0
    for instrument in parse_instruments_csv(text):
        _, was_created = await _save(uow, instrument, now)
        created += was_created
        updated += not was_created
    return ImportSummary(created=created, updated=updated)
