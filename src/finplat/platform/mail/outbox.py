"""Enqueueing mail inside the caller's transaction: a mail exists only if its change commits.

A use case that sends a confirmation link enqueues the mail with the token it stores; if the
unit of work rolls back, neither exists, and nothing is sent for a change that did not happen.
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from finplat.kernel import Clock, uuid7
from finplat.platform.mail.message import BODY_CONTEXT, Message, TextProtector
from finplat.platform.mail.tables import mail_outbox


class MailOutbox:
    """Writes messages to `mail_outbox`, their bodies encrypted; never commits."""

    def __init__(self, protector: TextProtector, clock: Clock) -> None:
        self._protector = protector
        self._clock = clock

    async def enqueue(self, session: AsyncSession, message: Message) -> uuid.UUID:
        """Insert `message` in the session's transaction; returns its id.

        Call `uow.after_commit(relay.wake)` to have the relay send it without waiting a poll.
        """
        mail_id = uuid7()
        now = self._clock.now()
        await session.execute(
            insert(mail_outbox).values(
                id=mail_id,
                recipient=message.to,
                subject=message.subject,
                body_encrypted=self._protector.encrypt(message.text, context=BODY_CONTEXT),
                created_at=now,
                sent_at=None,
                attempts=0,
                last_error=None,
                next_attempt_at=now,
            )
        )
        return mail_id
