"""The instrument master on both databases, and its CSV import."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from finplat.kernel import ManualClock, NotFound
from finplat.marketdata.domain import (
    AssetClass,
    Instrument,
    InstrumentStatus,
    InvalidMarketData,
    Venue,
)
from finplat.marketdata.instruments import (
    ImportSummary,
    find_instrument,
    get_instrument,
    get_instrument_by_id,
    import_instruments,
    list_instruments,
    parse_instruments_csv,
    upsert_instrument,
)
from finplat.marketdata.store import instruments
from finplat.platform.db import UnitOfWorkFactory

DEMO_CSV = Path(__file__).parents[3] / "data" / "instruments" / "demo.csv"
HEADER = "symbol,name,asset_class,exchange,currency,tick_size,lot_size,fractionable,shortable\n"

BRK = Instrument(
    symbol="BRK.B",
    name="Berkshire Hathaway Inc. Class B",
    asset_class=AssetClass.US_EQUITY,
    exchange="XNYS",
    currency="USD",
    tick_size=Decimal("0.0001"),
    lot_size=Decimal("0.000000001"),
    min_order_size=Decimal("0.5"),
    fractionable=True,
    shortable=True,
    easy_to_borrow=False,
    marginable=True,
    status=InstrumentStatus.ACTIVE,
    venue=Venue.INTERNAL,
)


async def test_upsert_then_read_back_exactly(uows: UnitOfWorkFactory, clock: ManualClock) -> None:
    async with uows() as uow:
        saved = await upsert_instrument(uow, BRK, now=clock.now())
    assert saved == BRK
    async with uows(read_only=True) as uow:
        by_symbol = await get_instrument(uow, "BRK.B")
        by_id = await get_instrument_by_id(uow, BRK.id)
        lower_case = await find_instrument(uow, "brk.b")
        raw = (await uow.session.execute(select(instruments))).one()
    assert by_symbol == BRK
    assert by_id == BRK
    assert lower_case == BRK
    assert (by_symbol.tick_size, by_symbol.lot_size, by_symbol.min_order_size) == (
        Decimal("0.0001"),
        Decimal("0.000000001"),
        Decimal("0.5"),
    )
    assert (raw.tick_size, raw.lot_size, raw.min_order_size) == (100_000, 1, 500_000_000)
    assert raw.updated_at == clock.now()


async def test_an_update_keeps_the_id(uows: UnitOfWorkFactory, clock: ManualClock) -> None:
    async with uows() as uow:
        await upsert_instrument(uow, BRK, now=clock.now())
    changed = replace(
        BRK,
        id=uuid.uuid4(),
        name="Berkshire Hathaway B",
        tick_size=Decimal("0.01"),
        status=InstrumentStatus.INACTIVE,
        venue=Venue.SIMULATED,
    )
    clock.advance(timedelta(hours=1))
    async with uows() as uow:
        saved = await upsert_instrument(uow, changed, now=clock.now())
    assert saved == replace(changed, id=BRK.id)
    async with uows(read_only=True) as uow:
        assert await get_instrument(uow, "BRK.B") == replace(changed, id=BRK.id)
        count = await uow.session.scalar(select(func.count()).select_from(instruments))
        updated_at = await uow.session.scalar(select(instruments.c.updated_at))
    assert count == 1
    assert updated_at == clock.now()


async def test_missing_instruments(uows: UnitOfWorkFactory) -> None:
    async with uows(read_only=True) as uow:
        assert await find_instrument(uow, "NOPE") is None
        with pytest.raises(NotFound) as by_symbol:
            await get_instrument(uow, "NOPE")
        with pytest.raises(NotFound) as by_id:
            await get_instrument_by_id(uow, uuid.uuid4())
    assert by_symbol.value.code == "instrument_not_found"
    assert by_id.value.code == "instrument_not_found"


async def test_import_the_demo_file_then_again(uows: UnitOfWorkFactory, clock: ManualClock) -> None:
    text = DEMO_CSV.read_text(encoding="utf-8")
    async with uows() as uow:
        assert await import_instruments(uow, text, now=clock.now()) == ImportSummary(27, 0)
    async with uows(read_only=True) as uow:
        first = {i.symbol: i for i in await list_instruments(uow)}
    async with uows() as uow:
        assert await import_instruments(uow, text, now=clock.now()) == ImportSummary(0, 27)
    async with uows(read_only=True) as uow:
        again = {i.symbol: i for i in await list_instruments(uow)}
    assert again == first  # same ids, same values
    assert len(first) == 27
    assert [s for s, i in first.items() if i.venue is Venue.INTERNAL] == ["IWM", "TLT"]
    assert first["IWM"].lot_size == Decimal(1)
    assert first["IWM"].fractionable is False
    assert first["AAPL"].lot_size == Decimal("0.000000001")
    assert first["AAPL"].exchange == "XNAS"
    assert first["AMZN"].name == "Amazon.com, Inc."
    assert first["BTC/USD"].min_order_size == Decimal("0.0001")
    assert first["BTC/USD"].shortable is False


async def test_list_filters_and_search(uows: UnitOfWorkFactory, clock: ManualClock) -> None:
    async with uows() as uow:
        await import_instruments(uow, DEMO_CSV.read_text(encoding="utf-8"), now=clock.now())
        intel = await get_instrument(uow, "INTC")
        await upsert_instrument(
            uow, replace(intel, status=InstrumentStatus.INACTIVE), now=clock.now()
        )

    async def symbols(**filters: object) -> list[str]:
        async with uows(read_only=True) as uow:
            return [i.symbol for i in await list_instruments(uow, **filters)]  # type: ignore[arg-type]

    assert await symbols(asset_class=AssetClass.CRYPTO) == ["BTC/USD", "ETH/USD", "SOL/USD"]
    assert await symbols(status=InstrumentStatus.INACTIVE) == ["INTC"]
    assert len(await symbols(status=InstrumentStatus.ACTIVE)) == 26
    assert await symbols(search="aa") == ["AAPL"]  # symbol prefix
    assert await symbols(search="Micro") == ["AMD", "MSFT"]  # part of the name
    assert await symbols(search="ISHARES") == ["IWM", "TLT"]
    assert await symbols(search="btc") == ["BTC/USD"]  # FBTC does not start with it
    assert await symbols(search="Gold") == ["GLD"]
    assert await symbols(search="%") == []  # wildcards are literal
    assert await symbols(search="  ") == await symbols()
    assert await symbols(search="dollar", asset_class=AssetClass.US_EQUITY) == []


async def test_a_bad_file_changes_nothing(uows: UnitOfWorkFactory, clock: ManualClock) -> None:
    text = HEADER + "AAPL,Apple Inc.,us_equity,XNAS,USD,0.01,1,false,true\nMSFT,,x,XNAS,USD\n"
    async with uows() as uow:
        with pytest.raises(InvalidMarketData):
            await import_instruments(uow, text, now=clock.now())
    async with uows(read_only=True) as uow:
        assert await list_instruments(uow) == []


# -- parsing (no database) --------------------------------------------------------------------


def problems_in(text: str) -> str:
    with pytest.raises(InvalidMarketData) as raised:
        parse_instruments_csv(text)
    assert raised.value.code == "invalid_instrument_file"
    return raised.value.message


def test_a_minimal_file_takes_the_defaults() -> None:
    (parsed,) = parse_instruments_csv(
        "\ufeff" + HEADER + "KO, The Coca-Cola Company ,US_EQUITY,XNYS,USD,0.01,1,FALSE,True\n\n"
    )
    assert parsed == Instrument(
        id=parsed.id,
        symbol="KO",
        name="The Coca-Cola Company",
        asset_class=AssetClass.US_EQUITY,
        exchange="XNYS",
        currency="USD",
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        fractionable=False,
        shortable=True,
        easy_to_borrow=False,
        marginable=False,
        min_order_size=Decimal(1),
        status=InstrumentStatus.ACTIVE,
        venue=Venue.SIMULATED,
    )
    assert parsed.id.version == 7


def test_empty_optional_cells_take_the_defaults() -> None:
    text = (
        "symbol,name,asset_class,exchange,currency,tick_size,lot_size,min_order_size,"
        "fractionable,shortable,status,venue\n"
        "KO,Coca-Cola,us_equity,XNYS,USD,0.01,1,,false,true,,internal\n"
    )
    (parsed,) = parse_instruments_csv(text)
    assert (parsed.min_order_size, parsed.status, parsed.venue) == (
        Decimal(1),
        InstrumentStatus.ACTIVE,
        Venue.INTERNAL,
    )


def test_header_problems_name_line_one() -> None:
    message = problems_in("symbol,name,asset_class,exchange,currency,tick_size,colour\n")
    assert message == (
        "invalid instrument file: line 1, column 'colour': unknown column; "
        "line 1: the required column lot_size is missing; "
        "line 1: the required column fractionable is missing; "
        "line 1: the required column shortable is missing"
    )


def test_an_empty_file() -> None:
    with pytest.raises(InvalidMarketData, match="empty"):
        parse_instruments_csv("")


def test_bad_cells_are_named_by_line_and_column() -> None:
    text = HEADER + (
        "AAPL,Apple Inc.,us_equity,XNAS,USD,0.01,0.000000001,true,true\n"
        "MSFT,Microsoft,us_equity,XNAS,USD,a penny,1,yes,true\n"
        "NVDA,NVIDIA,stock,XNAS,USD,0.01,0.0000000001,true,true\n"
        "\n"
        "GOOGL,,us_equity,XNAS,USD,-0.01,1,true,true\n"
        "AMZN,Amazon,us_equity,XNAS,USD,0.01,1\n"
        "aapl,Apple again,us_equity,XNAS,USD,0.01,1,true,true\n"
        "AAPL,Apple again,us_equity,XNAS,USD,0.01,1,true,true\n"
        "BTC/USD,Bitcoin,crypto,CRYPTO,USD,0.01,1,true,true\n"
    )
    assert problems_in(text) == (
        "invalid instrument file: "
        "line 3, column tick_size: 'a penny' is not a decimal; "
        "line 3, column fractionable: 'yes' is not true or false; "
        "line 4, column asset_class: 'stock' is not one of us_equity, crypto; "
        "line 4, column lot_size: 1E-10 has more than 9 decimal places; "
        "line 6, column name: empty; "
        "line 6, column tick_size: '-0.01' is not a positive decimal; "
        "line 7: 7 fields where the header has 9; "
        "line 8, column symbol: 'aapl' is not a valid symbol; "
        "line 9, column symbol: AAPL is already on line 2; "
        "line 10: crypto instruments cannot be shorted"
    )


def test_a_quoted_cell_over_two_lines_counts_both() -> None:
    text = HEADER + '"AAPL","Apple\nInc.",us_equity,XNAS,USD,0.01,1,true,true\nMSFT,x,y\n'
    assert problems_in(text) == "invalid instrument file: line 4: 3 fields where the header has 9"


def test_many_problems_are_cut_short() -> None:
    text = HEADER + "".join(f"S{n},x,us_equity,XNAS,USD,0,1,true,true\n" for n in range(25))
    message = problems_in(text)
    assert message.count("is not a positive decimal") == 20
    assert message.endswith("; and 5 more")
