"""What onboarding's use cases need, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from finplat.kernel import Clock
from finplat.onboarding.screening import Screener
from finplat.onboarding.verification import DocumentVerifier
from finplat.platform.crypto import BlindIndex, FieldCipher
from finplat.platform.db import UnitOfWorkFactory


@dataclass(frozen=True)
class OnboardingPolicy:
    minimum_age: int
    document_max_bytes: int
    screening_threshold: float
    verifier_secret: bytes = b""


@dataclass
class ScreeningIndexRef:
    """The in-memory screening index; replaced whole when a list is loaded. None until the
    first load from the database succeeds (screening is then unavailable, not empty)."""

    screener: Screener | None = None


@dataclass
class OnboardingKit:
    uows: UnitOfWorkFactory
    clock: Clock
    cipher: FieldCipher
    blind_index: BlindIndex
    verifier: DocumentVerifier
    policy: OnboardingPolicy
    screening: ScreeningIndexRef = field(default_factory=ScreeningIndexRef)

    def today(self) -> date:
        return self.clock.now().date()
