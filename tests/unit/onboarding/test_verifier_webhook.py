from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from finplat.kernel import ManualClock, Unavailable
from finplat.onboarding.verifier_webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidCallback,
    VerifierCallback,
    VerifierRejected,
    VerifierUnavailable,
    WebhookVerifier,
    check_signature,
    parse_callback,
    replay_key,
    sign_payload,
)

SECRET = b"shared-secret-for-tests"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = b'{"request_id":"r-1"}'
IMAGE = hashlib.sha256(b"a photo").hexdigest()


def test_sign_payload_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_payload(SECRET, TS, BODY) == expected
    assert sign_payload(SECRET, TS + 1, BODY) != expected
    with pytest.raises(ValueError, match="empty secret"):
        sign_payload(b"", TS, BODY)


def _check(
    *,
    signature: str | None = None,
    timestamp: str | None = str(TS),
    body: bytes = BODY,
    now: datetime = NOW,
    secret: bytes = SECRET,
) -> str | None:
    if signature is None:
        signature = sign_payload(SECRET, TS, BODY)
    return check_signature(
        secret, signature=signature, timestamp=timestamp, body=body, now=now
    ).reason


def test_a_good_signature_passes() -> None:
    result = check_signature(
        SECRET,
        signature=sign_payload(SECRET, TS, BODY),
        timestamp=str(TS),
        body=BODY,
        now=NOW,
    )
    assert result.ok
    assert result.reason is None


def test_a_signature_made_with_another_secret_fails() -> None:
    assert _check(signature=sign_payload(b"another secret", TS, BODY)) == "bad_signature"
    assert _check(secret=b"another secret") == "bad_signature"


def test_a_tampered_body_or_timestamp_fails() -> None:
    assert _check(body=BODY + b" ") == "bad_signature"
    assert _check(body=b'{"request_id":"r-2"}') == "bad_signature"
    assert _check(timestamp=str(TS - 1)) == "bad_signature"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (timedelta(minutes=5), None),  # exactly at the tolerance: still fresh
        (-timedelta(minutes=5), None),
        (timedelta(minutes=5, seconds=1), "stale"),  # received too late
        (-timedelta(minutes=5, seconds=1), "stale"),  # stamped in the future
        (timedelta(days=3), "stale"),
    ],
)
def test_freshness_in_both_directions(offset: timedelta, reason: str | None) -> None:
    assert _check(now=NOW + offset) == reason


def test_tolerance_can_be_chosen() -> None:
    signature = sign_payload(SECRET, TS, BODY)
    later = NOW + timedelta(seconds=30)
    kwargs: dict[str, Any] = {"signature": signature, "timestamp": str(TS), "body": BODY}
    assert check_signature(SECRET, now=later, tolerance=timedelta(seconds=30), **kwargs).ok
    assert (
        check_signature(SECRET, now=later, tolerance=timedelta(seconds=29), **kwargs).reason
        == "stale"
    )


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [(None, str(TS)), ("", str(TS)), ("SIG", None), ("SIG", ""), (None, None)],
)
def test_missing_headers(signature: str | None, timestamp: str | None) -> None:
    if signature == "SIG":
        signature = sign_payload(SECRET, TS, BODY)
    result = check_signature(SECRET, signature=signature, timestamp=timestamp, body=BODY, now=NOW)
    assert result.reason == "missing"
    assert not result.ok


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [
        ("upper", str(TS)),
        ("short", str(TS)),
        ("sha256=", str(TS)),
        ("good", "not-a-number"),
        ("good", "-5"),
        ("good", f"{TS}.0"),
        ("good", f" {TS}"),
        ("good", "9" * 40),
    ],
)
def test_malformed_headers(signature: str, timestamp: str) -> None:
    good = sign_payload(SECRET, TS, BODY)
    value = {
        "upper": good.upper(),
        "short": good[:-1],
        "sha256=": "sha256=" + good,
        "good": good,
    }[signature]
    assert _check(signature=value, timestamp=timestamp) == "malformed"


def test_check_signature_refuses_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _check(now=datetime(2025, 6, 1, 12))  # noqa: DTZ001


