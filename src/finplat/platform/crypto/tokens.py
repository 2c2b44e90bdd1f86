"""Opaque random tokens (refresh tokens, email links, API key secrets).

They are shown to their owner once and stored only as a SHA-256 digest: the token has enough
entropy that a fast hash suffices, and a database leak does not reveal usable tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

MIN_TOKEN_BYTES = 16


def new_token(nbytes: int = 32) -> str:
    """A URL-safe token with `nbytes` random bytes (at least 16, i.e. 128 bits)."""
    if nbytes < MIN_TOKEN_BYTES:
        raise ValueError(f"a token needs at least {MIN_TOKEN_BYTES} random bytes")
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest to store and look up instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison, so timing does not reveal a matching prefix."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
