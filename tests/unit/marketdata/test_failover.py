"""The failover feed: the primary while it lives, then the secondary for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from finplat.kernel import ManualClock
from finplat.marketdata.domain import Bar, Tick, Timeframe, Trade
from finplat.marketdata.providers import FeedStopped
from finplat.marketdata.providers.failover import FailoverFeed

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
TINY = timedelta(seconds=0.05)


def trade(number: int) -> Trade:
    return Trade("AAPL", Decimal("230.01"), Decimal(number), T0, trade_id=number)


def bar(close: str) -> Bar:
    price = Decimal(close)
    return Bar("AAPL", Timeframe.DAY, T0, price, price, price, price, Decimal(1), 1, price)


class Fake:
    """Ticks numbered from `first`, `count` of them, then: end, raise, or go silent."""

    def __init__(self, name: str, first: int, count: int | None, then: str = "end") -> None:
        self.name = name
        self.first = first
        self.count = count
        self.then = then
        self.streams: list[list[str]] = []
        self.closed = 0
        self.bars_answer: list[Bar] | Exception = [bar("1")]
        self.bars_asked = 0

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        if self.then == "refuse":
            raise FeedStopped("not connected")
        self.streams.append(list(symbols))
        return self._ticks()

    async def _ticks(self) -> AsyncIterator[Tick]:
        try:
            number = self.first
            while self.count is None or number < self.first + self.count:
                yield trade(number)
                number += 1
                await asyncio.sleep(0)
            if self.then == "raise":
                raise FeedStopped("connection lost")
            if self.then == "silent":
                await asyncio.Event().wait()
        finally:
            self.closed += 1

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        self.bars_asked += 1
        if isinstance(self.bars_answer, Exception):
            raise self.bars_answer
        return self.bars_answer


async def take(ticks: AsyncIterator[Tick], count: int) -> list[tuple[str, int]]:
    taken: list[tuple[str, int]] = []
    async for tick in ticks:
        assert isinstance(tick, Trade)
        taken.append((tick.provider, tick.trade_id))
        if len(taken) == count:
            break
    await ticks.aclose()  # type: ignore[attr-defined]
    return taken


def feed(
    primary: Fake, secondary: Fake, switches: list[tuple[str, str]] | None = None
) -> tuple[FailoverFeed, ManualClock]:
    clock = ManualClock(T0)
    listener = None if switches is None else lambda old, new: switches.append((old, new))
    return FailoverFeed(primary, secondary, clock=clock, silence=TINY, on_switch=listener), clock


@pytest.mark.parametrize("then", ["end", "raise", "silent"])
async def test_it_switches_when_the_primary_ends_fails_or_goes_silent(
    then: str, caplog: pytest.LogCaptureFixture
) -> None:
    primary, secondary = Fake("alpha", 1, 3, then), Fake("beta", 100, None)
    switches: list[tuple[str, str]] = []
    failover, clock = feed(primary, secondary, switches)
    assert failover.active == "alpha"
    assert failover.switched_at is None
    with caplog.at_level(logging.WARNING):
        ticks = await take(failover.stream(["AAPL"]), 6)
    assert ticks == [("alpha", n) for n in (1, 2, 3)] + [("beta", n) for n in (100, 101, 102)]
    assert failover.active == "beta"
    assert failover.name == "beta"
    assert failover.switched_at == clock.now()
    assert switches == [("alpha", "beta")]
    assert primary.closed == 1
    assert secondary.streams == [["AAPL"]]
    reason = {"end": "ended", "raise": "connection lost", "silent": "silent for 0.05 s"}[then]
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "alpha" in warning.getMessage()
    assert reason in warning.getMessage()
    assert "switching to beta" in warning.getMessage()


async def test_a_primary_that_cannot_start_is_passed_over() -> None:
    primary, secondary = Fake("alpha", 1, 3, "refuse"), Fake("beta", 100, None)
    failover, _ = feed(primary, secondary)
    assert await take(failover.stream(["AAPL"]), 2) == [("beta", 100), ("beta", 101)]
    assert failover.active == "beta"


async def test_it_stays_on_the_secondary_once_switched() -> None:
    primary, secondary = Fake("alpha", 1, 1, "raise"), Fake("beta", 100, None)
    switches: list[tuple[str, str]] = []
    failover, _ = feed(primary, secondary, switches)
    await take(failover.stream(["AAPL"]), 2)
    assert await take(failover.stream(["AAPL", "MSFT"]), 2) == [("beta", 100), ("beta", 101)]
    assert len(primary.streams) == 1
    assert secondary.streams == [["AAPL"], ["AAPL", "MSFT"]]
    assert switches == [("alpha", "beta")]


async def test_a_healthy_primary_is_kept_and_closed_when_the_reader_stops() -> None:
    primary, secondary = Fake("alpha", 1, None), Fake("beta", 100, None)
    failover, _ = feed(primary, secondary)
    assert await take(failover.stream(["AAPL"]), 4) == [("alpha", n) for n in range(1, 5)]
    assert failover.active == "alpha"
    assert primary.closed == 1
    assert secondary.streams == []


async def test_cancelling_the_reader_is_not_a_failure() -> None:
    primary, secondary = Fake("alpha", 1, 1, "silent"), Fake("beta", 100, None)
    switches: list[tuple[str, str]] = []
    failover = FailoverFeed(
        primary,
        secondary,
        clock=ManualClock(T0),
        silence=timedelta(hours=1),
        on_switch=lambda old, new: switches.append((old, new)),
    )
    first = asyncio.Event()

    async def read() -> None:
        async for _ in failover.stream(["AAPL"]):
            first.set()

    reader = asyncio.create_task(read())
    await first.wait()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert failover.active == "alpha"
    assert switches == []
    assert primary.closed == 1


async def test_a_failing_switch_listener_does_not_stop_the_feed() -> None:
    def explode(old: str, new: str) -> None:
        raise RuntimeError("listener bug")

    failover = FailoverFeed(
        Fake("alpha", 1, 1), Fake("beta", 100, None), clock=ManualClock(T0), on_switch=explode
    )
    assert await take(failover.stream(["AAPL"]), 3) == [("alpha", 1), ("beta", 100), ("beta", 101)]


async def test_ticks_keep_the_provider_they_name() -> None:
    named = Fake("alpha", 1, 1)
    original = named._ticks

    async def signed() -> AsyncIterator[Tick]:
        async for tick in original():
            assert isinstance(tick, Trade)
            yield Trade(tick.symbol, tick.price, tick.size, tick.timestamp, 9, provider="iex")

    named._ticks = signed  # type: ignore[method-assign]
    failover, _ = feed(named, Fake("beta", 100, None))
    assert await take(failover.stream(["AAPL"]), 2) == [("iex", 9), ("beta", 100)]


async def test_bars_come_from_the_primary_and_from_the_secondary_when_it_fails() -> None:
    primary, secondary = Fake("alpha", 1, None), Fake("beta", 100, None)
    primary.bars_answer, secondary.bars_answer = [bar("1.5")], [bar("2.5")]
    failover, _ = feed(primary, secondary)
    assert await failover.bars("AAPL", Timeframe.DAY, T0, T0 + timedelta(days=1)) == [bar("1.5")]
    assert secondary.bars_asked == 0
    primary.bars_answer = FeedStopped("rate limited")
    assert await failover.bars("AAPL", Timeframe.DAY, T0, T0 + timedelta(days=1)) == [bar("2.5")]
    assert (primary.bars_asked, secondary.bars_asked) == (2, 1)
    secondary.bars_answer = RuntimeError("both down")
    with pytest.raises(RuntimeError, match="both down"):
        await failover.bars("AAPL", Timeframe.DAY, T0, T0 + timedelta(days=1))


def test_the_silence_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FailoverFeed(Fake("a", 1, 1), Fake("b", 1, 1), clock=ManualClock(T0), silence=timedelta(0))
