"""onboarding domain: KYC cases, documents and their verification, sanctions/PEP screening,
customer risk rating.

This package is its public face: other domains import only from here (or consume its
events). It holds no code yet; see the open issues for what lands here.
"""
