"""fraud domain: Fraud features, rules, models, scoring, alerts and cases.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
