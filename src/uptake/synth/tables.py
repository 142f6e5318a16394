"""Making and writing synthetic tables: whole, or in chunks with the same rows."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from uptake.errors import UptakeInputError
from uptake.io.atomic import atomic_file
from uptake.synth.generator import BLOCK_ROWS, FRAUD_COLUMNS, LOAN_COLUMNS, XLSX_MAX_ROWS, Plan, check_args


def _empty(kind: str) -> pd.DataFrame:
    columns = LOAN_COLUMNS if kind == "loan" else FRAUD_COLUMNS
    floats = {"CCAvg", "Time", "Amount", *FRAUD_COLUMNS[1:29]}
    return pd.DataFrame({c: np.zeros(0, dtype=np.float64 if c in floats else np.int64) for c in columns})


def iter_table_chunks(kind: str, rows: int, seed: int = 0, chunk_rows: int = 1_000_000) -> Iterator[pd.DataFrame]:
    """Yield a synthetic table in frames of ``chunk_rows`` rows (the last may be shorter).

    ``ID`` (loan) and ``Time`` (fraud) run on across chunks, and the concatenation is
    identical to ``make_table(kind, rows, seed)`` for any ``chunk_rows``.
    """
    check_args(kind, rows, seed)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise UptakeInputError(f"chunk_rows must be a whole number >= 1, got {chunk_rows!r}")
    return _iter_chunks(kind, int(rows), int(seed), int(chunk_rows))


def _iter_chunks(kind: str, rows: int, seed: int, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if rows == 0:
        yield _empty(kind)
        return
    plan = Plan(kind, rows, seed)
    buffer: dict[str, np.ndarray] = {}
    offset = size = 0
    for index in range(-(-rows // BLOCK_ROWS)):
        block = plan.block(index)
        if offset < size:  # carry the rows left over from the previous block
            block = {c: np.concatenate([buffer[c][offset:], a]) for c, a in block.items()}
        buffer, offset = block, 0
        size = len(next(iter(buffer.values())))
        while size - offset >= chunk_rows:
            yield pd.DataFrame({c: a[offset : offset + chunk_rows] for c, a in buffer.items()})
            offset += chunk_rows
    if offset < size:
        yield pd.DataFrame({c: a[offset:] for c, a in buffer.items()})


def _make(kind: str, rows: int, seed: int) -> pd.DataFrame:
    check_args(kind, rows, seed)
    rows, seed = int(rows), int(seed)
    if rows == 0:
        return _empty(kind)
    plan = Plan(kind, rows, seed)
    out: dict[str, np.ndarray] | None = None
    for index in range(-(-rows // BLOCK_ROWS)):
        block = plan.block(index)
        if out is None:  # preallocate once: no concat, so peak memory stays ~1x the frame
            out = {c: np.empty(rows, dtype=a.dtype) for c, a in block.items()}
        start = index * BLOCK_ROWS
        for c, a in block.items():
            out[c][start : start + len(a)] = a
    assert out is not None
    return pd.DataFrame(out, copy=False)


def make_loan(rows: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic bank-customer table shaped like the personal-loan data (~9.6% ``Personal Loan``)."""
    return _make("loan", rows, seed)


def make_fraud(rows: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic card-transaction table shaped like the Kaggle fraud data (0.17% ``Class``)."""
    return _make("fraud", rows, seed)


def make_table(kind: str, rows: int, seed: int = 0) -> pd.DataFrame:
    """``make_loan`` or ``make_fraud`` by name; any other ``kind`` is an ``UptakeInputError``."""
    check_args(kind, rows, seed)
    return make_loan(rows, seed) if kind == "loan" else make_fraud(rows, seed)


# ------------------------------------------------------------------------- writing
_WRITERS = (".csv", ".parquet", ".xlsx")


def _frames(data: pd.DataFrame | Iterable[pd.DataFrame], path: Path) -> Iterator[pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        yield data
        return
    for frame in data:
        if not isinstance(frame, pd.DataFrame):
            raise UptakeInputError(f"cannot write file '{path}': expected DataFrame chunks, got {type(frame).__name__}")
        yield frame


def _write_csv(frames: Iterator[pd.DataFrame], tmp: Path) -> int:
    written = 0
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        for i, frame in enumerate(frames):
            frame.to_csv(handle, index=False, header=i == 0, lineterminator="\n")
            written += 1
    return written


def _write_parquet(frames: Iterator[pd.DataFrame], tmp: Path, path: Path) -> int:
    writer = None
    written = 0
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            elif not table.schema.equals(writer.schema):
                raise UptakeInputError(
                    f"cannot write file '{path}': chunk {written + 1} has different columns or types from the first"
                )
            writer.write_table(table)
            written += 1
    finally:
        if writer is not None:
            writer.close()
    return written


def _write_xlsx(frames: Iterator[pd.DataFrame], tmp: Path, path: Path) -> int:
    parts = list(frames)
    if not parts:
        return 0
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(frame) > XLSX_MAX_ROWS:
        raise UptakeInputError(
            f"cannot write file '{path}': {len(frame)} rows is more than an Excel sheet holds "
            f"({XLSX_MAX_ROWS}); use .csv or .parquet"
        )
    frame.to_excel(tmp, sheet_name="Data", index=False, engine="openpyxl")
    return len(parts)


def write_table(data: pd.DataFrame | Iterable[pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Write a frame, or an iterator of frames, to .csv / .parquet / .xlsx (sheet "Data").

    The file appears only when complete: rows go to a hidden temp file in the same
    directory, which replaces ``path`` at the end; on any failure it is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _WRITERS:
        raise UptakeInputError(
            f"cannot write file '{path}': unknown extension '{path.suffix}'; use .csv, .parquet or .xlsx"
        )
    if not path.parent.is_dir():
        raise UptakeInputError(f"cannot write file '{path}': directory '{path.parent}' does not exist")
    frames = _frames(data, path)
    with atomic_file(path) as tmp:
        if suffix == ".csv":
            written = _write_csv(frames, tmp)
        elif suffix == ".parquet":
            written = _write_parquet(frames, tmp, path)
        else:
            written = _write_xlsx(frames, tmp, path)
        if written == 0:
            raise UptakeInputError(f"cannot write file '{path}': no tables to write")


__all__ = ["iter_table_chunks", "make_fraud", "make_loan", "make_table", "write_table"]
