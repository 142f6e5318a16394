"""Helpers for the serving tests: real uvicorn servers on loopback, and test databases.

A server runs in a thread of the test process on a socket bound to a free port by
the OS (no port race), serves real HTTP, and is stopped through uvicorn's own
graceful shutdown, so the app's lifespan closes (and flushes) its audit log.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import uptake  # noqa: F401

POSTGRES_ENV = "UPTAKE_TEST_POSTGRES_URL"
CHROMIUM = Path("/usr/bin/chromium")


class LiveServer:
    """``uptake.serve.create_app(config)`` under uvicorn on 127.0.0.1:<free port>."""

    def __init__(self, config) -> None:
        import uvicorn

        from uptake.serve.app import create_app

        self.config = config
        self.app = create_app(config)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    @property
    def audit(self):
        return self.app.state.audit

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        self.sock.close()


@contextmanager
def live_server(config) -> Iterator[LiveServer]:
    server = LiveServer(config)
    try:
        yield server
    finally:
        server.stop()


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def database(kind: str, tmp_dir: Path) -> Iterator[str]:
    """A fresh, empty audit database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / f'audit-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://root@127.0.0.1:5432/test)")
    import sqlalchemy as sa

    from uptake.audit.db import normalize_url

    base = normalize_url(base)
    schema = f"uptake_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def challenger_copy(model_dir: Path, dest: Path, version: str = "challenger", threshold: float = 0.5) -> Path:
    """A second 'version' of a model: the same files with another version and threshold in its metadata."""
    import json

    out = dest / version
    if not out.exists():
        shutil.copytree(model_dir, out)
        meta_path = out / "metadata.json"
        meta = json.loads(meta_path.read_text())
        meta["version"], meta["threshold"] = version, threshold
        meta_path.write_text(json.dumps(meta))
    return out


def customer(**overrides):
    """A valid bank-table customer as the JSON API takes it."""
    base = {
        "Age": 45,
        "Experience": 20,
        "Income": 100,
        "Family": 2,
        "CCAvg": 2.5,
        "Education": 2,
        "Mortgage": 0,
        "Securities Account": 0,
        "CD Account": 0,
        "Online": 1,
        "CreditCard": 0,
    }
    base.update(overrides)
    return base
