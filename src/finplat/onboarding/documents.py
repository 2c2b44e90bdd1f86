"""Identity documents: uploaded, type-checked by content, encrypted with a content hash,
readable only by their owner and by compliance staff (who are audited)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from finplat.identity import Principal, record_audit
from finplat.kernel import InvalidInput, NotFound, PermissionDenied, new_id
from finplat.onboarding.cases import load_case_for_update
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.domain import EDITABLE
from finplat.onboarding.store import DOCUMENT_CONTEXT, MRZ_CONTEXT, documents
from finplat.platform.db import UnitOfWork

DOCUMENT_KINDS = frozenset({"passport", "id_card", "residence_permit", "proof_of_address"})

#: Leading bytes of the accepted formats; the declared type and the file name are ignored.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def sniff_content_type(content: bytes) -> str:
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    raise InvalidInput(
        "upload a JPEG, PNG or PDF file (this file is none of these)",
        code="unsupported_document_type",
    )


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    content_type: str
    size: int
    sha256: str
    has_mrz: bool
    verification_status: str
    verification_reasons: list[dict[str, str]]
    uploaded_at: datetime


def _view(row: object) -> DocumentView:
    return DocumentView(
        id=row.id,  # type: ignore[attr-defined]
        case_id=row.case_id,  # type: ignore[attr-defined]
        kind=row.kind,  # type: ignore[attr-defined]
        content_type=row.content_type,  # type: ignore[attr-defined]
        size=row.size,  # type: ignore[attr-defined]
        sha256=row.sha256,  # type: ignore[attr-defined]
        has_mrz=row.mrz_encrypted is not None,  # type: ignore[attr-defined]
        verification_status=row.verification_status,  # type: ignore[attr-defined]
        verification_reasons=list(row.verification_reasons or []),  # type: ignore[attr-defined]
        uploaded_at=row.uploaded_at,  # type: ignore[attr-defined]
    )


async def upload(
    kit: OnboardingKit,
    uow: UnitOfWork,
    principal: Principal,
    *,
    kind: str,
    content: bytes,
    mrz: str | None,
) -> DocumentView:
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(
            f"kind must be one of {', '.join(sorted(DOCUMENT_KINDS))}", code="invalid_document_kind"
        )
    if not content:
        raise InvalidInput("the file is empty", code="empty_document")
    if len(content) > kit.policy.document_max_bytes:
        raise InvalidInput(
            f"documents may be at most {kit.policy.document_max_bytes} bytes",
            code="document_too_large",
        )
    content_type = sniff_content_type(content)
    case = await load_case_for_update(kit, uow, principal.user_id, create=True)
    if case.status not in EDITABLE:
        raise InvalidInput(
            "documents can be added while the application is a draft or needs information",
            code="case_not_editable",
        )
    document_id = new_id()
    values = {
        "id": document_id,
        "case_id": case.id,
        "user_id": principal.user_id,
        "kind": kind,
        "content_type": content_type,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "content_encrypted": kit.cipher.encrypt(content, context=DOCUMENT_CONTEXT),
        "mrz_encrypted": kit.cipher.encrypt(mrz.strip(), context=MRZ_CONTEXT) if mrz else None,
        "verification_status": "pending",
        "verification_reasons": [],
        "uploaded_at": uow.clock.now(),
    }
    await uow.session.execute(insert(documents).values(**values))
    row = (await uow.session.execute(select(documents).where(documents.c.id == document_id))).one()
    return _view(row)


async def set_mrz(
    kit: OnboardingKit, uow: UnitOfWork, principal: Principal, document_id: uuid.UUID, mrz: str
) -> DocumentView:
    case = await load_case_for_update(kit, uow, principal.user_id, create=False)
    if case.status not in EDITABLE:
        raise InvalidInput("the application cannot be changed now", code="case_not_editable")
    result = await uow.session.execute(
        update(documents)
        .where(documents.c.id == document_id)
        .where(documents.c.user_id == principal.user_id)
        .values(
            mrz_encrypted=kit.cipher.encrypt(mrz.strip(), context=MRZ_CONTEXT),
            verification_status="pending",
            verification_reasons=[],
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("no such document", code="document_not_found")
    row = (await uow.session.execute(select(documents).where(documents.c.id == document_id))).one()
    return _view(row)


async def list_documents(uow: UnitOfWork, case_id: uuid.UUID) -> list[DocumentView]:
    rows = await uow.session.execute(
        select(documents).where(documents.c.case_id == case_id).order_by(documents.c.uploaded_at)
    )
    return [_view(row) for row in rows]


@dataclass(frozen=True)
class DocumentContent:
    content: bytes
    content_type: str
    sha256: str


async def read_content(
    kit: OnboardingKit,
    uow: UnitOfWork,
    principal: Principal,
    document_id: uuid.UUID,
    *,
    as_staff: bool,
    ip: str | None,
) -> DocumentContent:
    """The decrypted file. Staff reads are audited; customers read only their own."""
    row = (
        await uow.session.execute(select(documents).where(documents.c.id == document_id))
    ).one_or_none()
    if row is None or (not as_staff and row.user_id != principal.user_id):
        raise NotFound("no such document", code="document_not_found")
    if as_staff:
        await record_audit(
            uow,
            action="kyc.document_viewed",
            actor_id=str(principal.user_id),
            actor_type=principal.kind,
            target_type="document",
            target_id=str(document_id),
            ip=ip,
            details={"case_id": str(row.case_id), "kind": row.kind},
        )
    content = kit.cipher.decrypt(row.content_encrypted, context=DOCUMENT_CONTEXT)
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise PermissionDenied(
            "the stored document fails its integrity check", code="document_corrupt"
        )
    return DocumentContent(content, row.content_type, row.sha256)
