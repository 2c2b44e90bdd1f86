"""identity domain: Users, credentials, sessions and tokens, MFA, roles and permissions, API keys
and the audit log.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
