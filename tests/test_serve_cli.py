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
from uptake.audit.read import count_rows, read_log

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


def _serve(quick_model: Path, db: str, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "UPTAKE_API_KEY": ""}
    return subprocess.Popen(
        [UPTAKE, "serve", str(quick_model), "--port", str(port), "--db", db, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_loses_no_answered_row(quick_model, tmp_path, backend) -> None:
    """Every answered prediction is in the audit log after a kill -9 and a restart (the journal replayed), and
    one id holding a NUL byte takes no other customer's row down with it."""
    from concurrent.futures import ThreadPoolExecutor

    from serve_live import database

    with database(backend, tmp_path) as db:
        port = free_port()
        journal = tmp_path / "journal"
        proc = _serve(quick_model, db, port, "--audit-journal", str(journal))
        url = f"http://127.0.0.1:{port}"
        answered = 0
        try:
            wait_healthy(url, proc)

            def hammer(k: int) -> int:
                done = 0
                with httpx.Client(base_url=url, timeout=10) as c:
                    for i in range(10_000):
                        body = [customer(Income=40 + i % 150, id=f"c{k}-{i}")] * (1 + i % 4)
                        if i == 7:
                            body[0] = {**body[0], "id": "nul\x00id"}
                        try:
                            r = c.post("/api/v1/predict", json=body)
                        except httpx.HTTPError:
                            return done
                        if r.status_code == 200:
                            done += len(body)
                        elif i == 7:  # the NUL id is refused in one line, and nothing else with it
                            assert r.status_code == 422 and "control character" in r.text
                return done

            with ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(hammer, k) for k in range(4)]
                time.sleep(6)
                proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: the queue dies with the process
                answered = sum(f.result() for f in futures)
        finally:
            proc.kill()
            proc.communicate(timeout=30)
        assert answered > 200
        port = free_port()
        proc = _serve(quick_model, db, port, "--audit-journal", str(journal))
        try:
            health = wait_healthy(f"http://127.0.0.1:{port}", proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=90)
        logged = read_log(db)
        # every answered row is logged; rows of the few requests in flight at the kill may be logged without
        # their answer having reached the client (4 clients, at most 4 rows each), and none twice
        assert answered <= len(logged) <= answered + 16, (len(logged), answered, health["audit"])
        assert not logged.duplicated(["request_id", "row_index"]).any()
        assert not list(journal.glob("journal-*.jsonl"))  # replayed and removed; the new server's closed clean
