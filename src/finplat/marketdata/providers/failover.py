"""A feed that falls back to a second provider when the first stops.

`stream` reads the primary until it raises, ends, or says nothing for longer than `silence`;
then it switches to the secondary for good (switching back would need a health check of the
primary that this class does not attempt; a restart returns to the primary). `bars` asks the
primary and, when it raises, the secondary, whichever feed is streaming.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from finplat.kernel import Clock
from finplat.marketdata.domain import Bar, Tick, Timeframe
from finplat.marketdata.providers.base import MarketDataProvider

__all__ = ["FailoverFeed"]

log = logging.getLogger(__name__)

OnSwitch = Callable[[str, str], None]


class FailoverFeed:
    """`primary` while it lives, then `secondary`; itself a MarketDataProvider."""

    def __init__(
        self,
        primary: MarketDataProvider,
        secondary: MarketDataProvider,
        *,
        clock: Clock,
        silence: timedelta = timedelta(seconds=5),
        on_switch: OnSwitch | None = None,
    ) -> None:
        if silence <= timedelta(0):
            raise ValueError("the silence allowed must be positive")
        self._primary = primary
        self._secondary = secondary
        self._clock = clock
        self._silence = silence.total_seconds()
        self._on_switch = on_switch
        self._active = primary
        self.switched_at: datetime | None = None

    @property
    def name(self) -> str:
        """The provider in use, so that a consumer that marks a dead feed marks the right one."""
        return self._active.name

    @property
    def active(self) -> str:
        return self._active.name

    async def aclose(self) -> None:
        """Close both providers' connections (those that hold any)."""
        for provider in (self._primary, self._secondary):
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        return self._ticks(list(symbols))

    async def _ticks(self, symbols: list[str]) -> AsyncIterator[Tick]:
        if self._active is self._primary:
            stopped = _Stopped("ended")
            async with _closing(self._watched(symbols)) as events:
                async for event in events:
                    if isinstance(event, _Stopped):
                        stopped = event
                        break
                    yield event
            self._switch(stopped.reason)
        async with _closing(self._secondary.stream(symbols)) as ticks:
            async for tick in ticks:
                yield _signed(tick, self._secondary.name)

    async def _watched(self, symbols: list[str]) -> AsyncIterator[Tick | _Stopped]:
        """The primary's ticks, then why it stopped if it did not simply end."""
        primary = self._primary
        try:
            ticks = primary.stream(symbols)
        except Exception as error:
            yield _Stopped(f"failed to start: {error!r}")
            return
        async with _closing(ticks):
            while True:
                try:
                    tick = await asyncio.wait_for(anext(ticks), self._silence)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    yield _Stopped(f"was silent for {self._silence:g} s")
                    return
                except Exception as error:  # FeedStopped, or whatever else a feed dies of
                    yield _Stopped(f"failed: {error!r}")
                    return
                yield _signed(tick, primary.name)

    def _switch(self, reason: str) -> None:
        old, new = self._primary.name, self._secondary.name
        self._active = self._secondary
        self.switched_at = self._clock.now()
        log.warning("market data feed %s %s; switching to %s", old, reason, new)
        if self._on_switch is not None:
            try:
                self._on_switch(old, new)
            except Exception:
                # A listener's failure must not take the feed down with it.
                log.exception("the failover listener failed on %s -> %s", old, new)

    async def bars(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[Bar]:
        try:
            return await self._primary.bars(symbol, timeframe, start, end)
        except Exception as error:
            log.warning(
                "bars of %s from %s failed (%r); asking %s",
                symbol,
                self._primary.name,
                error,
                self._secondary.name,
            )
            return await self._secondary.bars(symbol, timeframe, start, end)


@dataclass(frozen=True)
class _Stopped:
    reason: str


_T = TypeVar("_T")


@asynccontextmanager
async def _closing(iterator: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """Close an async generator when done with it, so that a feed given up on (or a stream
    its consumer stopped reading) lets go of its connection now, not when collected."""
    try:
        yield iterator
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            with suppress(Exception):
                await close()


def _signed(tick: Tick, provider: str) -> Tick:
    """The tick, naming the provider it came from if it does not already."""
    return tick if tick.provider else replace(tick, provider=provider)
