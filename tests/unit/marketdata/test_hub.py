"""The stream hub: routing, conflation, backlog limits, snapshots and waiting."""

from __future__ import annotations

import asyncio

import pytest

from finplat.marketdata.hub import StreamHub


def test_quotes_conflate_to_the_newest_per_symbol() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("quotes", ["AAPL", "MSFT"])
    hub.publish("quotes", "AAPL", "aapl-1")
    hub.publish("quotes", "MSFT", "msft-1")
    hub.publish("quotes", "AAPL", "aapl-2")
    hub.publish("quotes", "AAPL", "aapl-3")
    assert listener.drain() == ["aapl-3", "msft-1"]
    assert listener.conflated == 2
    assert listener.drain() == []


def test_trades_and_bars_are_kept_in_order_before_the_quotes() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("quotes", ["AAPL"])
    listener.subscribe("trades", ["AAPL"])
    listener.subscribe("bars", ["AAPL"])
    hub.publish("trades", "AAPL", "t1")
    hub.publish("quotes", "AAPL", "q1")
    hub.publish("bars", "AAPL", "b1")
    hub.publish("trades", "AAPL", "t2")
    hub.publish("quotes", "AAPL", "q2")
    assert listener.drain() == ["t1", "b1", "t2", "q2"]
    assert listener.conflated == 1


def test_a_backlog_past_its_limit_flags_the_subscriber_and_drops_everything() -> None:
    hub = StreamHub()
    slow = hub.subscriber(max_backlog=3)
    fast = hub.subscriber(max_backlog=3)
    slow.subscribe("trades", ["AAPL"])
    slow.subscribe("quotes", ["AAPL"])
    fast.subscribe("trades", ["AAPL"])
    hub.publish("quotes", "AAPL", "q1")
    for n in range(3):
        hub.publish("trades", "AAPL", f"t{n}")
        assert fast.drain() == [f"t{n}"]
    assert slow.pending() == 4  # the quote and three trades, at the limit
    hub.publish("trades", "AAPL", "t3")
    assert (slow.overflowed, slow.pending()) == (True, 0)
    hub.publish("trades", "AAPL", "t4")
    hub.publish("quotes", "AAPL", "q2")
    assert slow.drain() == []
    assert fast.drain() == ["t3", "t4"]
    assert not fast.overflowed


async def test_an_overflowed_subscriber_gets_an_empty_batch() -> None:
    hub = StreamHub()
    slow = hub.subscriber(max_backlog=1)
    slow.subscribe("trades", ["*"])
    hub.publish("trades", "AAPL", "t1")
    hub.publish("trades", "MSFT", "t2")
    assert await asyncio.wait_for(slow.next_batch(), 5) == []
    assert slow.overflowed


def test_unsubscribe_stops_delivery() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("trades", ["AAPL", "MSFT"])
    hub.publish("trades", "AAPL", "a1")
    listener.unsubscribe("trades", ["AAPL"])
    hub.publish("trades", "AAPL", "a2")
    hub.publish("trades", "MSFT", "m1")
    assert listener.drain() == ["a1", "m1"]
    assert listener.subscriptions["trades"] == {"MSFT"}
    assert not hub.wants("trades", "AAPL")
    assert hub.wants("trades", "MSFT")


def test_the_wildcard_receives_every_symbol_once() -> None:
    hub = StreamHub()
    everything = hub.subscriber()
    everything.subscribe("trades", ["*", "AAPL"])
    only_msft = hub.subscriber()
    only_msft.subscribe("trades", ["MSFT"])
    assert hub.publish("trades", "AAPL", "a1") == 1
    assert hub.publish("trades", "MSFT", "m1") == 2
    assert hub.publish("quotes", "MSFT", "q1") == 0
    assert everything.drain() == ["a1", "m1"]
    assert only_msft.drain() == ["m1"]
    assert hub.wants("trades", "TSLA")
    assert not hub.wants("quotes", "TSLA")
    assert not hub.wants("bars", "AAPL")


def test_an_unknown_channel_is_refused() -> None:
    hub = StreamHub()
    with pytest.raises(ValueError, match="news"):
        hub.subscriber().subscribe("news", ["AAPL"])


def test_closing_removes_every_route() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("quotes", ["AAPL"])
    listener.subscribe("trades", ["*"])
    assert hub.subscriber_count == 1
    listener.close()
    assert hub.subscriber_count == 0
    assert not hub.wants("quotes", "AAPL")
    assert not hub.wants("trades", "AAPL")
    assert hub.publish("trades", "AAPL", "t1") == 0
    assert listener.drain() == []


def test_a_snapshot_fills_only_a_symbol_nothing_newer_arrived_for() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("quotes", ["AAPL", "MSFT"])
    hub.publish("quotes", "MSFT", "msft-live")
    assert listener.prime("quotes", "AAPL", "aapl-cached")
    assert not listener.prime("quotes", "MSFT", "msft-cached")  # the live one is newer
    assert not listener.prime("quotes", "AAPL", "aapl-cached-again")
    assert not listener.prime("quotes", "TSLA", "not-subscribed")
    assert listener.drain() == ["msft-live", "aapl-cached"]


def test_a_snapshot_is_not_sent_after_the_live_quote_was() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("quotes", ["AAPL"])
    hub.publish("quotes", "AAPL", "aapl-live")
    assert listener.drain() == ["aapl-live"]
    assert not listener.prime("quotes", "AAPL", "aapl-cached")
    assert listener.drain() == []


def test_a_limited_drain_takes_the_oldest_facts_first() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("quotes", ["*"])
    listener.subscribe("trades", ["*"])
    hub.publish("quotes", "AAPL", "q-aapl")
    hub.publish("quotes", "MSFT", "q-msft")
    for n in range(3):
        hub.publish("trades", "AAPL", f"t{n}")
    assert listener.drain(2) == ["t0", "t1"]
    assert listener.drain(2) == ["t2", "q-aapl"]
    assert listener.drain_entries(2) == [("quotes", "MSFT", "q-msft")]
    assert listener.pending() == 0


async def test_a_waiting_subscriber_wakes_with_everything_published_meanwhile() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("trades", ["AAPL"])
    waiting = asyncio.create_task(listener.next_batch())
    await asyncio.sleep(0)
    assert not waiting.done()
    hub.publish("trades", "AAPL", "t1")
    hub.publish("trades", "AAPL", "t2")
    assert await asyncio.wait_for(waiting, 5) == ["t1", "t2"]


async def test_closing_wakes_a_waiting_subscriber_empty_handed() -> None:
    hub = StreamHub()
    listener = hub.subscriber()
    listener.subscribe("trades", ["AAPL"])
    waiting = asyncio.create_task(listener.next_entries())
    await asyncio.sleep(0)
    listener.close()
    assert await asyncio.wait_for(waiting, 5) == []
    assert not listener.overflowed
