"""The audit log: every prediction the service makes, in a real database.

One row per scored customer: time, model version, the inputs as the model saw them,
probability, decision, threshold, request id, source (api, page, file) and the
request's latency. SQLite (a file beside the service) by default; PostgreSQL when
given a ``postgresql://`` URL. The table is created and upgraded by the Alembic
migrations shipped in ``uptake/serve/migrations``, run on start.

Writing is off the request path: handlers put one small tuple per request on a
queue, and a single background thread turns them into batched INSERTs. A request
therefore never waits for the database, and a slow or failing database costs
throughput nowhere. Failures are not silent: each lost row is counted, the last
error kept, and both reported by ``/health``. ``close`` drains the queue, so a
normal shutdown loses nothing.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from uptake.errors import UptakeInputError

log = logging.getLogger("uptake.serve.audit")

DEFAULT_DB = "sqlite:///uptake-audit.sqlite"
TABLE = "uptake_predictions"
VERSION_TABLE = "uptake_alembic_version"
MIGRATIONS = Path(__file__).with_name("migrations")

metadata = sa.MetaData()
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
predictions = sa.Table(
    TABLE,
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("row_index", sa.Integer(), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("model_version", sa.String(128), nullable=False),
    sa.Column("inputs", JSONType, nullable=False),
    sa.Column("probability", sa.Float(), nullable=False),
    sa.Column("decision", sa.SmallInteger(), nullable=False),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("latency_ms", sa.Float(), nullable=False),
)


class JSONText(str):
    """Inputs already serialised to JSON (a whole file's rows at once, by pandas in C)."""


def _json_serializer(value: Any) -> str:
    """The engines' JSON encoder: passes ``JSONText`` through, so nothing is encoded twice."""
    if isinstance(value, JSONText):
        return str(value)
    return json.dumps(value, allow_nan=False, default=_json_default)


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def normalize_url(url: str) -> str:
    """Plain ``postgresql://`` means psycopg 3 here (SQLAlchemy would look for psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> sa.Engine:
    """An engine with SQLite set up for one writer thread beside readers (WAL, busy timeout)."""
    url = normalize_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise UptakeInputError(f"--db {url!r}: not a database URL ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"timeout": 30}, json_serializer=_json_serializer)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, json_serializer=_json_serializer)


def alembic_config(connection: sa.Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Create or upgrade the audit table to the newest migration (idempotent)."""
    from alembic import command

    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    except sa.exc.OperationalError as exc:
        raise UptakeInputError(f"--db {engine.url.render_as_string(hide_password=True)!r}: cannot open the audit database ({exc.orig})") from None


# ---- what the request path hands over ------------------------------------------------------------
@dataclass
class Entry:
    """One request's predictions, as handed to the writer thread (cheap to build)."""

    created: float
    request_id: str
    source: str
    model_version: str
    threshold: float
    latency_ms: float
    inputs: Sequence[Mapping[str, Any]] | pd.DataFrame
    probability: np.ndarray
    decision: np.ndarray
    rows: Sequence[int] | None = None

    def __len__(self) -> int:
        return len(self.probability)

    def records(self) -> Iterator[dict[str, Any]]:
        when = datetime.fromtimestamp(self.created, UTC)
        if isinstance(self.inputs, pd.DataFrame):
            # One C-level pass for the whole file (NaN becomes null); ~30x a per-row json.dumps.
            text = self.inputs.to_json(orient="records", lines=True, date_format="iso")
            inputs: Sequence[Any] = [JSONText(line) for line in text.splitlines()]
        else:
            inputs = [_clean(r) for r in self.inputs]
        rows = self.rows if self.rows is not None else range(len(self.probability))
        fixed = {"created_at": when, "request_id": self.request_id, "source": self.source,
                 "model_version": self.model_version, "threshold": self.threshold, "latency_ms": self.latency_ms}
        for inp, p, d, r in zip(inputs, self.probability.tolist(), self.decision.tolist(), rows):
            yield {**fixed, "row_index": int(r), "inputs": inp, "probability": p, "decision": int(d)}


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe inputs: NaN becomes null, numpy scalars plain numbers."""
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and math.isnan(v):
            v = None
        out[str(k)] = v
    return out


class AuditLog:
    """A background writer of prediction rows with batched inserts.

    ``record`` never blocks and never raises: the service keeps answering when the
    database is down, and ``stats`` says how many rows could not be written. Rows
    reach the database within about ``interval_s`` (``flush`` waits for them).
    """

    def __init__(
        self,
        url: str = DEFAULT_DB,
        batch_rows: int = 2000,
        max_pending_rows: int = 2_000_000,
        run_migrations: bool = True,
        interval_s: float = 0.05,
    ) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        if run_migrations:
            migrate(self.engine)
        self.batch_rows = batch_rows
        self.max_pending_rows = max_pending_rows
        self.interval_s = interval_s
        # A deque, not a queue.Queue: appending wakes nobody. Waking the writer on every
        # request hands it the GIL mid-request and doubles single-customer latency; it
        # wakes on its own every ``interval_s`` instead, or when a batch is full.
        self._entries: collections.deque[Entry] = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self.written = 0
        self.failed = 0
        self.pending = 0
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self._closed = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="uptake-audit-writer", daemon=True)
        self._thread.start()

    # ---- request side ---------------------------------------------------------------------
    def record(self, entry: Entry) -> None:
        n = len(entry)
        with self._lock:
            if self._closed or self.pending + n > self.max_pending_rows:
                self._fail(n, "audit log closed" if self._closed else "audit backlog full: database too slow")
                return
            self.pending += n
            full = self.pending >= self.batch_rows
            self._entries.append(entry)  # under the lock: close() cannot slip in between
        if full:
            self._wake.set()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "database": self.engine.url.get_backend_name(),
                "written": self.written,
                "failed": self.failed,
                "pending": self.pending,
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
            }

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything recorded so far is written (or failed)."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while time.monotonic() < deadline:
            with self._lock:
                if self.pending == 0:
                    return True
            time.sleep(0.005)
        return False

    def close(self, timeout: float = 60.0) -> None:
        """Write what is queued, stop the thread, release the database."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        self.engine.dispose()

    # ---- writer thread ----------------------------------------------------------------------
    def _fail(self, n: int, error: str) -> None:
        self.failed += n
        self.last_error = error
        self.last_error_at = datetime.now(UTC).isoformat(timespec="seconds")

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            stopping = self._stop  # read before draining: nothing recorded before close is left behind
            while self._entries:
                batch: list[Entry] = []
                rows = 0
                while self._entries and rows < self.batch_rows:
                    entry = self._entries.popleft()
                    batch.append(entry)
                    rows += len(entry)
                self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[Entry]) -> None:
        n = sum(len(e) for e in batch)
        error = None
        try:
            for chunk in _chunks((r for e in batch for r in e.records()), self.batch_rows * 4):
                self._insert(chunk)
        except Exception as exc:  # noqa: BLE001 - counted and surfaced on /health, never raised into a request
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.error("audit log: could not write %d prediction rows: %s", n, error)
        with self._lock:
            self.pending -= n
            if error is None:
                self.written += n
            else:
                self._fail(n, error)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        """One transaction per chunk; one retry covers a dropped connection."""
        for attempt in (1, 2):
            try:
                with self.engine.begin() as conn:
                    conn.execute(predictions.insert(), rows)
                return
            except sa.exc.OperationalError:
                if attempt == 2:
                    raise
                time.sleep(0.2)


