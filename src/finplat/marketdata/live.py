"""Bars forming from live trades: one builder per symbol and timeframe.

A minute bar is final when the first trade of a later minute arrives (or when `close_due`
finds its minute over). Hour and day bars grow with every trade; they are saved while they
form, so a restart resumes them from the database with `resume`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from finplat.marketdata.domain import Bar, BarBuilder, Timeframe, Trade

TIMEFRAMES = (Timeframe.MINUTE, Timeframe.HOUR, Timeframe.DAY)


class LiveBars:
    def __init__(self, zones: dict[str, ZoneInfo]) -> None:
        self._zones = zones
        self._builders: dict[tuple[str, Timeframe], BarBuilder] = {}
        self._dirty: dict[tuple[str, Timeframe, datetime], Bar] = {}
        self.closed: list[Bar] = []  # final minute bars not yet published on the stream

    def zone(self, symbol: str) -> ZoneInfo:
        return self._zones.get(symbol, ZoneInfo("UTC"))

    def resume(self, stored: Iterable[Bar], now: datetime) -> None:
        """Continue the hour and day bars that were forming when the process stopped."""
        for bar in stored:
            if bar.timeframe is Timeframe.MINUTE:
                continue
            if bar.start == bar.timeframe.bucket(now, self.zone(bar.symbol)):
                self._builders[bar.symbol, bar.timeframe] = BarBuilder.from_bar(
                    bar, bar.timeframe, bar.start
                )

    def add(self, trade: Trade) -> None:
        zone = self.zone(trade.symbol)
        for timeframe in TIMEFRAMES:
            key = (trade.symbol, timeframe)
            start = timeframe.bucket(trade.timestamp, zone)
            builder = self._builders.get(key)
            if builder is not None and start < builder.start:
                continue  # a late trade for a bar already finished: the bar stays as it was
            if builder is None or start > builder.start:
                if builder is not None:
                    self._finish(builder)
                builder = BarBuilder.from_trade(trade, timeframe, start)
                self._builders[key] = builder
            else:
                builder.add_trade(trade)
            if timeframe is not Timeframe.MINUTE:
                self._mark(builder.bar())

    def close_due(self, now: datetime) -> None:
        """Finish minute bars whose minute is over although no later trade came."""
        for (symbol, timeframe), builder in list(self._builders.items()):
            if timeframe is Timeframe.MINUTE and builder.start + timeframe.length <= now:
                self._finish(builder)
                del self._builders[symbol, timeframe]

    def current(self, symbol: str, timeframe: Timeframe) -> Bar | None:
        builder = self._builders.get((symbol, timeframe))
        return None if builder is None else builder.bar()

    def take_dirty(self) -> list[Bar]:
        """Bars to save: final minute bars and the latest state of forming hour/day bars."""
        dirty = list(self._dirty.values())
        self._dirty.clear()
        return dirty

    def restore_dirty(self, bars: Iterable[Bar]) -> None:
        """Put back bars whose save failed, unless a newer state of the same bar is waiting."""
        for bar in bars:
            self._dirty.setdefault((bar.symbol, bar.timeframe, bar.start), bar)

    def take_closed(self) -> list[Bar]:
        closed, self.closed = self.closed, []
        return closed

    def _finish(self, builder: BarBuilder) -> None:
        bar = builder.bar()
        self._mark(bar)
        if bar.timeframe is Timeframe.MINUTE:
            self.closed.append(bar)

    def _mark(self, bar: Bar) -> None:
        self._dirty[bar.symbol, bar.timeframe, bar.start] = bar
