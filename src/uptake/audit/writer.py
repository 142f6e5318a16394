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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from uptake.audit.db import DEFAULT_DB, JSONText, make_engine, migrate, normalize_url, predictions
from uptake.audit.journal import Journal, orphans, uncommitted
from uptake.io.jsonable import dumps, jsonable

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

    #: its sequence number in the journal (0: not journalled)
    seq: int = 0

    def __len__(self) -> int:
        return len(self.probability)

    def _inputs_json(self) -> str:
        """The inputs as one JSON array (a file's rows in one C-level pass: ~30x a per-row json.dumps)."""
        if isinstance(self.inputs, pd.DataFrame):
            return self.inputs.to_json(orient="records", date_format="iso")
        return dumps([dict(r) for r in self.inputs])  # sanitised only where a value needs it

    def _fixed(self) -> dict[str, Any]:
        """What every row of the entry shares (the journal's head and each audit row)."""
        return {
            "request_id": self.request_id,
            "source": self.source,
            "model_version": self.model_version,
            "threshold": self.threshold,
            "latency_ms": self.latency_ms,
            "batch_id": self.batch_id,
        }

    def journal_body(self) -> bytes:
        """The entry as one line of JSON, for the write-ahead journal (``uptake.audit.journal``)."""
        n = len(self.probability)
        head = {
            "created": self.created,
            **self._fixed(),
            "rows": list(self.rows) if self.rows is not None else None,
            "probability": self.probability.tolist(),
            "decision": np.asarray(self.decision).tolist(),
            "customer_ids": list(self.customer_ids) if self.customer_ids is not None else [None] * n,
            "flags": list(self.flags) if self.flags is not None else None,
            "reasons": list(self.reasons) if self.reasons is not None else None,  # dumps sanitises if need be
        }
        return (dumps(head)[:-1] + ',"inputs":' + self._inputs_json() + "}").encode()

    @classmethod
    def from_journal(cls, item: Mapping[str, Any]) -> Entry:
        return cls(
            float(item["created"]),
            str(item["request_id"]),
            str(item["source"]),
            str(item["model_version"]),
            float(item["threshold"]),
            float(item["latency_ms"]),
            list(item["inputs"]),
            np.asarray(item["probability"], dtype=np.float64),
            np.asarray(item["decision"], dtype=np.int64),
            item.get("rows"),
            item.get("customer_ids"),
            item.get("batch_id"),
            item.get("flags"),
            item.get("reasons"),
        )

    def records(self) -> Iterator[dict[str, Any]]:
        when = datetime.fromtimestamp(self.created, UTC)
        if isinstance(self.inputs, pd.DataFrame):
            # One C-level pass for the whole file (NaN becomes null); ~30x a per-row json.dumps.
            text = self.inputs.to_json(orient="records", lines=True, date_format="iso")
            inputs: Sequence[Any] = [_no_nul(JSONText(line)) for line in text.splitlines()]
        else:
            inputs = [_no_nul(jsonable(dict(r))) for r in self.inputs]
        rows = self.rows if self.rows is not None else range(len(self.probability))
        ids = self.customer_ids if self.customer_ids is not None else [None] * len(self.probability)
        flags = self.flags if self.flags is not None else [None] * len(self.probability)
        shown = self.reasons if self.reasons is not None else [None] * len(self.probability)
        fixed = {"created_at": when, **self._fixed()}
        rows_of = zip(inputs, self.probability.tolist(), self.decision.tolist(), rows, ids, flags, shown)
        for inp, p, d, r, c, f, why in rows_of:
            yield {
                **fixed,
                "row_index": int(r),
                "inputs": inp,
                "probability": p,
                "decision": int(d),
                "customer_id": _no_nul(c),
                "flags": _no_nul(f) or None,
                "reasons": _no_nul(jsonable(why)) if why else None,
            }


