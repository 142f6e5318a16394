"""Scoring tables of any size on one machine: streamed in chunks, ranked exactly, written atomically.

Every row still goes through the model's scoring pipeline (validate with the stored
schema and policy, preprocess, predict, decide); this module only decides how rows
are read, in what pieces, and how the output is assembled, so a 10-million-row file
gets exactly the probabilities, decisions and ranks a 10-row file would.

* Input is read in chunks of ``chunk_rows`` (``uptake.io.chunks``): memory depends on
  the chunk size, not the file size.
* Ranking is exact for files larger than memory (``uptake.apply.ranks``): pass 1
  spills probabilities, pass 2 re-reads the input and writes rows + probability +
  decision + rank. ``rank=False`` writes in one pass.
* Output goes to a hidden temporary file beside the destination and is renamed into
  place at the end; on any error (or Ctrl-C, or SIGTERM) nothing is left behind.
* A feature column without a single value in the whole file is refused at the end of
  pass 1, before anything is written: an export of formulas without saved values
  would otherwise be scored as if every customer were typical.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from uptake.apply.chunked import KEEP_ERRORS, add_counts, chunk_flags, output_table, score_chunk
from uptake.apply.ranks import DEFAULT_RUN_ROWS, ExactRanks, ProbabilityStore
from uptake.decide.decision import decide
from uptake.errors import UptakeInputError, where
from uptake.io.atomic import new_temp_dir, temporary
from uptake.io.chunks import DEFAULT_CHUNK_ROWS, count_rows, open_chunks
from uptake.io.outputs import check_output
from uptake.io.writer import AtomicWriter
from uptake.pipeline import Model, ScoringPipeline
from uptake.pipeline.scoring import earlier_outputs
from uptake.schema.flags import add_summaries, describe
from uptake.schema.table import check_not_empty


# ---- progress ------------------------------------------------------------------------------
class Progress(Protocol):
    """What the scorer reports to: the CLI draws a rich bar, tests and the API pass nothing."""

    def phase(self, name: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...


class NoProgress:
    def phase(self, name: str, total: int | None) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass


# ---- results -------------------------------------------------------------------------------
@dataclass
class ScoreSummary:
    """What a scoring run did: counts for the one-line report, the first errors for the log."""

    out: Path
    rows_read: int = 0
    rows_scored: int = 0
    positives: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)
    ranked: bool = True
    seconds: float = 0.0
    engine: str = "local"
    #: unusual cells among the scored rows (``uptake.schema.flags``: rows flagged, cells per flag)
    flags: dict[str, Any] = field(default_factory=dict)
    #: rows whose every cell was empty: not customers, not scored
    blank: int = 0
    #: input columns an earlier scoring run wrote, replaced in the output
    replaced: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else float("nan")

    def notes(self, strict: bool = False) -> list[str]:
        """The lines ``uptake.pipeline.rows.ScoredTable.notes`` gives for a table read whole."""
        out = []
        if self.replaced:
            out.append("Replaced the columns of an earlier scoring run: " + ", ".join(self.replaced))
        if self.blank:
            out.append(f"Left out {self.blank:,} blank rows (every cell empty: not customers)")
        flagged = describe(self.flags, self.rows_scored, strict_hint=not strict) if self.flags else None
        if flagged:
            out.append(flagged)
        return out


def prefetch(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """Read the next chunk in a thread while this one is scored (pyarrow reads without the GIL).

    ``depth`` bounds how many chunks wait in memory.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", done))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            q.put(("error", exc))

    thread = threading.Thread(target=work, daemon=True, name="uptake-prefetch")
    thread.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)


@dataclass
class PassSummary:
    rows: int = 0
    scored: int = 0
    positives: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)
    filled: dict[str, int] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    blank: int = 0
    replaced: list[str] = field(default_factory=list)


