"""portfolio domain: Positions, tax lots, valuation, P&L, performance and risk metrics, portfolio
history.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
