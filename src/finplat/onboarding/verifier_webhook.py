"""A third-party document verifier reached over signed webhooks.

Both directions are signed the same way with one shared secret: the hex HMAC-SHA256 of
"{unix timestamp}." followed by the raw body, sent in `X-Finplat-Signature`, with the timestamp
in `X-Finplat-Timestamp`. Binding the timestamp into the MAC lets the receiver refuse old
messages; refusing a message seen before needs storage, so it is the caller's (see
`replay_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, NoReturn

import httpx

from finplat.kernel import Clock, DomainError, Unavailable

SIGNATURE_HEADER: Final = "X-Finplat-Signature"
TIMESTAMP_HEADER: Final = "X-Finplat-Timestamp"
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)

_HEX_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
_CALLBACK_FIELDS: Final = frozenset({"request_id", "document_id", "status", "reasons"})
_MAX_ID_LENGTH: Final = 200
_MAX_REASONS: Final = 50
_MAX_REASON_LENGTH: Final = 1000
_EXCERPT: Final = 200

SignatureFailure = Literal["missing", "malformed", "stale", "bad_signature"]


def sign_payload(secret: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of f"{timestamp}." followed by `body`."""
    if not secret:
        raise ValueError("an empty secret signs nothing")
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of `check_signature`: ok, or the reason it is not."""

    reason: SignatureFailure | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def check_signature(
    secret: bytes,
    *,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> SignatureCheck:
    """Check a signed message's headers against its raw body.

    Reasons, in the order they are tested: "missing" (a header is absent), "malformed" (the
    signature is not 64 lower-case hex digits or the timestamp not a decimal count of
    seconds), "bad_signature" (the MAC differs; compared in constant time), "stale" (an
    authentic message whose timestamp is more than `tolerance` before or after `now`).
    Authenticity is tested first so that "stale" is only ever said of a genuine message.

    A passing check does not prove the message is new: the caller must store
    `replay_key(signature)` atomically (a unique key) and refuse a second use within the
    tolerance window (keep keys at least twice the tolerance, since timestamps may lead).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not secret:
        raise ValueError("an empty secret checks nothing")
    if not signature or not timestamp:
        return SignatureCheck("missing")
    if not _HEX_SHA256.fullmatch(signature) or not _TIMESTAMP.fullmatch(timestamp):
        return SignatureCheck("malformed")
    sent_at = int(timestamp)
    if not hmac.compare_digest(sign_payload(secret, sent_at, body), signature):
        return SignatureCheck("bad_signature")
    if abs(now.timestamp() - sent_at) > tolerance.total_seconds():
        return SignatureCheck("stale")
    return SignatureCheck()


def replay_key(signature: str) -> str:
    """The key under which to remember a message that passed `check_signature`.

    The signature covers the timestamp and body, so two deliveries of one message share it.
    """
    if not _HEX_SHA256.fullmatch(signature):
        raise ValueError("replay_key takes a signature that passed check_signature")
    return f"verifier-webhook:{signature}"


class VerifierUnavailable(Unavailable):
    """The verifier could not be reached or failed (network, timeout, 5xx, 408, 429, or a
    success answer we cannot read); trying again later may work."""

    default_code = "verifier_unavailable"


class VerifierRejected(DomainError):
    """The verifier refused the request (4xx): sending it again as it is will not help."""

    default_code = "verifier_rejected"

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message, details={"status_code": status_code})
        self.status_code = status_code


class InvalidCallback(ValueError):
    """A callback body that is not exactly what the protocol allows."""


@dataclass(frozen=True)
class VerifierCallback:
    request_id: str
    document_id: str
    status: Literal["passed", "failed"]
    reasons: tuple[str, ...]


class WebhookVerifier:
    """Asks the verifier to check a document; its answer arrives later at `callback_url`."""

    def __init__(
        self, endpoint_url: str, secret: bytes, client: httpx.AsyncClient, clock: Clock
    ) -> None:
        if not secret:
            raise ValueError("the verifier needs a shared secret")
        self._endpoint_url = endpoint_url
        self._secret = secret
        self._client = client
        self._clock = clock

    async def request_verification(
        self,
        *,
        case_id: str,
        document_id: str,
        document_type: str,
        callback_url: str,
        image_sha256: str,
    ) -> str:
        """Send a signed request; return the verifier's request id."""
        if not _HEX_SHA256.fullmatch(image_sha256):
            raise ValueError("image_sha256 must be 64 lower-case hex digits")
        body = json.dumps(
            {
                "case_id": case_id,
                "document_id": document_id,
                "document_type": document_type,
                "callback_url": callback_url,
                "image_sha256": image_sha256,
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_payload(self._secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
        }
        try:
            response = await self._client.post(self._endpoint_url, content=body, headers=headers)
        except httpx.TransportError as exc:  # connection refused, timeouts, broken protocol
            raise VerifierUnavailable(
                f"the document verifier could not be reached ({type(exc).__name__})"
            ) from exc
        return _request_id(response)


def _request_id(response: httpx.Response) -> str:
    status = response.status_code
    if status in (408, 429) or status >= 500 or status < 200 or 300 <= status < 400:
        raise VerifierUnavailable(f"the document verifier answered {status}")
    if 400 <= status < 500:
        raise VerifierRejected(
            f"the document verifier refused the request ({status}): {response.text[:_EXCERPT]}",
            status_code=status,
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    request_id = answer.get("request_id") if isinstance(answer, dict) else None
    if not isinstance(request_id, str) or not 0 < len(request_id) <= _MAX_ID_LENGTH:
        raise VerifierUnavailable(f"the document verifier answered {status} without a request id")
    return request_id


def parse_callback(body: bytes) -> VerifierCallback:
    """Read a callback body strictly: a JSON object with exactly `request_id`, `document_id`
    (non-empty strings), `status` ("passed" or "failed") and `reasons` (a list of strings).
    Anything else (unknown or duplicate keys, numbers, NaN, bad UTF-8) raises InvalidCallback.
    Check the signature first: this says nothing about who sent the body."""
    try:
        data = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse_number,
            parse_int=_refuse_number,
            parse_constant=_refuse_number,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidCallback(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidCallback("the body must be a JSON object")
    keys = set(data)
    if keys != _CALLBACK_FIELDS:
        unknown = sorted(keys - _CALLBACK_FIELDS)
        missing = sorted(_CALLBACK_FIELDS - keys)
        raise InvalidCallback(f"unknown fields {unknown}, missing fields {missing}")
    request_id = _identifier(data, "request_id")
    document_id = _identifier(data, "document_id")
    status = data["status"]
    if status not in ("passed", "failed"):
        raise InvalidCallback("status must be 'passed' or 'failed'")
    reasons = data["reasons"]
    if (
        not isinstance(reasons, list)
        or len(reasons) > _MAX_REASONS
        or not all(
            isinstance(reason, str) and 0 < len(reason) <= _MAX_REASON_LENGTH for reason in reasons
        )
    ):
        raise InvalidCallback(
            f"reasons must be a list of at most {_MAX_REASONS} non-empty strings of at most "
            f"{_MAX_REASON_LENGTH} characters"
        )
    return VerifierCallback(request_id, document_id, status, tuple(reasons))


def _identifier(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID_LENGTH:
        raise InvalidCallback(f"{name} must be a non-empty string of at most {_MAX_ID_LENGTH}")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidCallback(f"duplicate field {key!r}")
        result[key] = value
    return result


def _refuse_number(text: str) -> NoReturn:
    raise InvalidCallback(f"numbers are not part of a callback ({text!r})")
