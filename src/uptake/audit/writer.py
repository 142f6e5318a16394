"""The audit log: every prediction the service makes, in a real database.

One row per scored customer: time, model version, the inputs as the model saw them,
probability, decision, threshold, request id, source (api, page, file) and the
request's latency. SQLite (a file beside the service) by default; PostgreSQL when
given a ``postgresql://`` URL. The table is created and upgraded by the Alembic
migrations in ``uptake/audit/migrations`` (``uptake.audit.db``).

Writing is off the request path: handlers put one small tuple per request on a
queue, and a single background thread turns them into batched INSERTs. A request
therefore never waits for the database, and a slow or failing database costs
throughput nowhere. Failures are not silent: each lost row is counted, the last
error kept, and both reported by ``/health``. ``close`` drains the queue, so a
normal shutdown loses nothing.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from uptake.audit.db import DEFAULT_DB, JSONText, make_engine, migrate, normalize_url, predictions
from uptake.io.jsonable import jsonable

log = logging.getLogger("uptake.serve.audit")


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
    customer_ids: Sequence[str | None] | None = None
    batch_id: str | None = None
    #: each row's unusual values as the answer gave them ('' or None for none)
    flags: Sequence[str | None] | None = None
    #: each row's reasons as the answer showed them (None where none were asked for)
    reasons: Sequence[Any] | None = None

    def __len__(self) -> int:
        return len(self.probability)

    def records(self) -> Iterator[dict[str, Any]]:
        when = datetime.fromtimestamp(self.created, UTC)
        if isinstance(self.inputs, pd.DataFrame):
            # One C-level pass for the whole file (NaN becomes null); ~30x a per-row json.dumps.
            text = self.inputs.to_json(orient="records", lines=True, date_format="iso")
            inputs: Sequence[Any] = [JSONText(line) for line in text.splitlines()]
        else:
            inputs = [jsonable(dict(r)) for r in self.inputs]
        rows = self.rows if self.rows is not None else range(len(self.probability))
        ids = self.customer_ids if self.customer_ids is not None else [None] * len(self.probability)
        flags = self.flags if self.flags is not None else [None] * len(self.probability)
        shown = self.reasons if self.reasons is not None else [None] * len(self.probability)
        fixed = {
            "created_at": when,
            "request_id": self.request_id,
            "source": self.source,
            "model_version": self.model_version,
            "threshold": self.threshold,
            "latency_ms": self.latency_ms,
            "batch_id": self.batch_id,
        }
        rows_of = zip(inputs, self.probability.tolist(), self.decision.tolist(), rows, ids, flags, shown)
        for inp, p, d, r, c, f, why in rows_of:
            yield {
                **fixed,
                "row_index": int(r),
                "inputs": inp,
                "probability": p,
                "decision": int(d),
                "customer_id": c,
                "flags": f or None,
                "reasons": jsonable(why) if why else None,
            }


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


__all__ = ["AuditLog", "Entry"]
