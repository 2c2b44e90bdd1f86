"""reporting domain: Regulatory and customer reports, validation against official schemas, archive
and schedule.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
