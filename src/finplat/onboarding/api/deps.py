"""Typed dependency aliases for onboarding's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from finplat.identity import IdentityKit, Origin, identity_kit, request_origin
from finplat.onboarding.context import OnboardingKit


def onboarding_kit(request: Request) -> OnboardingKit:
    kit = request.app.state.onboarding
    assert isinstance(kit, OnboardingKit)  # noqa: S101 - wired by the composition root
    return kit


Kit = Annotated[OnboardingKit, Depends(onboarding_kit)]
Identity = Annotated[IdentityKit, Depends(identity_kit)]
RequestOrigin = Annotated[Origin, Depends(request_origin)]
