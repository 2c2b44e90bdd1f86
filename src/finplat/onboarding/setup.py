"""Builds onboarding's kit from the settings (called by the composition root)."""

from __future__ import annotations

import httpx

from finplat.kernel import Clock
from finplat.onboarding.context import OnboardingKit, OnboardingPolicy
from finplat.onboarding.verification import DocumentVerifier, LocalVerifier, WebhookDocumentVerifier
from finplat.onboarding.verifier_webhook import WebhookVerifier
from finplat.platform.crypto import BlindIndex, FieldCipher
from finplat.platform.db import UnitOfWorkFactory
from finplat.platform.settings import Settings

CALLBACK_PATH = "/api/v1/webhooks/document-verification"


def build_verifier(settings: Settings, clock: Clock) -> DocumentVerifier:
    if settings.document_verifier == "webhook":
        client = WebhookVerifier(
            settings.document_verifier_url,
            settings.document_verifier_secret.get_secret_value().encode(),
            httpx.AsyncClient(timeout=10),
            clock,
        )
        callback = settings.public_base_url.rstrip("/") + CALLBACK_PATH
        return WebhookDocumentVerifier(client, callback)
    return LocalVerifier()


def build_onboarding_kit(
    settings: Settings,
    uows: UnitOfWorkFactory,
    clock: Clock,
    cipher: FieldCipher,
    blind_index: BlindIndex,
) -> OnboardingKit:
    return OnboardingKit(
        uows=uows,
        clock=clock,
        cipher=cipher,
        blind_index=blind_index,
        verifier=build_verifier(settings, clock),
        policy=OnboardingPolicy(
            minimum_age=settings.kyc_minimum_age,
            document_max_bytes=settings.document_max_bytes,
            screening_threshold=settings.screening_threshold,
            verifier_secret=settings.document_verifier_secret.get_secret_value().encode(),
        ),
    )
