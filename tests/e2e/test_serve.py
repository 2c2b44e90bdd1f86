"""`finplat serve` as a user runs it: a real process on a real port, stopped and started."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from finplat.platform.db.migrate import head_revision

STARTUP_DEADLINE_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def finplat_serve(data_dir: Path, port: int) -> Iterator[httpx.Client]:
    env = {**os.environ, "FINPLAT_DATA_DIR": str(data_dir), "FINPLAT_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "finplat.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while True:
            try:
                if client.get("/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield client
    finally:
        client.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def test_serve_answers_and_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    with finplat_serve(tmp_path, port) as client:
        assert client.get("/api/v1/health").json()["status"] == "ok"
        assert client.get("/api/v1/ready").status_code == 200
    database = tmp_path / "finplat.db"
    assert database.is_file()
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO bus_inbox (consumer, event_id, processed_at) "
            "VALUES ('restart-check', '0190f0f0f0f07000800000000000abcd', '2026-01-01 00:00:00')"
        )
    with finplat_serve(tmp_path, port) as client:
        assert client.get("/api/v1/ready").json()["status"] == "ready"
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT consumer FROM bus_inbox").fetchall()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert rows == [("restart-check",)]
    assert version == [(head_revision(),)]