def _chunks(it: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for r in it:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---- reading it back ------------------------------------------------------------------------------
def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``2026-05-01``, ``2026-05-01T12:00``, or relative: ``30m``, ``12h``, ``7d`` ago. Times are UTC."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    now = now or datetime.now(UTC)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text[-1:].lower() in units and text[:-1].replace(".", "", 1).isdigit():
        from datetime import timedelta

        return now - timedelta(seconds=float(text[:-1]) * units[text[-1].lower()])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UptakeInputError(
            f"--since {text!r}: use a date or time (2026-05-01, 2026-05-01T12:00) or an age (30m, 12h, 7d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_log(url: str, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """The audit rows as a table: fixed columns, then one column per input feature."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(TABLE):
                raise UptakeInputError(f"--db {url!r}: no audit log in this database (has `uptake serve` run with it?)")
            query = sa.select(predictions).order_by(predictions.c.id)
            if since is not None:
                query = query.where(predictions.c.created_at >= _db_time(engine, since))
            if until is not None:
                query = query.where(predictions.c.created_at < _db_time(engine, until))
            result = conn.execute(query).mappings().all()
    except sa.exc.OperationalError as exc:
        raise UptakeInputError(f"--db {url!r}: cannot read the audit database ({exc.orig})") from None
    finally:
        engine.dispose()
    fixed = [c.name for c in predictions.columns if c.name != "inputs"]
    frame = pd.DataFrame([{k: r[k] for k in fixed} for r in result], columns=fixed)
    inputs = pd.DataFrame([_as_dict(r["inputs"]) for r in result], index=frame.index)
    inputs = inputs.rename(columns={c: f"input.{c}" for c in inputs.columns if c in frame.columns})
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return pd.concat([frame, inputs], axis=1)


def _as_dict(v: Any) -> dict[str, Any]:
    return json.loads(v) if isinstance(v, str) else dict(v or {})


def _db_time(engine: sa.Engine, when: datetime) -> datetime:
    """SQLite keeps naive UTC strings; PostgreSQL compares aware times."""
    when = when.astimezone(UTC)
    return when.replace(tzinfo=None) if engine.dialect.name == "sqlite" else when


def count_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one())
    finally:
        engine.dispose()
