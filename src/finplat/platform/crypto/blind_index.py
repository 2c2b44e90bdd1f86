"""Blind indexes: keyed digests that allow equality lookups of encrypted values.

An encrypted column cannot be searched, so a lookup column stores
HMAC-SHA256(blind_index_key, context NUL normalize(value)). The context keeps digests of
different kinds of value apart (an email and a tax id that happen to be equal), and the key
keeps the digests from being brute-forced by whoever holds only the database.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from finplat.platform.crypto.keys import KeyRing


def normalize(value: str) -> str:
    """The comparable form: NFKC, case-folded, trimmed, inner whitespace runs made one space.

    NFKC runs again after case folding because folding can produce non-normalised text, and
    the result must be a fixed point (normalising twice changes nothing).
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(folded.split())


class BlindIndex:
    def __init__(self, keyring: KeyRing) -> None:
        self._key = keyring.blind_index_key

    def digest(self, value: str, *, context: str) -> str:
        if not context or "\x00" in context:
            raise ValueError("a blind index context is required and may not contain NUL")
        message = f"{context}\x00{normalize(value)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
