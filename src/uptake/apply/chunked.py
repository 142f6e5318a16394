"""Scoring one chunk of a streamed input, the same way on this machine and on a Dask worker.

Every chunk goes through the model's scoring pipeline with its true first row number,
so an invalid cell in row 7,000,123 is named as such, and ``skip_invalid`` drops its
row exactly as the whole-file path does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from uptake.decide.decision import decide
from uptake.io.cells import blank_mask
from uptake.io.chunks import Chunk
from uptake.pipeline import ScoringPipeline
from uptake.pipeline.scoring import earlier_outputs
from uptake.schema import RowError
from uptake.schema.table import filled_counts

#: Errors kept for the report under ``skip_invalid`` (all are counted).
KEEP_ERRORS = 20


@dataclass
class ChunkScores:
    """One chunk's probabilities (NaN where a row was skipped: invalid or blank), errors, filled cells per
    column, each row's flags ('' for none) with their summary, and how many rows were blank."""

    p: np.ndarray
    errors: list[str]
    invalid: int
    filled: dict[str, int]
    flag_texts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    flags: dict[str, Any] = field(default_factory=dict)
    blank: int = 0


def chunk_frame(m: ScoringPipeline, chunk: Chunk, source: object) -> pd.DataFrame:
    """The chunk's feature columns as the schema reads them (text, with the file's decimal mark)."""
    names = chunk.table.column_names
    if any(c not in names for c in m.schema.feature_names):
        m.schema.check_columns(names, source)
    frame = chunk.table.select(m.schema.feature_names).to_pandas()
    frame.attrs["decimal"] = chunk.decimal
    return frame


def score_chunk(m: ScoringPipeline, chunk: Chunk, source: object, skip_invalid: bool) -> ChunkScores:
    """Score a chunk through the pipeline.

    Without ``skip_invalid`` no dropped CSV line precedes a row of this chunk (the
    reader raised it), so the chunk's first row number alone names rows truly; with
    it, error rows are mapped through the dropped lines afterwards. Blank rows are
    judged on every column of the chunk, not only the model's.
    """
    frame = chunk_frame(m, chunk, source)
    scored = m.score(
        frame,
        source=source,
        skip_invalid=skip_invalid,
        row_offset=chunk.start + chunk.first_row,
        blank=blank_mask(chunk.table),
    )
    positions = np.asarray(scored.index, dtype=np.int64)
    p = np.full(len(frame), np.nan)
    p[positions] = scored.probability
    texts = np.full(len(frame), "", dtype=object)
    texts[positions] = scored.flag_texts()
    errors = [_relined(e, chunk).message(source) for e in scored.errors[:KEEP_ERRORS]]
    summary = scored.flags.summary() if scored.flags is not None else {}
    return ChunkScores(
        p, errors, len(scored.invalid_rows), filled_counts(m.schema, frame), texts, summary, scored.blank_rows
    )


def chunk_flags(m: ScoringPipeline, chunk: Chunk, source: object) -> np.ndarray:
    """Each row's flags for a chunk read again (the ranked output's second pass), as :func:`score_chunk` gave."""
    checked = m.schema.check(chunk_frame(m, chunk, source), source, policy=m.policy)
    return checked.flags.texts()


def _relined(e: RowError, chunk: Chunk) -> RowError:
    position = e.row - chunk.first_row
    return RowError(int(chunk.row_number(position)), e.column, e.value, e.reason)


def output_table(
    table: pa.Table, p: np.ndarray, threshold: float, rank: np.ndarray | None, flags: np.ndarray | None = None
) -> pa.Table:
    """The scored rows of a chunk: its input columns as they came in (less an earlier run's outputs) plus
    probability, decision, (rank) and flags."""
    ok = ~np.isnan(p)
    if not ok.all():
        table = table.filter(pa.array(ok))
        p = p[ok]
        flags = None if flags is None else flags[ok]
    stale = earlier_outputs(table.column_names)
    if stale:
        table = table.drop_columns(stale)
    cols = {"probability": pa.array(p, pa.float64()), "decision": pa.array(decide(p, threshold).astype(np.int64))}
    if rank is not None:
        cols["rank"] = pa.array(rank, pa.int64())
    cols["flags"] = pa.array(np.full(len(p), "", dtype=object) if flags is None else flags, pa.string())
    for name, values in cols.items():
        table = table.append_column(name, values)
    return table


def add_counts(total: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


__all__ = ["KEEP_ERRORS", "ChunkScores", "add_counts", "chunk_flags", "chunk_frame", "output_table", "score_chunk"]
