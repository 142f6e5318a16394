"""Scoring a Parquet dataset on a dask.distributed cluster, one row group per task.

Workers compute only the probabilities (the expensive part) of one Parquet row group
each and send back 8 bytes a row; the client assembles the output with the same
second pass as local streaming (``uptake.apply.stream.write_pass``), so results are
identical by construction. The model travels once per worker inside a worker plugin
(``uptake.apply.dask.worker``), and a restarted worker gets it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, LocalCluster, as_completed

from uptake.apply.chunked import KEEP_ERRORS, add_counts
from uptake.apply.dask.worker import ModelPlugin, model_key, score_unit
from uptake.apply.ranks import DEFAULT_RUN_ROWS, ExactRanks, ProbabilityStore
from uptake.apply.stream import NoProgress, PassSummary, Progress, ScoreSummary, scored_output, write_pass
from uptake.artifact import model_files
from uptake.decide.decision import decide
from uptake.errors import UptakeInputError, where
from uptake.io.chunks import DEFAULT_CHUNK_ROWS, ParquetChunks, Unit, parquet_units
from uptake.io.outputs import check_output
from uptake.io.tables import check_input, first_line
from uptake.pipeline import Model
from uptake.schema.flags import add_summaries
from uptake.schema.table import check_not_empty


def dask_predict(
    model: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    skip_invalid: bool = False,
    rank: bool = True,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    run_rows: int = DEFAULT_RUN_ROWS,
    retries: int = 2,
    progress: Progress | None = None,
    client: Any | None = None,
    on_unit_done: Callable[[int], None] | None = None,
) -> ScoreSummary:
    """Score a Parquet dataset on a dask.distributed cluster, one row group per task.

    Args:
        model: the model directory (its files are shipped to every worker once).
        data: a Parquet file or a directory of Parquet files that every worker can read
            at the same path (a shared disk on a real cluster).
        out: ``.csv`` or ``.parquet``, written by this process with the same code as
            local streaming (so the output is identical to ``stream_predict``'s).
        scheduler: ``tcp://host:port`` of a running scheduler; None starts a
            ``LocalCluster`` of ``n_workers`` worker processes for this call.
        retries: re-runs of a task that raised; tasks on a worker that died are
            re-run by the scheduler anyway (up to ``distributed.scheduler.allowed-failures``).
        client: an existing ``distributed.Client`` to use instead (tests).
        on_unit_done: called with the number of finished tasks (tests use it to kill a worker).
    """
    started = time.perf_counter()
    model, data, out = Path(model), Path(data), Path(out)
    m = Model.load(model)
    check_output(out, inputs=(data,))
    if check_input(data) != "parquet":
        raise UptakeInputError(
            f"{where(file=data)}: --engine dask scores Parquet (a file or a directory of files); convert CSV first"
        )
    units = parquet_units(data)
    total = sum(u.rows for u in units)
    if total == 0:
        raise UptakeInputError(f"{where(file=data)}: the table has no data rows")
    progress = progress or NoProgress()
    own_cluster = None
    try:
        with scored_output(out, data) as (writer, scratch):
            if client is None:
                own_cluster, client = _connect(scheduler, n_workers, threads_per_worker)
            key = ship_model(client, model)
            store = ProbabilityStore(scratch, rows=total)
            try:
                state = _run_units(
                    client, key, units, skip_invalid, str(data), store, progress, retries, on_unit_done, m.threshold
                )
                check_not_empty(m.schema, state.filled, total, data)
                p_all = store.array()
                ranks = ExactRanks(p_all, scratch, run_rows) if rank else None
                write_pass(m, ParquetChunks(data, chunk_rows), p_all, ranks, writer, progress, total, data)
            finally:
                store.close()
    finally:
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    return ScoreSummary(
        out=out,
        rows_read=total,
        rows_scored=state.scored,
        positives=state.positives,
        invalid=state.invalid,
        errors=state.errors,
        ranked=rank,
        seconds=time.perf_counter() - started,
        engine="dask",
        flags=state.flags,
        blank=state.blank,
    )


def ship_model(client: Any, model: Path) -> str:
    """Register the worker plugin that carries the model's files; returns the key tasks look it up by."""
    files = model_files(model)
    key = model_key(files)
    client.register_plugin(ModelPlugin(files, key), name=f"uptake-model-{key}")
    return key


def _connect(scheduler: str | None, n_workers: int, threads_per_worker: int) -> tuple[Any, Any]:
    if scheduler:
        if "://" in scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise UptakeInputError(
                f"--scheduler {scheduler}: give the scheduler's address, tcp://HOST:8786 (not its dashboard's URL)"
            )
        try:
            return None, Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UptakeInputError(f"--scheduler {scheduler}: cannot connect ({first_line(exc)})") from None
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,
    )
    return cluster, Client(cluster)


def _run_units(
    client: Any,
    key: str,
    units: list[Unit],
    skip_invalid: bool,
    source: str,
    store: ProbabilityStore,
    progress: Progress,
    retries: int,
    on_unit_done: Callable[[int], None] | None,
    threshold: float,
) -> PassSummary:
    progress.phase("scoring (dask)", sum(u.rows for u in units))
    futures = [client.submit(score_unit, key, u, skip_invalid, source, retries=retries, pure=False) for u in units]
    state = PassSummary(rows=sum(u.rows for u in units))
    failures: list[dict[str, Any]] = []
    done = 0
    try:
        for future in as_completed(futures):
            result = future.result()
            future.release()
            done += 1
            if "error" in result:
                failures.append(result)
                break
            p = result["p"]
            store.put(result["start"], p)
            ok = ~np.isnan(p)
            state.scored += int(ok.sum())
            state.positives += int(decide(p[ok], threshold).sum())
            state.invalid += result["invalid"]
            state.errors.extend(result["errors"][: max(0, KEEP_ERRORS - len(state.errors))])
            add_counts(state.filled, result["filled"])
            state.flags = add_summaries(state.flags, result.get("flags", {}))
            state.blank += int(result.get("blank", 0))
            progress.advance(len(p))
            if on_unit_done is not None:
                on_unit_done(done)
    finally:
        client.cancel([f for f in futures if not f.done()])
    if failures:
        raise UptakeInputError(failures[0]["error"])
    return state


__all__ = ["dask_predict", "ship_model"]
