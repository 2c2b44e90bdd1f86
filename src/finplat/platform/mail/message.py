"""A message to send, and the encryption the outbox needs (without depending on crypto)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

#: Encryption context of stored bodies: they hold one-time links and codes.
BODY_CONTEXT = "mail.body"

MAX_RECIPIENT_LENGTH = 320
MAX_SUBJECT_LENGTH = 998  # the longest line RFC 5322 allows


class TextProtector(Protocol):
    """Authenticated encryption of text bound to a context (`crypto.FieldCipher` fits)."""

    def encrypt(self, plaintext: str | bytes, /, *, context: str) -> str: ...

    def decrypt_text(self, token: str, /, *, context: str) -> str: ...


@dataclass(frozen=True)
class Message:
    """A plain-text mail to one recipient.

    Line breaks in the address or subject are refused here, at enqueue time: in a header
    they would let the caller's input inject headers, and later they would only fail to send.
    """

    to: str
    subject: str
    text: str

    def __post_init__(self) -> None:
        if not self.to.strip() or "@" not in self.to:
            raise ValueError("a message needs a recipient address")
        for name, value, limit in (
            ("recipient", self.to, MAX_RECIPIENT_LENGTH),
            ("subject", self.subject, MAX_SUBJECT_LENGTH),
        ):
            if "\r" in value or "\n" in value:
                raise ValueError(f"the {name} must not contain line breaks")
            if len(value) > limit:
                raise ValueError(f"the {name} is longer than {limit} characters")
