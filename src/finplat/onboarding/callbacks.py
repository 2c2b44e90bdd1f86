"""Accepting a third-party verifier's signed callback: signature, freshness, no replays."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from finplat.kernel import InvalidInput, NotFound, Unauthenticated
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.store import documents, webhook_replays
from finplat.onboarding.submission import conclude_checks
from finplat.onboarding.verifier_webhook import check_signature, parse_callback, replay_key

TOLERANCE = timedelta(minutes=5)


async def accept_verifier_callback(
    kit: OnboardingKit, *, body: bytes, signature: str | None, timestamp: str | None
) -> None:
    secret = kit.policy.verifier_secret
    if not secret:
        raise NotFound("no external verifier is configured", code="verifier_not_configured")
    now = kit.clock.now()
    check = check_signature(
        secret, signature=signature, timestamp=timestamp, body=body, now=now, tolerance=TOLERANCE
    )
    if not check.ok:
        raise Unauthenticated(f"callback refused: {check.reason}", code="invalid_signature")
    assert signature is not None  # noqa: S101 - a passing check had a signature
    try:
        callback = parse_callback(body)
        document_id = uuid.UUID(callback.document_id)
    except ValueError as exc:
        raise InvalidInput(f"malformed callback: {exc}", code="malformed_callback") from None
    async with kit.uows() as uow:
        await uow.session.execute(
            delete(webhook_replays).where(webhook_replays.c.seen_at < now - 2 * TOLERANCE)
        )
        try:
            async with uow.session.begin_nested():
                await uow.session.execute(
                    insert(webhook_replays).values(key=replay_key(signature), seen_at=now)
                )
        except IntegrityError:
            raise Unauthenticated("callback refused: replayed", code="invalid_signature") from None
        row = (
            await uow.session.execute(
                select(documents.c.id, documents.c.case_id)
                .where(documents.c.provider_request_id == callback.request_id)
                .where(documents.c.id == document_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("no document awaits this verification", code="unknown_request")
        reasons = [
            {"code": "verifier", "field": "", "message": reason} for reason in callback.reasons
        ]
        await uow.session.execute(
            update(documents)
            .where(documents.c.id == row.id)
            .values(verification_status=callback.status, verification_reasons=reasons)
        )
        await conclude_checks(uow, row.case_id)
