"""Builds market data's kit and its provider from settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from finplat.kernel import Clock
from finplat.marketdata.cache import build_market_cache
from finplat.marketdata.calendars import calendar_for
from finplat.marketdata.context import HistoryPolicy, MarketDataKit
from finplat.marketdata.domain import Instrument
from finplat.marketdata.hub import StreamHub
from finplat.marketdata.providers import MarketDataProvider
from finplat.marketdata.providers.alpaca import AlpacaProvider
from finplat.marketdata.providers.failover import FailoverFeed
from finplat.marketdata.providers.replay import ReplayProvider
from finplat.marketdata.providers.simulated import SimulatedProvider
from finplat.platform.db import UnitOfWorkFactory
from finplat.platform.settings import Settings


class ProviderNotConfigured(ValueError):
    pass


def build_provider(
    name: str, settings: Settings, instruments: Sequence[Instrument], clock: Clock
) -> MarketDataProvider:
    if name == "simulated":
        return SimulatedProvider(
            instruments,
            seed=settings.marketdata_seed,
            clock=clock,
            tick_interval=timedelta(milliseconds=settings.marketdata_tick_interval_ms),
            calendar_for=calendar_for,
        )
    if name == "replay":
        if settings.marketdata_replay_path is None:
            raise ProviderNotConfigured("the replay provider needs FINPLAT_MARKETDATA_REPLAY_PATH")
        return ReplayProvider(
            settings.marketdata_replay_path,
            speed=float(settings.marketdata_replay_speed),  # a pace, not a price
            clock=clock,
        )
    if name == "alpaca":
        secret = settings.alpaca_secret_key.get_secret_value()
        if not settings.alpaca_key_id or not secret:
            raise ProviderNotConfigured(
                "the alpaca provider needs FINPLAT_ALPACA_KEY_ID and FINPLAT_ALPACA_SECRET_KEY"
            )
        return AlpacaProvider(
            settings.alpaca_key_id,
            secret,
            feed=settings.alpaca_data_feed,
            rest_url=settings.alpaca_data_url,
            stream_url=settings.alpaca_stream_url,
            clock=clock,
        )
    raise ProviderNotConfigured(f"unknown market data provider {name!r}")


def build_marketdata_kit(
    settings: Settings, uows: UnitOfWorkFactory, clock: Clock
) -> MarketDataKit:
    kit: MarketDataKit

    def provider_factory(instruments: Sequence[Instrument]) -> MarketDataProvider:
        primary = build_provider(settings.marketdata_provider, settings, instruments, clock)
        if settings.marketdata_secondary == "none":
            return primary
        secondary = build_provider(settings.marketdata_secondary, settings, instruments, clock)
        return FailoverFeed(
            primary,
            secondary,
            clock=clock,
            silence=timedelta(seconds=settings.marketdata_silence_seconds),
            on_switch=lambda old, _new: kit.mark_dead_soon(old),
        )

    kit = MarketDataKit(
        uows=uows,
        clock=clock,
        cache=build_market_cache(
            settings.marketdata_cache_backend,
            settings.redis_url,
            prefix=f"{settings.redis_key_prefix}md:",
        ),
        hub=StreamHub(),
        provider_factory=provider_factory,
        history=HistoryPolicy(
            daily_days=settings.marketdata_daily_history_days,
            minute_days=settings.marketdata_minute_history_days,
        ),
    )
    return kit
