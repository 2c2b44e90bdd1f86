"""Where the paper venue's quotes come from, and how much of a quote is left.

From the live feed's `on_tick` listeners when the feed runs in this process: the quote
objects themselves (exact decimals, no JSON round trip), handed over synchronously and in
order, so a test that calls `feed.ingest` drives the venue. Where no feed runs in this
process (the split roles, where the Redis bridge republishes quotes into each process's
hub, or a process whose feed has not started yet), from the stream hub's quote channel,
which carries the same quotes as JSON (conflated per symbol, which the venue does anyway).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from finplat import marketdata
from finplat.trading.domain.orders import Side
from finplat.trading.venues.paper_matching import Touch

log = logging.getLogger(__name__)

Deliver = Callable[[marketdata.Quote], None]


@dataclass
class Book:
    """A symbol's current quote and the size orders have left of it: orders take from a
    quote in arrival order, and what one took is gone for the next until a new quote."""

    quote: marketdata.Quote
    bid_left: Decimal
    ask_left: Decimal

    @classmethod
    def of(cls, quote: marketdata.Quote) -> Book:
        return cls(quote, quote.bid_size, quote.ask_size)

    def touch(self) -> Touch:
        q = self.quote
        return Touch(q.bid_price, self.bid_left, q.ask_price, self.ask_left)

    def take(self, side: Side, qty: Decimal) -> None:
        if side is Side.BUY:
            self.ask_left = max(self.ask_left - qty, Decimal(0))
        else:
            self.bid_left = max(self.bid_left - qty, Decimal(0))


class _Mailbox(Protocol):
    """A stream hub subscriber, as far as the venue uses it."""

    def subscribe(self, channel: str, symbols: Iterable[str]) -> None: ...

    def pending(self) -> int: ...

    async def next_batch(self, limit: int | None = None) -> list[str]: ...

    def close(self) -> None: ...


class QuoteTap:
    """Quotes delivered to `deliver` until `close`."""

    def __init__(self, kit: marketdata.MarketDataKit, deliver: Deliver) -> None:
        self._deliver = deliver
        self._feed = kit.feed
        self._mailbox: _Mailbox | None = None
        self._reader: asyncio.Task[None] | None = None
        if self._feed is not None:
            self._feed.on_tick.append(self._on_tick)
            return
        mailbox: _Mailbox = kit.hub.subscriber()
        mailbox.subscribe("quotes", ["*"])
        self._mailbox = mailbox
        self._reader = asyncio.create_task(self._read(mailbox), name="paper-venue-quotes")

    @property
    def source(self) -> str:
        return "feed" if self._feed is not None else "hub"

    def pending(self) -> int:
        """Quotes received but not yet delivered (the hub's mailbox)."""
        return 0 if self._mailbox is None else self._mailbox.pending()

    def close(self) -> None:
        if self._feed is not None:
            self._feed.on_tick.remove(self._on_tick)
        if self._reader is not None:
            self._reader.cancel()
        if self._mailbox is not None:
            self._mailbox.close()
            self._mailbox = None

    def _on_tick(self, tick: marketdata.Quote | marketdata.Trade) -> None:
        if isinstance(tick, marketdata.Quote):
            self._deliver(tick)

    async def _read(self, mailbox: _Mailbox) -> None:
        while batch := await mailbox.next_batch():
            for message in batch:
                try:
                    quote = decode_quote(message)
                except (ValueError, KeyError, ArithmeticError):
                    log.warning("paper venue: an unreadable quote from the hub: %.200s", message)
                    continue
                if quote is not None:
                    self._deliver(quote)


def decode_quote(message: str) -> marketdata.Quote | None:
    """A quote from the hub's JSON (`{"type": "quote", ...}`); None for anything else."""
    data = json.loads(message)
    if data.get("type") != "quote":
        return None
    return marketdata.Quote(
        symbol=data["symbol"],
        bid_price=Decimal(data["bid_price"]),
        bid_size=Decimal(data["bid_size"]),
        ask_price=Decimal(data["ask_price"]),
        ask_size=Decimal(data["ask_size"]),
        timestamp=_parse_time(data["timestamp"]),
        provider=data.get("provider", ""),
        stale=bool(data.get("stale", False)),
    )


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
