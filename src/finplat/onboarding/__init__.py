"""onboarding domain: KYC cases, documents and their verification (ICAO 9303 MRZ), sanctions
and PEP screening, customer risk rating, and the compliance review.

This package is its public face: other domains import only from here (or consume its events).
Trading and funding gate on `is_kyc_approved`.
"""

from finplat.onboarding.api import onboarding_routers
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.domain import CaseStatus, RiskRating
from finplat.onboarding.events import ONBOARDING_EVENTS
from finplat.onboarding.facade import is_kyc_approved, kyc_status
from finplat.onboarding.paper import approve_paper_case, is_paper_case
from finplat.onboarding.review import approve_high_risk
from finplat.onboarding.screening_service import (
    count_screenable,
    load_list,
    rebuild_index,
    rescreen_all,
)
from finplat.onboarding.setup import build_onboarding_kit
from finplat.onboarding.store import encrypted_columns

__all__ = [
    "ONBOARDING_EVENTS",
    "CaseStatus",
    "OnboardingKit",
    "RiskRating",
    "approve_high_risk",
    "approve_paper_case",
    "build_onboarding_kit",
    "count_screenable",
    "encrypted_columns",
    "is_kyc_approved",
    "is_paper_case",
    "kyc_status",
    "load_list",
    "onboarding_routers",
    "rebuild_index",
    "rescreen_all",
]
