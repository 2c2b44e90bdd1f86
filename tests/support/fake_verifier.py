"""A third-party document verifier on a real socket, for end-to-end webhook tests."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from finplat.kernel import Clock
from finplat.onboarding.verifier_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_signature


@dataclass
class FakeVerifier:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@asynccontextmanager
async def fake_verifier(secret: bytes, clock: Clock) -> AsyncIterator[FakeVerifier]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    fake = FakeVerifier(f"http://127.0.0.1:{sock.getsockname()[1]}/verify")
    app = FastAPI()

    @app.post("/verify")
    async def verify(request: Request) -> JSONResponse:
        body = await request.body()
        check = check_signature(
            secret,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            body=body,
            now=clock.now(),
        )
        if not check.ok:
            return JSONResponse({"error": check.reason}, status_code=401)
        payload = json.loads(body)
        fake.received.append(payload)
        return JSONResponse({"request_id": f"vr-{payload['document_id']}"}, status_code=202)

    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield fake
    finally:
        server.should_exit = True
        await task
        sock.close()
