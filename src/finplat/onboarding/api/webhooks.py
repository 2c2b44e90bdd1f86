"""/webhooks: callbacks from an external document verifier, authenticated by signature."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from finplat.onboarding.api.deps import Kit
from finplat.onboarding.callbacks import accept_verifier_callback
from finplat.platform.http.access import public

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post(
    "/document-verification",
    status_code=status.HTTP_204_NO_CONTENT,
    name="document_verification_callback",
    dependencies=[public("the HMAC signature over timestamp and body is the credential")],
)
async def document_verification_callback(request: Request, kit: Kit) -> Response:
    """The verifier's answer. Signed with HMAC-SHA256 over `timestamp.body`; a wrong, stale or
    replayed signature is refused with 401."""
    body = await request.body()
    await accept_verifier_callback(
        kit,
        body=body,
        signature=request.headers.get("x-finplat-signature"),
        timestamp=request.headers.get("x-finplat-timestamp"),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
