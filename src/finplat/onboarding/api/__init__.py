"""Onboarding's HTTP surface: /kyc (the customer's case), /compliance (staff), /webhooks."""

from fastapi import APIRouter

from finplat.onboarding.api.compliance import router as compliance_router
from finplat.onboarding.api.customer import router as customer_router
from finplat.onboarding.api.webhooks import router as webhook_router


def onboarding_routers() -> list[APIRouter]:
    return [customer_router, compliance_router, webhook_router]


__all__ = ["onboarding_routers"]
