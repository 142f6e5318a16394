"""`uptake serve` as a user runs it: a real process, then SIGTERM; nothing it served is missing from the log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serve_live import customer
from uptake.audit.read import count_rows

UPTAKE = str(Path(sys.executable).with_name("uptake"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"uptake serve exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            return httpx.get(f"{url}/health", timeout=2).json()
        except httpx.HTTPError:
            time.sleep(0.25)
    raise AssertionError("uptake serve did not become healthy")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_command_end_to_end(quick_model, tmp_path, workers) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    env = {**os.environ, "UPTAKE_API_KEY": ""}
    proc = subprocess.Popen(
        [UPTAKE, "serve", str(quick_model), "--port", str(port), "--db", db, "--workers", str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        health = wait_healthy(url, proc)
        assert health["status"] == "ok"
        with httpx.Client(base_url=url, timeout=30) as c:
            n = 0
            for i in range(60):
                r = c.post("/api/v1/predict", json=[customer(Income=50 + i)] * (1 + i % 3))
                assert r.status_code == 200
                n += 1 + i % 3
            assert "customer-form" in c.get("/").text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    # uvicorn shuts down gracefully, then re-raises the signal it caught, as a process should
    assert proc.returncode in (0, 143, -signal.SIGTERM), out  # 143: the usual exit code after SIGTERM
    assert "Application shutdown complete" in out
    assert "page and API: http://127.0.0.1" in out
    assert count_rows(db) == n  # graceful shutdown flushed the queue


def test_bad_model_dir_is_one_line_and_exit_2(tmp_path) -> None:
    done = subprocess.run(
        [UPTAKE, "serve", str(tmp_path), "--port", str(free_port())], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: file ") and "not an uptake model" in done.stderr
    assert "Traceback" not in done.stderr