def test_replay_key() -> None:
    first = sign_payload(SECRET, TS, BODY)
    second = sign_payload(SECRET, TS + 1, BODY)
    assert replay_key(first) == replay_key(first)
    assert replay_key(first) != replay_key(second)
    with pytest.raises(ValueError, match="replay_key"):
        replay_key("not a signature")


# -- callbacks -------------------------------------------------------------------------------


def test_parse_callback() -> None:
    body = json.dumps(
        {"request_id": "r-1", "document_id": "d-1", "status": "failed", "reasons": ["blurry"]}
    ).encode()
    assert parse_callback(body) == VerifierCallback("r-1", "d-1", "failed", ("blurry",))
    passed = b'{"request_id":"r","document_id":"d","status":"passed","reasons":[]}'
    assert parse_callback(passed).status == "passed"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"text"',
        b'{"request_id":"r","document_id":"d","status":"passed"}',
        b'{"request_id":"r","document_id":"d","status":"passed","reasons":[],"extra":1}',
        b'{"request_id":"r","document_id":"d","status":"passed","reasons":[],"x":"y"}',
        b'{"request_id":"r","request_id":"s","document_id":"d","status":"passed","reasons":[]}',
        b'{"request_id":"","document_id":"d","status":"passed","reasons":[]}',
        b'{"request_id":7,"document_id":"d","status":"passed","reasons":[]}',
        b'{"request_id":"r","document_id":null,"status":"passed","reasons":[]}',
        b'{"request_id":"r","document_id":"d","status":"ok","reasons":[]}',
        b'{"request_id":"r","document_id":"d","status":"passed","reasons":"none"}',
        b'{"request_id":"r","document_id":"d","status":"failed","reasons":[1.5]}',
        b'{"request_id":"r","document_id":"d","status":"failed","reasons":[NaN]}',
        b'{"request_id":"r","document_id":"d","status":"failed","reasons":[""]}',
        b'{"request_id":"r","document_id":"d","status":"failed","reasons":[["x"]]}',
    ],
)
def test_malformed_callbacks_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidCallback):
        parse_callback(body)
    with pytest.raises(ValueError):  # noqa: PT011 - the caller relies on ValueError
        parse_callback(body)


# -- the outbound request, against a real HTTP server ----------------------------------------


@dataclass
class FakeProvider:
    """A verifier on a real socket: checks our signature with its own clock, then answers as
    the path says (ok, reject, fail)."""

    base_url: str
    clock: ManualClock
    received: list[dict[str, Any]] = field(default_factory=list)


