"""Scoring one chunk of a streamed input, the same way on this machine and on a Dask worker.

Every chunk goes through the model's scoring pipeline with its true first row number,
so an invalid cell in row 7,000,123 is named as such, and ``skip_invalid`` drops its
row exactly as the whole-file path does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from uptake.decide.decision import decide
from uptake.io.chunks import Chunk
from uptake.pipeline import ScoringPipeline
from uptake.schema import RowError
from uptake.schema.table import filled_counts

#: Errors kept for the report under ``skip_invalid`` (all are counted).
KEEP_ERRORS = 20


@dataclass
class ChunkScores:
    """One chunk's probabilities (NaN where a row was invalid and skipped), errors and filled cells per column."""

    p: np.ndarray
    errors: list[str]
    invalid: int
    filled: dict[str, int]


def score_chunk(m: ScoringPipeline, chunk: Chunk, source: object, skip_invalid: bool) -> ChunkScores:
    """Score a chunk through the pipeline.

    Without ``skip_invalid`` no dropped CSV line precedes a row of this chunk (the
    reader raised it), so the chunk's first row number alone names rows truly; with
    it, error rows are mapped through the dropped lines afterwards.
    """
    names = chunk.table.column_names
    if any(c not in names for c in m.schema.feature_names):
        m.schema.check_columns(names, source)
    frame = chunk.table.select(m.schema.feature_names).to_pandas()
    scored = m.score(frame, source=source, skip_invalid=skip_invalid, row_offset=chunk.start + chunk.first_row)
    p = np.full(len(frame), np.nan)
    p[np.asarray(scored.index, dtype=np.int64)] = scored.probability
    errors = [_relined(e, chunk).message(source) for e in scored.errors[:KEEP_ERRORS]]
    return ChunkScores(p, errors, len(scored.invalid_rows), filled_counts(m.schema, frame))


def _relined(e: RowError, chunk: Chunk) -> RowError:
    position = e.row - chunk.first_row
    return RowError(int(chunk.row_number(position)), e.column, e.value, e.reason)


def output_table(table: pa.Table, p: np.ndarray, threshold: float, rank: np.ndarray | None) -> pa.Table:
    """The scored rows of a chunk: its valid input rows plus probability, decision (and rank)."""
    ok = ~np.isnan(p)
    if not ok.all():
        table = table.filter(pa.array(ok))
        p = p[ok]
    cols = {"probability": pa.array(p, pa.float64()), "decision": pa.array(decide(p, threshold).astype(np.int64))}
    if rank is not None:
        cols["rank"] = pa.array(rank, pa.int64())
    for name, values in cols.items():
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.append_column(name, values)
    return table


def add_counts(total: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


__all__ = ["KEEP_ERRORS", "ChunkScores", "add_counts", "output_table", "score_chunk"]
