"""What runs on Dask workers when ``uptake predict --engine dask`` scores a Parquet dataset.

Kept apart from the client (``uptake.apply.dask.client``) so that workers import
only what they run, and plain local scoring never imports ``distributed``.
Workers import this module by name (tasks and the plugin are pickled by
reference by Dask, not by value), so a worker needs uptake installed, the
same as the client.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from distributed.diagnostics.plugin import WorkerPlugin

from uptake.apply.chunked import score_chunk
from uptake.errors import UptakeInputError
from uptake.io.arrow import normalize_table
from uptake.io.chunks import Chunk
from uptake.pipeline import Model

#: Models loaded in this worker process by ``ModelPlugin``, by content hash.
WORKER_MODELS: dict[str, Model] = {}


def model_key(files: dict[str, bytes]) -> str:
    """A content hash, so two different models registered on one cluster never collide."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(hashlib.sha256(files[name]).digest())
    return h.hexdigest()[:16]


class ModelPlugin(WorkerPlugin):
    """Ships a model's files to each worker once and loads them there.

    The files travel as bytes and are loaded with ``Model.load`` (Keras
    ``safe_mode``, skops allow-list), so no model code is unpickled on a worker and
    the workers need no shared disk for the model. The scheduler replays plugins on
    workers that join later, so a worker the nanny restarts after a crash loads the
    model again before it runs a task.
    """

    def __init__(self, files: dict[str, bytes], key: str) -> None:
        self.files = files
        self.key = key
        self.name = f"uptake-model-{key}"
        self.directory: str | None = None

    def setup(self, worker: Any) -> None:
        directory = Path(tempfile.mkdtemp(prefix=f"uptake-model-{self.key}-"))
        for rel, blob in self.files.items():
            target = directory / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        WORKER_MODELS[self.key] = Model.load(directory)
        self.directory = str(directory)

    def teardown(self, worker: Any) -> None:
        WORKER_MODELS.pop(self.key, None)
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def score_unit(key: str, unit: Any, skip_invalid: bool, source: str) -> dict[str, Any]:
    """Probabilities of one Parquet row group, with this worker's copy of the model.

    A user error (an invalid row) comes back as data, not an exception, so Dask's
    retries are spent only on real failures and the client can stop the job at once.
    """
    m = WORKER_MODELS.get(key)
    if m is None:
        raise RuntimeError(f"model {key} is not loaded on this worker (its plugin did not run)")
    table = normalize_table(pq.ParquetFile(unit.file).read_row_group(unit.row_group))
    chunk = Chunk(table, unit.start, 1)
    try:
        result = score_chunk(m, chunk, source, skip_invalid)
    except UptakeInputError as exc:
        return {"start": unit.start, "error": str(exc)}
    return {
        "start": unit.start,
        "p": result.p,
        "errors": result.errors,
        "invalid": result.invalid,
        "filled": result.filled,
        "flags": result.flags,
        "blank": result.blank,
    }
