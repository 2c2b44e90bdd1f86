"""/compliance: the KYC work queue, case detail, decisions, screening hits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from finplat.identity import Permission, Principal, require
from finplat.onboarding import documents, review, screening_service
from finplat.onboarding.api.deps import Identity, Kit, RequestOrigin
from finplat.onboarding.api.schemas import (
    ApproveIn,
    ApproveOut,
    CaseDetailOut,
    HitDecisionIn,
    HitOut,
    MessageIn,
    QueueItemOut,
)
from finplat.onboarding.api.views import application_out, document_out, hit_out
from finplat.onboarding.domain import CaseStatus, RiskRating

router = APIRouter(prefix="/compliance", tags=["compliance"])

Reader = Annotated[Principal, require(Permission.KYC_READ_ANY, mfa=True)]
Reviewer = Annotated[Principal, require(Permission.KYC_REVIEW, mfa=True)]


@router.get("/kyc/cases", name="list_kyc_queue")
async def list_kyc_queue(
    principal: Reader,
    kit: Kit,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    risk: RiskRating | None = None,
    open_hits: Annotated[
        bool | None, Query(description="only cases with (or without) open hits")
    ] = None,
    before: Annotated[datetime | None, Query(description="updated_at cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[QueueItemOut]:
    """Cases to work: in review, waiting on checks or on the customer (by default)."""
    async with kit.uows(read_only=True) as uow:
        items = await review.queue(
            uow, statuses=status, risk=risk, with_open_hits=open_hits, limit=limit, before=before
        )
    return [QueueItemOut(**vars(item)) for item in items]


@router.get("/kyc/cases/{case_id}", name="get_kyc_case")
async def get_kyc_case(case_id: uuid.UUID, principal: Reader, kit: Kit) -> CaseDetailOut:
    """Everything about a case: application, documents with their MRZ verdicts, screening
    hits with explanations, risk factors and the history of the case."""
    async with kit.uows(read_only=True) as uow:
        found = await review.detail(kit, uow, case_id)
        docs = await documents.list_documents(uow, case_id)
        hits = await screening_service.hits_of_user(uow, found.case.user_id)
    case = found.case
    return CaseDetailOut(
        id=case.id,
        user_id=case.user_id,
        status=case.status,
        version=case.version,
        risk_rating=case.risk_rating,
        risk_factors=case.risk_factors,
        message=case.customer_message,
        pending_approval_id=case.pending_approval_id,
        application=application_out(found.application),
        documents=[document_out(d) for d in docs],
        screening_hits=[hit_out(h) for h in hits],
        history=found.history,
    )


@router.get("/kyc/cases/{case_id}/documents/{document_id}/content", name="download_kyc_document")
async def download_kyc_document(
    case_id: uuid.UUID, document_id: uuid.UUID, principal: Reader, kit: Kit, origin: RequestOrigin
) -> Response:
    """The document file; every staff download is in the audit log."""
    async with kit.uows() as uow:  # writes the audit entry
        found = await documents.read_content(
            kit, uow, principal, document_id, as_staff=True, ip=origin.ip
        )
    return Response(
        found.content, media_type=found.content_type, headers={"Cache-Control": "no-store"}
    )


@router.post("/kyc/cases/{case_id}/request-info", name="request_kyc_info")
async def request_kyc_info(
    case_id: uuid.UUID, body: MessageIn, principal: Reviewer, kit: Kit, origin: RequestOrigin
) -> QueueItemOut:
    async with kit.uows() as uow:
        await review.request_info(uow, principal, case_id, body.message, origin)
        item = await review.queue_item(uow, case_id)
    return QueueItemOut(**vars(item))


@router.post(
    "/kyc/cases/{case_id}/approve", name="approve_kyc_case", responses={202: {"model": ApproveOut}}
)
async def approve_kyc_case(
    case_id: uuid.UUID,
    body: ApproveIn,
    principal: Reviewer,
    kit: Kit,
    identity: Identity,
    origin: RequestOrigin,
) -> Response:
    """Approve a case in review. A high-risk case needs a second approver: the answer is 202
    with the approval request another staff member decides at /admin/approvals."""
    async with kit.uows() as uow:
        result = await review.approve(identity, uow, principal, case_id, body.note, origin)
    answer = ApproveOut(status=result.case.status, approval_id=result.approval_id)
    code = 202 if result.approval_id is not None else 200
    return JSONResponse(answer.model_dump(mode="json"), status_code=code)


@router.post("/kyc/cases/{case_id}/reject", name="reject_kyc_case")
async def reject_kyc_case(
    case_id: uuid.UUID, body: MessageIn, principal: Reviewer, kit: Kit, origin: RequestOrigin
) -> QueueItemOut:
    async with kit.uows() as uow:
        await review.reject(uow, principal, case_id, body.message, origin)
        item = await review.queue_item(uow, case_id)
    return QueueItemOut(**vars(item))


@router.post("/screening/hits/{hit_id}/decision", name="decide_screening_hit")
async def decide_screening_hit(
    hit_id: uuid.UUID, body: HitDecisionIn, principal: Reviewer, kit: Kit, origin: RequestOrigin
) -> HitOut:
    """Record a true match or a false positive, with the reason (audited). A false positive is
    not raised again for the same list entry unless the entry changes."""
    async with kit.uows() as uow:
        view = await screening_service.decide_hit(
            uow,
            principal,
            hit_id,
            true_match=body.decision == "true_match",
            reason=body.reason,
            ip=origin.ip,
        )
    return hit_out(view)