@contextlib.contextmanager
def scored_output(out: Path, data: Path) -> Iterator[tuple[AtomicWriter, Path]]:
    """The output's writer and a scratch folder beside it: committed together, or nothing left behind."""
    with temporary(lambda: new_temp_dir(out, suffix=".scratch"), _remove_tree) as scratch:
        try:
            with temporary(lambda: AtomicWriter(out, inputs=(data,)), AtomicWriter.abort) as writer:
                yield writer, scratch
                writer.commit()
        finally:
            _remove_tree(scratch)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def stream_predict(
    model: ScoringPipeline | str | Path,
    data: str | Path,
    out: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    skip_invalid: bool = False,
    rank: bool = True,
    run_rows: int = DEFAULT_RUN_ROWS,
    progress: Progress | None = None,
    sep: str | None = None,
) -> ScoreSummary:
    """Score a CSV or Parquet file (or Parquet dataset directory) of any size into ``out``.

    Args:
        model: a loaded ``Model`` or its directory.
        data: the input; CSV is read as text and cast per chunk, Parquet by row group.
        out: ``.csv`` or ``.parquet``; appears only when complete.
        chunk_rows: rows validated and scored at a time; memory grows with this, not the file.
        skip_invalid: drop (and count) invalid rows instead of failing on the first one.
        rank: add the exact global ``rank`` column (two passes over the input).
        run_rows: probabilities sorted together in memory while ranking.
        progress: receives phase names and row counts (the CLI draws a bar from them).

    Returns:
        a ``ScoreSummary``. Raises ``UptakeInputError`` naming file, column, row and
        value for the first invalid row (unless ``skip_invalid``); nothing is written then.
    """
    started = time.perf_counter()
    m = model if isinstance(model, ScoringPipeline) else Model.load(model)
    data, out = Path(data), Path(out)
    check_output(out, inputs=(data,))
    chunks = open_chunks(data, chunk_rows, sep)
    progress = progress or NoProgress()
    with scored_output(out, data) as (writer, scratch):
        progress.phase("scoring", count_rows(data))
        if rank:
            store = ProbabilityStore(scratch)
            try:
                state = score_pass(m, data, chunks, skip_invalid, progress, store=store)
                ranks = ExactRanks(store.array(), scratch, run_rows)
                write_pass(
                    m, open_chunks(data, chunk_rows, sep), store.array(), ranks, writer, progress, state.rows, data
                )
            finally:
                store.close()
        else:
            state = score_pass(m, data, chunks, skip_invalid, progress, writer=writer)
    return ScoreSummary(
        out=out,
        rows_read=state.rows,
        rows_scored=state.scored,
        positives=state.positives,
        invalid=state.invalid,
        errors=state.errors,
        ranked=rank,
        seconds=time.perf_counter() - started,
        flags=state.flags,
        blank=state.blank,
        replaced=state.replaced,
    )


def score_pass(
    m: ScoringPipeline,
    data: Path,
    chunks: Any,
    skip_invalid: bool,
    progress: Progress,
    store: ProbabilityStore | None = None,
    writer: AtomicWriter | None = None,
) -> PassSummary:
    """Pass 1: validate and score every chunk; keep probabilities (rank) or write rows (no rank)."""
    state = PassSummary()
    for chunk in prefetch(iter(chunks)):
        n = chunk.table.num_rows
        if not skip_invalid:
            chunks.raise_bad_lines(upto=chunk.last_row)
        result = score_chunk(m, chunk, data, skip_invalid)
        if not state.rows:
            state.replaced = earlier_outputs(chunk.table.column_names)
        p = result.p
        state.rows += n
        state.invalid += result.invalid
        ok = ~np.isnan(p)
        state.scored += int(ok.sum())
        state.positives += int(decide(p[ok], m.threshold).sum())
        state.errors.extend(result.errors[: max(0, KEEP_ERRORS - len(state.errors))])
        add_counts(state.filled, result.filled)
        state.flags = add_summaries(state.flags, result.flags)
        state.blank += result.blank
        if store is not None:
            store.append(p)
        if writer is not None:
            writer.write(output_table(chunk.table, p, m.threshold, None, result.flag_texts))
        progress.advance(n)
    if not skip_invalid:
        chunks.raise_bad_lines(upto=None)
    check_not_empty(m.schema, state.filled, state.rows, data)
    bad = chunks.bad_lines
    state.rows += len(bad)
    state.invalid += len(bad)
    state.errors.extend(msg for _, msg in bad[: max(0, KEEP_ERRORS - len(state.errors))])
    nothing_scored(state, data)
    return state


def nothing_scored(state: PassSummary, data: object) -> None:
    """``--skip-invalid`` that skipped every row has scored nothing: an error, not an empty success."""
    if state.scored == 0 and state.invalid:
        first = f" ({state.errors[0]})" if state.errors else ""
        raise UptakeInputError(f"{where(file=data)}: every one of its {state.invalid:,} rows is invalid{first}")


def write_pass(
    m: ScoringPipeline,
    chunks: Any,
    probability: np.ndarray,
    ranks: ExactRanks | None,
    writer: AtomicWriter,
    progress: Progress,
    total: int,
    source: object,
) -> None:
    """Pass 2: re-read the input, attach each row's stored probability, decision and global rank, and its
    flags (read again: they are a function of the row).

    Shared by local ranking and Dask (ranked or not), so both write identical files.
    """
    progress.phase("writing", total)
    for chunk in prefetch(iter(chunks)):
        n = chunk.table.num_rows
        p = np.asarray(probability[chunk.start : chunk.start + n])
        rank = None
        if ranks is not None:
            ok = ~np.isnan(p)
            rank = ranks.ranks(chunk.start + np.flatnonzero(ok), p[ok])
        writer.write(output_table(chunk.table, p, m.threshold, rank, chunk_flags(m, chunk, source)))
        progress.advance(n)


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_RUN_ROWS",
    "NoProgress",
    "PassSummary",
    "Progress",
    "ScoreSummary",
    "prefetch",
    "score_pass",
    "scored_output",
    "stream_predict",
    "write_pass",
]