def _provider_app(provider: FakeProvider) -> FastAPI:
    app = FastAPI()

    @app.post("/verify/{behaviour}")
    async def verify(behaviour: str, request: Request) -> JSONResponse:
        body = await request.body()
        check = check_signature(
            SECRET,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            body=body,
            now=provider.clock.now(),
        )
        if not check.ok:
            return JSONResponse({"error": check.reason}, status_code=401)
        payload = json.loads(body)
        provider.received.append(
            {"payload": payload, "content_type": request.headers.get("content-type")}
        )
        if behaviour == "reject":
            return JSONResponse({"error": "unsupported document_type"}, status_code=400)
        if behaviour == "fail":
            return JSONResponse({"error": "internal"}, status_code=500)
        return JSONResponse({"request_id": f"vr-{payload['document_id']}"}, status_code=202)

    return app


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    # Bound and listening before the server task runs, so a request made at once waits in the
    # backlog instead of being refused: no need to wait for the server to come up.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    fake = FakeProvider(f"http://127.0.0.1:{port}", ManualClock(NOW))
    config = uvicorn.Config(_provider_app(fake), log_config=None, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield fake
    finally:
        server.should_exit = True
        await task
        sock.close()


def _verifier(url: str, client: httpx.AsyncClient, at: datetime = NOW) -> WebhookVerifier:
    return WebhookVerifier(url, SECRET, client, ManualClock(at))


async def _request(verifier: WebhookVerifier, document_id: str = "doc-1") -> str:
    return await verifier.request_verification(
        case_id="case-1",
        document_id=document_id,
        document_type="passport",
        callback_url="https://finplat.example/api/v1/webhooks/document-verification",
        image_sha256=IMAGE,
    )


async def test_a_signed_request_gets_a_request_id(provider: FakeProvider) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        verifier = _verifier(f"{provider.base_url}/verify/ok", client)
        assert await _request(verifier, "doc-7") == "vr-doc-7"
    assert provider.received == [
        {
            "payload": {
                "case_id": "case-1",
                "document_id": "doc-7",
                "document_type": "passport",
                "callback_url": "https://finplat.example/api/v1/webhooks/document-verification",
                "image_sha256": IMAGE,
            },
            "content_type": "application/json",
        }
    ]


async def test_a_4xx_is_a_rejection(provider: FakeProvider) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        verifier = _verifier(f"{provider.base_url}/verify/reject", client)
        with pytest.raises(VerifierRejected, match="400") as caught:
            await _request(verifier)
    assert caught.value.status_code == 400
    assert "unsupported document_type" in caught.value.message


async def test_a_5xx_is_unavailability(provider: FakeProvider) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        verifier = _verifier(f"{provider.base_url}/verify/fail", client)
        with pytest.raises(VerifierUnavailable) as caught:
            await _request(verifier)
    assert str(caught.value) == "the document verifier answered 500"
    assert isinstance(caught.value, Unavailable)
    assert caught.value.code == "verifier_unavailable"


async def test_the_provider_refuses_a_request_signed_at_the_wrong_time(
    provider: FakeProvider,
) -> None:
    """Our clock ten minutes behind the provider's: the signature is stale on arrival."""
    async with httpx.AsyncClient(timeout=10) as client:
        verifier = _verifier(f"{provider.base_url}/verify/ok", client, NOW - timedelta(minutes=10))
        with pytest.raises(VerifierRejected, match="stale"):
            await _request(verifier)
    assert provider.received == []


async def test_a_refused_connection_is_unavailability() -> None:
    # a bound socket that never listens: connecting to it is refused, and no other test can
    # take the port meanwhile
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        async with httpx.AsyncClient(timeout=10) as client:
            verifier = _verifier(f"http://127.0.0.1:{port}/verify/ok", client)
            with pytest.raises(VerifierUnavailable, match="ConnectError"):
                await _request(verifier)


# -- the other answers, without a server -----------------------------------------------------


def _mock_client(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_a_timeout_is_unavailability() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with _mock_client(handler) as client:
        with pytest.raises(VerifierUnavailable, match="ReadTimeout"):
            await _request(_verifier("http://verifier.test/verify", client))


@pytest.mark.parametrize(
    ("status", "content", "error"),
    [
        # the status decides, whatever the body says
        (429, b'{"request_id": "r"}', VerifierUnavailable),  # slow down: retry later
        (408, b'{"request_id": "r"}', VerifierUnavailable),
        (503, b'{"request_id": "r"}', VerifierUnavailable),
        (302, b'{"request_id": "r"}', VerifierUnavailable),
        (404, b'{"request_id": "r"}', VerifierRejected),
        (422, b"{}", VerifierRejected),
        (200, b"not json", VerifierUnavailable),
        (200, b"[]", VerifierUnavailable),
        (200, b'{"request_id": ""}', VerifierUnavailable),
        (200, b'{"request_id": 12}', VerifierUnavailable),
    ],
)
async def test_other_answers(status: int, content: bytes, error: type[Exception]) -> None:
    async with _mock_client(lambda _: httpx.Response(status, content=content)) as client:
        with pytest.raises(error):
            await _request(_verifier("http://verifier.test/verify", client))


async def test_the_request_is_signed_over_its_exact_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"request_id": "r-9", "eta": "soon"})

    async with _mock_client(handler) as client:
        assert await _request(_verifier("http://verifier.test/verify", client)) == "r-9"
    (request,) = seen
    assert request.method == "POST"
    assert request.headers[TIMESTAMP_HEADER] == str(TS)
    assert request.headers[SIGNATURE_HEADER] == sign_payload(SECRET, TS, request.content)


async def test_programmer_errors_raise() -> None:
    async with _mock_client(lambda _: httpx.Response(200)) as client:
        with pytest.raises(ValueError, match="image_sha256"):
            await _verifier("http://verifier.test", client).request_verification(
                case_id="c",
                document_id="d",
                document_type="passport",
                callback_url="https://x.test",
                image_sha256="not-a-hash",
            )
        with pytest.raises(ValueError, match="secret"):
            WebhookVerifier("http://verifier.test", b"", client, ManualClock(NOW))
