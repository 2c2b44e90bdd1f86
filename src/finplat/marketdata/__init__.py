"""marketdata domain: Instruments, calendars, market-data providers, quotes/trades/bars and
streaming.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
