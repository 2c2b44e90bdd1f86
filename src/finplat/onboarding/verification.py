"""Document verification behind one interface: `local` reads the MRZ itself; `webhook` asks a
third-party verifier, which answers later through a signed callback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from finplat.onboarding.document_check import ApplicantFacts, check_document
from finplat.onboarding.mrz import parse_mrz
from finplat.onboarding.verifier_webhook import WebhookVerifier

IDENTITY_DOCUMENTS = frozenset({"passport", "id_card"})


@dataclass(frozen=True)
class DocumentToVerify:
    case_id: str
    document_id: str
    kind: str
    sha256: str
    mrz: str | None
    facts: ApplicantFacts
    today: date


@dataclass(frozen=True)
class VerificationOutcome:
    status: Literal["passed", "failed", "pending"]
    reasons: tuple[dict[str, str], ...] = field(default_factory=tuple)
    request_id: str | None = None


class DocumentVerifier(Protocol):
    name: str

    async def verify(self, document: DocumentToVerify) -> VerificationOutcome: ...


class LocalVerifier:
    """Parses the MRZ the customer typed from the document and checks it against the
    application: every check digit, expiry, name, date of birth, nationality and sex."""

    name = "local"

    async def verify(self, document: DocumentToVerify) -> VerificationOutcome:
        if not document.mrz:
            return VerificationOutcome(
                "failed",
                (
                    {
                        "code": "mrz_missing",
                        "field": "mrz",
                        "message": "Enter the machine-readable zone (the lines of <<< at the "
                        "bottom of the photo page) of this document.",
                    },
                ),
            )
        reading = parse_mrz(document.mrz, today=document.today)
        verdict = check_document(reading, document.facts, today=document.today)
        reasons = tuple(
            {"code": reason.code, "field": reason.field or "", "message": reason.message}
            for reason in verdict.reasons
        )
        return VerificationOutcome("passed" if verdict.status == "passed" else "failed", reasons)


class WebhookDocumentVerifier:
    """Sends the document to an external verifier; the outcome arrives at the callback."""

    name = "webhook"

    def __init__(self, client: WebhookVerifier, callback_url: str) -> None:
        self._client = client
        self._callback_url = callback_url

    async def verify(self, document: DocumentToVerify) -> VerificationOutcome:
        request_id = await self._client.request_verification(
            case_id=document.case_id,
            document_id=document.document_id,
            document_type=document.kind,
            callback_url=self._callback_url,
            image_sha256=document.sha256,
        )
        return VerificationOutcome("pending", request_id=request_id)