def _no_nul(value: Any) -> Any:
    """Text without NUL characters (PostgreSQL refuses them in text and JSON, and would take a whole batch of
    other customers' rows down with the one row holding one): each becomes U+FFFD, visibly not a character."""
    if isinstance(value, JSONText):
        return JSONText(value.replace("\\u0000", "\\ufffd")) if "\\u0000" in value else value
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value


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
        journal: str | Path | None = None,
        fsync: bool = False,
    ) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        if run_migrations:
            migrate(self.engine)
        #: rows replayed at start from journals of processes that died before writing them
        self.replayed = 0
        self.rejected_file: str | None = None
        self.journal: Journal | None = None
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
        if journal is not None:  # before the first request: what a stopped server answered is written first
            self.replayed = self._replay(Path(journal))
            self.journal = Journal(journal, fsync=fsync)
        self._thread = threading.Thread(target=self._run, name="uptake-audit-writer", daemon=True)
        self._thread.start()

    # ---- request side ---------------------------------------------------------------------
    def record(self, entry: Entry) -> None:
        """Queue an answered request's rows; with a journal they are on disk when this returns (before the
        answer leaves), whatever happens to the process next."""
        n = len(entry)
        body = entry.journal_body() if self.journal is not None else b""  # serialised outside the lock
        with self._lock:
            if self._closed or self.pending + n > self.max_pending_rows:
                self._fail(n, "audit log closed" if self._closed else "audit backlog full: database too slow")
                return
            if self.journal is not None:  # under the lock: journal order is queue order, so marks are true
                try:
                    entry.seq = self.journal.append(body)
                except OSError as exc:  # a full disk: counted and shown, the answer still goes out
                    self._fail(0, f"audit journal: {exc}")
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
                "journal": str(self.journal.directory) if self.journal is not None else None,
                "replayed": self.replayed,
                "rejected_file": self.rejected_file,
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
        if self.journal is not None:
            self.journal.close()
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
        written, failed, error = n, 0, None
        try:
            self._insert_entries(batch)
        except Exception as exc:  # noqa: BLE001 - counted and surfaced on /health, never raised into a request
            error = _words(exc)
            if len(batch) > 1:  # one entry the database refuses must not take the others' rows down with it
                written = failed = 0
                for entry in batch:
                    try:
                        self._insert_entries([entry])
                        written += len(entry)
                    except Exception as one:  # noqa: BLE001 - kept in the rejected file, counted
                        failed += len(entry)
                        error = _words(one)
                        self._reject(entry, error)
            else:
                written, failed = 0, n
                self._reject(batch[0], error)
            log.error("audit log: could not write %d prediction rows: %s", failed, error)
        if self.journal is not None and batch[-1].seq:
            self.journal.mark(batch[-1].seq)  # in order: everything up to it is in the database or rejected
        with self._lock:
            self.pending -= n
            self.written += written
            if failed:
                self._fail(failed, error or "")

    def _insert_entries(self, batch: list[Entry]) -> None:
        for chunk in _chunks((r for e in batch for r in e.records()), self.batch_rows * 4):
            self._insert(chunk)

    def _reject(self, entry: Entry, error: str) -> None:
        if self.journal is not None:
            self.rejected_file = str(self.journal.reject(entry.journal_body(), error))

    def _replay(self, directory: Path) -> int:
        """Insert what journals of dead processes hold and the database lacks; then remove them."""
        replayed = 0
        for path in orphans(directory):
            entries = [Entry.from_journal(item) for item in uncommitted(path)]
            present = self._present({e.request_id for e in entries})
            missing = [e for e in entries if e.request_id not in present]
            for e in missing:
                try:
                    self._insert_entries([e])
                    replayed += len(e)
                except Exception as exc:  # noqa: BLE001 - kept beside the journal, counted
                    self._fail(len(e), _words(exc))
                    self.rejected_file = str(Journal.reject_into(directory, e.journal_body(), _words(exc)))
            path.unlink(missing_ok=True)
        if replayed:
            log.warning("audit log: wrote %d answered rows a stopped server had not written yet", replayed)
        return replayed

    def _present(self, request_ids: set[str]) -> set[str]:
        found: set[str] = set()
        ids = sorted(request_ids)
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                q = sa.select(predictions.c.request_id).where(predictions.c.request_id.in_(ids[i : i + 500]))
                found.update(r[0] for r in conn.execute(q.distinct()))
        return found

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


def _words(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


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
