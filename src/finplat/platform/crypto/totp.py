"""Time-based one-time passwords (RFC 6238, over the HOTP of RFC 4226), standard library only.

`verify_totp` returns the matched time step; the caller stores it and passes it back as
`last_used_counter`, so an observed code cannot be replayed within its window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

SECRET_BYTES = 20  # 160 bits, the RFC 4226 recommendation
DEFAULT_DIGITS = 6
DEFAULT_STEP_SECONDS = 30
_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_totp_secret() -> str:
    """A base32 secret (no padding) as authenticator apps expect it."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _secret_bytes(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper().rstrip("=")
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("the TOTP secret is not valid base32") from None
    if not raw:
        raise ValueError("the TOTP secret is empty")
    return raw


def totp_at(
    secret: str, counter: int, *, digits: int = DEFAULT_DIGITS, algorithm: str = "sha1"
) -> str:
    """The code for one time step (the HOTP value of `counter`), zero-padded to `digits`."""
    if counter < 0:
        raise ValueError("the counter cannot be negative")
    if not 6 <= digits <= 8:
        raise ValueError("digits must be between 6 and 8")
    digestmod = _ALGORITHMS.get(algorithm.lower())
    if digestmod is None:
        raise ValueError(f"unsupported TOTP algorithm {algorithm!r}")
    mac = hmac.new(_secret_bytes(secret), struct.pack(">Q", counter), digestmod).digest()
    offset = mac[-1] & 0x0F
    (value,) = struct.unpack(">I", mac[offset : offset + 4])
    return str((value & 0x7FFFFFFF) % 10**digits).zfill(digits)


def counter_for(moment: datetime, step_seconds: int = DEFAULT_STEP_SECONDS) -> int:
    """The time step containing `moment` (exact integer arithmetic, no float rounding)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetimes are not accepted; give a timezone")
    if step_seconds <= 0:
        raise ValueError("the step must be positive")
    return (moment - _EPOCH) // timedelta(seconds=step_seconds)


def verify_totp(
    secret: str,
    code: str,
    moment: datetime,
    *,
    drift_steps: int = 1,
    last_used_counter: int | None = None,
) -> int | None:
    """The counter `code` belongs to, within +-`drift_steps` of `moment`, or None.

    Steps at or before `last_used_counter` are never accepted (replay protection). Every
    remaining candidate is compared, in constant time, without stopping at the first match.
    """
    if drift_steps < 0:
        raise ValueError("drift_steps cannot be negative")
    if len(code) != DEFAULT_DIGITS or not (code.isascii() and code.isdigit()):
        return None
    current = counter_for(moment)
    matched: int | None = None
    for counter in range(current - drift_steps, current + drift_steps + 1):
        if counter < 0 or (last_used_counter is not None and counter <= last_used_counter):
            continue
        expected = totp_at(secret, counter)
        if hmac.compare_digest(expected.encode("ascii"), code.encode("ascii")) and matched is None:
            matched = counter
    return matched


def provisioning_uri(secret: str, *, account_name: str, issuer: str) -> str:
    """The otpauth:// URI (usually shown as a QR code) for authenticator apps."""
    if not account_name or not issuer or ":" in account_name or ":" in issuer:
        raise ValueError("issuer and account name are required and may not contain ':'")
    _secret_bytes(secret)  # reject a malformed secret here rather than in the user's app
    label = f"{quote(issuer, safe='')}:{quote(account_name, safe='')}"
    query = urlencode(
        {
            "secret": secret.replace(" ", "").upper().rstrip("="),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DEFAULT_DIGITS,
            "period": DEFAULT_STEP_SECONDS,
        },
        safe="",
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
