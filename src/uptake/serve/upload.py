"""Scoring an uploaded table: read from a server-made temporary path (never a client's), score, rank, write.

Errors name the client's file name, not the temporary path. CSV answers have
formula cells neutralised (``uptake.io.writer``), as every CSV uptake writes.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import UploadFile

from uptake.audit.ids import id_column, keys_of
from uptake.errors import UptakeInputError
from uptake.io.tables import check_input, read_table
from uptake.io.writer import csv_bytes
from uptake.serve.models import ServedModel

UPLOAD_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq"}


@dataclass
class UploadResult:
    content: bytes
    inputs: Any
    probability: np.ndarray
    decision: np.ndarray
    rows: list[int]
    skipped: int
    first_error: str | None = None
    customer_ids: list[str | None] | None = None
    #: each scored row's unusual values ('' for none), in the order of ``inputs``
    flags: list[str] | None = None


#: How much larger than the upload itself a decompressed table may be (Parquet and Excel are compressed).
MAX_EXPANSION = 50
#: ... and never more than this many bytes, however small the upload.
MAX_EXPANDED_BYTES = 4 << 30


def check_expansion(path: Path, name: str, max_rows: int) -> None:
    """Refuse a table that would be too many rows, or expand too far, from its own metadata: before decompressing.

    A few kilobytes of compressed Parquet can hold millions of rows; the row limit
    must be applied before they are read, not after. Parquet's footer says its rows
    and uncompressed size; an Excel workbook is a zip whose directory says its sizes;
    CSV is not compressed, so its lines are counted.
    """
    size = path.stat().st_size
    limit = min(MAX_EXPANDED_BYTES, max(MAX_EXPANSION * size, 64 << 20))
    kind = check_input(path)
    if kind == "parquet":
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception:  # noqa: BLE001 - not readable: read_table says so in its own words
            return
        rows = meta.num_rows
        expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    elif kind == "excel":
        try:
            with zipfile.ZipFile(path) as book:
                expanded = sum(info.file_size for info in book.infolist())
        except zipfile.BadZipFile:
            return
        rows = 0  # known only once read; the size bounds it
    else:
        with open(path, "rb") as fh:
            rows = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b"")) - 1
        expanded = size
    if rows > max_rows:
        raise UptakeInputError(f"file '{name}': {rows:,} rows is more than the limit of {max_rows:,} per upload")
    if expanded > limit:
        raise UptakeInputError(
            f"file '{name}': expands to {expanded:,} bytes, more than the limit of {limit:,} for an upload of this size"
        )


def score_upload(
    served: ServedModel,
    upload: UploadFile,
    skip_invalid: bool,
    output: str,
    max_rows: int,
    sheet: str | None = None,
) -> UploadResult:
    """Read, validate with the service's policy, score, rank and write an uploaded table."""
    name = Path(upload.filename or "").name or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UptakeInputError(
            f"file '{name}': unsupported file type {suffix or '(none)'!r}: use .csv, .xlsx or .parquet"
        )
    with tempfile.TemporaryDirectory(prefix="uptake-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with open(path, "wb") as fh:
            shutil.copyfileobj(upload.file, fh, 1 << 20)
        try:
            check_expansion(path, name, max_rows)
            df = read_table(path, sheet=sheet)
        except UptakeInputError as exc:
            raise UptakeInputError(str(exc).replace(str(path), name)) from None
        except Exception as exc:  # noqa: BLE001 - a reader failing on a client's bytes is the client's input error
            raise UptakeInputError(f"file '{name}': cannot be read as {suffix} ({type(exc).__name__})") from None
    if len(df) > max_rows:
        raise UptakeInputError(f"file '{name}': {len(df):,} rows is more than the limit of {max_rows:,} per upload")
    if len(df) == 0:
        raise UptakeInputError(f"file '{name}': no data rows")
    offset = int(df.attrs.get("row_offset", 1))
    model = served.model
    scored = model.score(df, source=name, skip_invalid=skip_invalid, require_values=True)
    frame = model.frame(df, scored)
    inputs = scored.clean  # the audit log keeps what the model read: numbers as numbers, whatever the file
    rows = (
        (np.asarray(frame.index) + offset).tolist()
        if frame.index.dtype.kind in "iu"
        else list(range(offset, offset + len(frame)))
    )
    ranked = frame.sort_values("rank", kind="stable")
    if output == "parquet":
        buf = BytesIO()
        ranked.to_parquet(buf, index=False)
        content = buf.getvalue()
    else:  # pyarrow's CSV writer: about ten times pandas' on 100k rows, and still plain CSV
        content = csv_bytes(pa.Table.from_pandas(ranked, preserve_index=False))
    first = scored.errors[0].message(name) if scored.errors else None
    ids_at = id_column(df.columns, model.schema.dropped)
    ids = None if ids_at is None else keys_of(frame[ids_at], name, ids_at)
    return UploadResult(
        content,
        inputs,
        scored.probability,
        scored.decision,
        rows,
        len(scored.invalid_rows),
        first,
        ids,
        frame["flags"].tolist(),
    )


__all__ = ["UPLOAD_SUFFIXES", "UploadResult", "score_upload"]
