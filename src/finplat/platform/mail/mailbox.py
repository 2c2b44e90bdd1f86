"""The development mailbox: read what the platform "sent", decrypted, over HTTP.

In embedded mode `LogTransport` only logs; this is how a developer follows a confirmation or
reset link. It shows secrets (one-time links), so mount `mailbox_router` in development only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import select

from finplat.platform.db.engine import Database
from finplat.platform.mail.message import BODY_CONTEXT, TextProtector
from finplat.platform.mail.tables import mail_outbox

MAX_ENTRIES = 500


@dataclass(frozen=True)
class MailboxEntry:
    id: uuid.UUID
    to: str
    subject: str
    text: str
    created_at: datetime
    sent_at: datetime | None


class DevMailbox:
    def __init__(self, database: Database, protector: TextProtector) -> None:
        self._db = database
        self._protector = protector

    async def recent(self, limit: int = 50, recipient: str | None = None) -> list[MailboxEntry]:
        """The newest `limit` messages (sent or not), optionally only those to `recipient`."""
        query = (
            select(mail_outbox)
            .order_by(mail_outbox.c.created_at.desc(), mail_outbox.c.seq.desc())
            .limit(max(1, min(limit, MAX_ENTRIES)))
        )
        if recipient is not None:
            query = query.where(mail_outbox.c.recipient == recipient)
        async with self._db.session(read_only=True) as session, session.begin():
            rows = (await session.execute(query)).all()
        return [
            MailboxEntry(
                id=row.id,
                to=row.recipient,
                subject=row.subject,
                text=self._protector.decrypt_text(row.body_encrypted, context=BODY_CONTEXT),
                created_at=row.created_at,
                sent_at=row.sent_at,
            )
            for row in rows
        ]


class MailboxItem(BaseModel):
    id: uuid.UUID
    to: str
    subject: str
    text: str
    created_at: datetime
    sent_at: datetime | None


def mailbox_router(mailbox: DevMailbox) -> APIRouter:
    router = APIRouter(tags=["development"])

    @router.get("/dev/mailbox", response_model=list[MailboxItem], name="list_dev_mailbox")
    async def list_dev_mailbox(
        response: Response,
        to: Annotated[str | None, Query(description="Only mail to this address.")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ENTRIES)] = 50,
    ) -> list[MailboxItem]:
        """Development only: the newest outgoing mail, decrypted, newest first."""
        response.headers["Cache-Control"] = "no-store"
        entries = await mailbox.recent(limit, recipient=to)
        return [
            MailboxItem(
                id=e.id,
                to=e.to,
                subject=e.subject,
                text=e.text,
                created_at=e.created_at,
                sent_at=e.sent_at,
            )
            for e in entries
        ]

    return router
