"""What every WebSocket endpoint needs: a reader and a writer raced until one ends, and a
close that tolerates a peer already gone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)

CLOSE_INTERNAL_ERROR = 1011

#: (close code, reason); code 0 means the peer went away and nothing is left to send.
Outcome = tuple[int, str]


async def run_duplex(
    read: Coroutine[Any, Any, Outcome], write: Coroutine[Any, Any, Outcome], *, name: str
) -> Outcome:
    """Run `read` and `write` until either ends; the other is cancelled. A disconnect is a
    normal end; any other failure is logged and closes with 1011."""
    reader, writer = asyncio.create_task(read), asyncio.create_task(write)
    try:
        done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        outcome = next(iter(done))
        failure = outcome.exception()
        if failure is None:
            return outcome.result()
        if isinstance(failure, WebSocketDisconnect):
            return 0, ""
        log.error("the %s stream failed", name, exc_info=failure)
        return CLOSE_INTERNAL_ERROR, "internal error"
    finally:
        for task in (reader, writer):
            task.cancel()
            with suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task


async def close_quietly(websocket: WebSocket, code: int, reason: str = "") -> None:
    with suppress(WebSocketDisconnect, RuntimeError):
        await websocket.close(code, reason)
