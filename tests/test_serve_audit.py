"""The audit log: Alembic migrations, batched background writes, no lost rows, failures surfaced, export."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from serve_live import customer, database, live_server
from uptake.audit.db import TABLE, VERSION_TABLE, alembic_config, make_engine, metadata, migrate
from uptake.audit.read import count_rows, parse_since, read_log
from uptake.audit.writer import AuditLog, Entry
from uptake.cli import app as cli_app
from uptake.errors import UptakeInputError
from uptake.serve.config import ServeConfig


def entry(n: int, request_id: str = "r", created: float | None = None) -> Entry:
    rows = [customer(Age=20 + i % 40) for i in range(n)]
    p = np.linspace(0, 1, n)
    return Entry(created or time.time(), request_id, "api", "v1", 0.5, 1.0, rows, p, (p >= 0.5).astype(np.int8))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_declared_table(kind, tmp_path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with database(kind, tmp_path) as url:
        engine = make_engine(url)
        migrate(engine)
        migrate(engine)  # idempotent: a restart must not fail
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            heads = ScriptDirectory.from_config(alembic_config(conn)).get_heads()
            assert len(heads) == 1 and ctx.get_current_revision() == heads[0] >= "0002"
            diffs = [
                d
                for d in compare_metadata(ctx, metadata)
                if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)
            ]
            assert diffs == []
            assert TABLE in sa.inspect(conn).get_table_names()
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_close_writes_everything_recorded(kind, tmp_path) -> None:
    with database(kind, tmp_path) as url:
        log = AuditLog(url, batch_rows=500)
        for i in range(300):
            log.record(entry(1 + i % 7, request_id=f"req-{i}"))
        log.record(entry(5000, request_id="file"))
        expected = sum(1 + i % 7 for i in range(300)) + 5000
        log.close()  # no flush first: close itself must drain the queue
        assert log.stats()["written"] == expected and log.stats()["failed"] == 0
        assert count_rows(url) == expected
        frame = read_log(url)
        got = frame[frame["request_id"] == "file"].sort_values("row_index")
        assert got["row_index"].tolist() == list(range(5000))
        np.testing.assert_allclose(got["probability"], np.linspace(0, 1, 5000))
        assert got["Age"].iloc[3] == 23


def test_records_after_close_are_counted_as_failures(tmp_path) -> None:
    log = AuditLog(f"sqlite:///{tmp_path / 'a.sqlite'}")
    log.close()
    log.record(entry(3))
    assert log.stats()["failed"] == 3 and "closed" in log.stats()["last_error"]


def test_a_broken_database_is_counted_and_shown_on_health(quick_model, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    with (
        live_server(ServeConfig([str(quick_model)], db_url=url)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        assert client.post("/api/v1/predict", json=customer()).status_code == 200
        assert server.audit.flush(30)
        engine = make_engine(url)
        with engine.begin() as conn:  # someone drops the table under the running service
            conn.execute(sa.text(f"DROP TABLE {TABLE}"))
        engine.dispose()
        r = client.post("/api/v1/predict", json=[customer(), customer()])
        assert r.status_code == 200  # the customer still gets an answer
        assert server.audit.flush(30)
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        assert health["audit"]["failed"] == 2 and health["audit"]["written"] == 1
        assert "no such table" in health["audit"]["last_error"]
        assert "2 prediction rows not written" in health["problems"][0]


def test_backlog_cap_refuses_instead_of_eating_memory(tmp_path) -> None:
    log = AuditLog(f"sqlite:///{tmp_path / 'a.sqlite'}", max_pending_rows=10, interval_s=60)
    log.record(entry(8))
    log.record(entry(8))  # would exceed the cap while the writer sleeps
    assert log.stats()["failed"] == 8 and "backlog" in log.stats()["last_error"]
    log.close()
    assert count_rows(f"sqlite:///{tmp_path / 'a.sqlite'}") == 8


def test_unreachable_database_is_a_one_line_input_error(tmp_path) -> None:
    with pytest.raises(UptakeInputError, match="cannot open the audit database"):
        AuditLog(f"sqlite:///{tmp_path / 'missing-dir' / 'a.sqlite'}")
    with pytest.raises(UptakeInputError, match="not a database URL"):
        AuditLog("no-such-scheme:")


def test_parse_since() -> None:
    now = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-05-01", now) == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_since("2026-05-01T10:30:00+02:00", now) == datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(UptakeInputError, match="--since 'yesterday'"):
        parse_since("yesterday")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_log_export_command(kind, tmp_path) -> None:
    with database(kind, tmp_path) as url:
        log = AuditLog(url)
        old = time.time() - 3 * 86400
        log.record(entry(4, "old", created=old))
        log.record(entry(6, "new"))
        log.close()
        runner = CliRunner()
        out = tmp_path / "log.csv"
        result = runner.invoke(cli_app, ["log", "export", "--db", url, "--since", "1d", "--out", str(out)])
        assert result.exit_code == 0, result.output
        frame = pd.read_csv(out)
        assert len(frame) == 6 and set(frame["request_id"]) == {"new"}
        assert {"created_at", "model_version", "probability", "decision", "threshold", "latency_ms", "Income"} <= set(
            frame.columns
        )
        out_pq = tmp_path / "all.parquet"
        result = runner.invoke(cli_app, ["log", "export", "--db", url, "--out", str(out_pq)])
        assert result.exit_code == 0 and len(pd.read_parquet(out_pq)) == 10
        result = runner.invoke(cli_app, ["log", "export", "--db", url, "--until", "2d", "--out", str(out)])
        assert result.exit_code == 0 and set(pd.read_csv(out)["request_id"]) == {"old"}


def test_log_export_errors_are_one_line(tmp_path) -> None:
    import subprocess
    import sys

    cmd = [
        str(Path(sys.executable).with_name("uptake")),
        "log",
        "export",
        "--db",
        f"sqlite:///{tmp_path / 'none.sqlite'}",
        "--out",
        str(tmp_path / "x.csv"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: --db") and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_reading_the_log_back_keeps_every_cell_as_written(kind, tmp_path) -> None:
    """The bulk JSON parse falls back to row by row where a column mixes types, and never turns text into dates."""
    plain = [customer(Age=30 + i) for i in range(5)]
    mixed = [customer(Age=40), {**customer(), "Age": "forty"}, {**customer(), "Note": "2026-01-01"}]
    with database(kind, tmp_path) as url:
        log = AuditLog(url)
        p = np.full(5, 0.25)
        log.record(Entry(time.time(), "plain", "api", "v1", 0.5, 1.0, plain, p, np.zeros(5, dtype=np.int8)))
        log.record(Entry(time.time(), "mixed", "api", "v1", 0.5, 1.0, mixed, p[:3], np.zeros(3, dtype=np.int8)))
        log.close()
        frame = read_log(url)
    assert frame["Age"].tolist() == [30, 31, 32, 33, 34, 40, "forty", 45]
    assert frame["Note"].dropna().tolist() == ["2026-01-01"] and isinstance(frame["Note"].dropna().iloc[0], str)
    assert frame["probability"].tolist() == [0.25] * 8 and frame["request_id"].tolist() == ["plain"] * 5 + ["mixed"] * 3
