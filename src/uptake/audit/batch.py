"""Batch scoring into the audit log: ``uptake predict ... --db URL`` records every scored row.

The scored output file (the input's rows plus probability and decision) is read back
in chunks and written through the same ``AuditLog`` as served predictions, with
source ``batch``, one batch id for the run and each row's customer id from the
table's id column (``uptake.audit.ids``), so outcomes imported after the campaign
join batch-scored customers as they join served ones. Failures are raised, not
counted: a command that says it recorded a batch has recorded all of it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from uptake.audit.ids import id_column, keys_of
from uptake.audit.writer import AuditLog, Entry
from uptake.errors import UptakeInputError
from uptake.io.chunks import iter_chunks


def record_scored(
    url: str,
    scored_file: Path,
    *,
    model_version: str,
    threshold: float,
    features: list[str],
    dropped: Iterable[dict[str, str]] = (),
) -> tuple[str, int, str | None]:
    """Write a scored file's rows to the audit log; returns (batch id, rows, id column or None)."""
    batch = "batch-" + uuid.uuid4().hex[:16]
    log = AuditLog(url)
    rows = 0
    ids_at: str | None = None
    started = time.time()
    try:
        for chunk in iter_chunks(scored_file):
            df = chunk.table.to_pandas()
            if rows == 0:
                ids_at = id_column(df.columns, dropped)
            ids = None if ids_at is None else keys_of(df[ids_at], scored_file, ids_at, chunk.first_row + chunk.start)
            p = df["probability"].to_numpy(dtype=np.float64)
            log.record(
                Entry(
                    started,
                    batch,
                    "batch",
                    model_version,
                    threshold,
                    0.0,
                    df[features],
                    p,
                    df["decision"].to_numpy(dtype=np.int8),
                    rows=range(chunk.start, chunk.start + len(df)),
                    customer_ids=ids,
                    batch_id=batch,
                )
            )
            rows += len(df)
            if log.stats()["pending"] > 500_000:
                log.flush(600)
    finally:
        log.close(timeout=3600)
    stats = log.stats()
    if stats["failed"]:
        raise UptakeInputError(
            f"--db: {stats['failed']:,} of {rows:,} scored rows could not be written to the audit "
            f"log ({stats['last_error']}); the scored file is complete"
        )
    return batch, rows, ids_at


__all__ = ["record_scored"]
