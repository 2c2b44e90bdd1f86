"""trading domain: Orders and their state machine, pre-trade risk, order books and matching,
venues, executions, and the Alpaca-compatible API.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
