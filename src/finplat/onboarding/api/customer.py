"""/kyc: the customer's own case."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from finplat.identity import Permission, Principal, require
from finplat.onboarding import cases, documents, submission
from finplat.onboarding.api.deps import Kit, RequestOrigin
from finplat.onboarding.api.schemas import ApplicationIn, CaseOut, DocumentOut, MrzIn
from finplat.onboarding.api.views import application_out, document_out
from finplat.onboarding.cases import CaseRecord
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.domain import EDITABLE, Address, Application
from finplat.platform.db import UnitOfWork

router = APIRouter(prefix="/kyc", tags=["kyc"])

Customer = Annotated[Principal, require(Permission.KYC_SUBMIT)]


async def _case_out(kit: OnboardingKit, uow: UnitOfWork, case: CaseRecord) -> CaseOut:
    application = cases.read_application(kit, case)
    problems = cases.application_problems(kit, application) if case.status in EDITABLE else []
    docs = await documents.list_documents(uow, case.id)
    if case.status in EDITABLE and not any(d.kind in {"passport", "id_card"} for d in docs):
        problems.append({"field": "documents", "message": "upload a passport or identity card"})
    return CaseOut(
        id=case.id,
        status=case.status,
        version=case.version,
        created_at=case.created_at,
        updated_at=case.updated_at,
        submitted_at=case.submitted_at,
        decided_at=case.decided_at,
        message=case.customer_message,
        application=application_out(application),
        problems=problems,
        documents=[document_out(d) for d in docs],
    )


@router.get("/case", name="get_my_kyc_case")
async def get_my_kyc_case(principal: Customer, kit: Kit) -> CaseOut:
    """The caller's KYC case, what is missing, and any message from compliance."""
    async with kit.uows(read_only=True) as uow:
        case = cases.own_case(await cases.case_of_user(uow, principal.user_id))
        return await _case_out(kit, uow, case)


@router.put("/case/application", name="save_my_kyc_application")
async def save_my_kyc_application(
    body: ApplicationIn, principal: Customer, kit: Kit, origin: RequestOrigin
) -> CaseOut:
    """Save the application (the whole of it) while the case is a draft or needs information."""
    application = Application(
        **{
            **body.model_dump(exclude={"address", "objectives"}),
            "address": Address(**body.address.model_dump()),
            "objectives": tuple(body.objectives),
        }
    )
    async with kit.uows() as uow:
        case = await cases.save_application(kit, uow, principal, application, ip=origin.ip)
        return await _case_out(kit, uow, case)


@router.post("/case/documents", status_code=status.HTTP_201_CREATED, name="upload_my_kyc_document")
async def upload_my_kyc_document(
    principal: Customer,
    kit: Kit,
    kind: Annotated[str, Form(description="passport, id_card, residence_permit, proof_of_address")],
    file: Annotated[UploadFile, File(description="JPEG, PNG or PDF")],
    mrz: Annotated[str | None, Form(max_length=120)] = None,
) -> DocumentOut:
    content = await file.read(kit.policy.document_max_bytes + 1)
    async with kit.uows() as uow:
        view = await documents.upload(kit, uow, principal, kind=kind, content=content, mrz=mrz)
    return document_out(view)


@router.put("/case/documents/{document_id}/mrz", name="set_my_document_mrz")
async def set_my_document_mrz(
    document_id: uuid.UUID, body: MrzIn, principal: Customer, kit: Kit
) -> DocumentOut:
    """Type in the machine-readable zone of a passport or identity card."""
    async with kit.uows() as uow:
        view = await documents.set_mrz(kit, uow, principal, document_id, body.mrz)
    return document_out(view)


@router.get("/case/documents/{document_id}/content", name="download_my_kyc_document")
async def download_my_kyc_document(
    document_id: uuid.UUID, principal: Customer, kit: Kit, origin: RequestOrigin
) -> Response:
    async with kit.uows(read_only=True) as uow:
        found = await documents.read_content(
            kit, uow, principal, document_id, as_staff=False, ip=origin.ip
        )
    return Response(
        found.content,
        media_type=found.content_type,
        headers={"Cache-Control": "no-store", "Digest": f"sha-256={found.sha256}"},
    )


@router.post("/case/submit", name="submit_my_kyc_case")
async def submit_my_kyc_case(principal: Customer, kit: Kit, origin: RequestOrigin) -> CaseOut:
    """Submit for checks and review. Problems come back as `application_invalid` with the list."""
    async with kit.uows() as uow:
        case = await submission.submit(kit, uow, principal, ip=origin.ip)
        return await _case_out(kit, uow, case)


@router.post("/case/reopen", name="reopen_my_kyc_case")
async def reopen_my_kyc_case(principal: Customer, kit: Kit, origin: RequestOrigin) -> CaseOut:
    """After a rejection: reopen the case as a draft to correct and submit again."""
    async with kit.uows() as uow:
        case = await cases.reopen(kit, uow, principal, ip=origin.ip)
        return await _case_out(kit, uow, case)
