"""Reading CSV and Parquet in pieces, so memory depends on the chunk size, not the file.

CSV is read by pyarrow's streaming reader with every cell as text, as the whole-table
reader reads it: a stray word in a numeric column cannot stop the reader, a column the
model does not read leaves as it was written, and what a cell means as a number is
decided by the column's kind with the file's decimal mark (``uptake.schema.values``),
so a cell has one verdict whatever the chunk size. Rows with the wrong number of fields are dropped by
the reader and remembered with their line number, so later rows keep their true
line numbers. Parquet is read row group by row group, database types normalised
(``uptake.io.arrow``). Both yield :class:`Chunk` objects that know how to name
their rows to a user.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from uptake.errors import UptakeInputError, where
from uptake.io.arrow import normalize_table
from uptake.io.names import check_unique_names
from uptake.io.tables import check_input, csv_header, file_kind, first_line, sniff_decimal, sniff_delimiter

DEFAULT_CHUNK_ROWS = 250_000


@dataclass
class Chunk:
    """A piece of the input: its rows, where it starts, and how to name its rows to a user."""

    table: pa.Table
    start: int  # 0-based position of the first row among all rows read
    first_row: int  # the number a user sees for row 0 of the whole input (2 in CSV, 1 in Parquet)
    skipped_lines: np.ndarray | None = None  # CSV: parsed-row positions of dropped short/long rows
    decimal: str = "."  # the file's decimal mark (CSV)

    def row_number(self, position: np.ndarray | int) -> np.ndarray:
        """User-visible row numbers (CSV: line numbers) of 0-based global positions."""
        pos = np.asarray(position, dtype=np.int64)
        shift = 0 if self.skipped_lines is None else np.searchsorted(self.skipped_lines, pos, side="right")
        return pos + self.first_row + shift

    @property
    def last_row(self) -> int:
        return int(self.row_number(self.start + max(self.table.num_rows, 1) - 1))


def parquet_files(path: Path) -> list[Path]:
    """The data files of a Parquet file or dataset directory, in a fixed (sorted) order."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )
    if not files:
        raise UptakeInputError(f"{where(file=path)}: the directory holds no Parquet files")
    return files


def count_rows(path: Path) -> int | None:
    """Rows in a Parquet input from its footers (no data read); None for CSV."""
    if file_kind(path) != "parquet":
        return None
    return sum(pq.ParquetFile(f).metadata.num_rows for f in parquet_files(path))


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    start = 0
    schema: pa.Schema | None = None
    for file in parquet_files(path):
        try:
            pf = pq.ParquetFile(file)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises its own types for corrupt files
            raise UptakeInputError(f"{where(file=file)}: cannot read the file: {first_line(exc)}") from None
        check_unique_names(pf.schema_arrow.names, file)
        for batch in pf.iter_batches(batch_size=chunk_rows):
            table = normalize_table(pa.Table.from_batches([batch]))
            if schema is None:
                schema = table.schema
            elif not table.schema.equals(schema):
                table = _cast_like(table, schema, file)
            yield Chunk(table, start, 1)
            start += table.num_rows
    if start == 0:
        raise UptakeInputError(f"{where(file=path)}: the table has no data rows")


def _cast_like(table: pa.Table, schema: pa.Schema, file: Path) -> pa.Table:
    """Files of one dataset must agree on columns; their types are unified to the first file's."""
    if table.schema.names != schema.names:
        raise UptakeInputError(
            f"{where(file=file)}: columns differ from the dataset's first file ({', '.join(schema.names[:5])}, ...)"
        )
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UptakeInputError(
            f"{where(file=file)}: column types differ from the dataset's first file: {first_line(exc)}"
        ) from None


class CsvChunks:
    """A CSV file read by pyarrow's streaming reader, every cell as text (see the module docstring).

    Leading spaces are trimmed (``read_table``'s ``skipinitialspace``).
    Rows with the wrong number of fields are dropped by the reader and remembered
    with their line number; row numbers of later rows stay true to the file.
    """

    def __init__(self, path: Path, chunk_rows: int, sep: str | None = None) -> None:
        self.path = Path(path)
        self.chunk_rows = int(chunk_rows)
        self.sep = sep or sniff_delimiter(self.path)
        self.decimal = sniff_decimal(self.path, self.sep)
        self.names = self._header()
        self.bad_lines: list[tuple[int | None, str]] = []  # (line, message)

    def _header(self) -> list[str]:
        names = csv_header(self.path, self.sep)
        check_unique_names(names, self.path)
        return names

    def _on_bad_row(self, row: Any) -> str:
        line = row.number
        text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
        self.bad_lines.append(
            (
                line,
                f"{where(file=self.path, row=line)}: {row.actual_columns} fields where the header has "
                f"{row.expected_columns} ({text!r})",
            )
        )
        return "skip"

    def _reader(self) -> Any:
        return pcsv.open_csv(
            self.path,
            # Line numbers are only known to a single-threaded parser.
            read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 22),
            parse_options=pcsv.ParseOptions(delimiter=self.sep, invalid_row_handler=self._on_bad_row),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in self.names},
                strings_can_be_null=False,  # missing-value texts are the schema's to read, as in read_table
            ),
        )

    def __iter__(self) -> Iterator[Chunk]:
        try:
            reader = self._reader()
        except pa.ArrowInvalid as exc:
            raise UptakeInputError(f"{where(file=self.path)}: cannot parse the file: {first_line(exc)}") from None
        start = 0
        pending: list[pa.RecordBatch] = []
        size = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise UptakeInputError(f"{where(file=self.path)}: cannot parse the file: {first_line(exc)}") from None
            pending.append(batch)
            size += batch.num_rows
            while size >= self.chunk_rows:
                table = pa.Table.from_batches(pending)
                head, rest = table.slice(0, self.chunk_rows), table.slice(self.chunk_rows)
                yield self._chunk(head, start)
                start += head.num_rows
                pending, size = rest.to_batches(), rest.num_rows
        if size:
            yield self._chunk(pa.Table.from_batches(pending), start)
            start += size
        if start == 0 and not self.bad_lines:
            raise UptakeInputError(f"{where(file=self.path)}: the table has no data rows")

    def _chunk(self, table: pa.Table, start: int) -> Chunk:
        table = normalize_table(self._typed(table.combine_chunks()))
        skipped = None
        if self.bad_lines:
            # A dropped line numbered L sits before the parsed row at position L - 2 - (earlier drops).
            lines = sorted(line for line, _ in self.bad_lines if line is not None)
            skipped = np.asarray([line - 2 - j for j, line in enumerate(lines)], dtype=np.int64)
        return Chunk(table, start, 2, skipped, self.decimal)

    def _typed(self, table: pa.Table) -> pa.Table:
        columns = [pc.utf8_ltrim_whitespace(column) for column in table.columns]
        return pa.table(columns, names=table.column_names)

    def raise_bad_lines(self, upto: int | None) -> None:
        """Fail on the first bad line seen so far (only those at or before line ``upto``, if given)."""
        for line, message in self.bad_lines:
            if upto is None or line is None or line <= upto:
                raise UptakeInputError(message + " (--skip-invalid skips such rows)")


class ParquetChunks:
    """A Parquet file or dataset read row group by row group (the interface of :class:`CsvChunks`)."""

    def __init__(self, path: Path, chunk_rows: int) -> None:
        self.path, self.chunk_rows = path, chunk_rows
        self.bad_lines: list[tuple[int | None, str]] = []

    def __iter__(self) -> Iterator[Chunk]:
        return _parquet_chunks(self.path, self.chunk_rows)

    def raise_bad_lines(self, upto: int | None) -> None:
        pass


@dataclass(frozen=True)
class Unit:
    """One Dask task: a row group of one Parquet file, and where its rows sit in the whole input."""

    file: str
    row_group: int
    start: int
    rows: int


def parquet_units(path: Path) -> list[Unit]:
    """Row groups of a Parquet file or dataset, with their global row offsets, from the footers only."""
    units: list[Unit] = []
    start = 0
    for file in parquet_files(path):
        meta = pq.ParquetFile(file).metadata
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            if rows:
                units.append(Unit(str(file), g, start, rows))
                start += rows
    return units


def open_chunks(data: Path, chunk_rows: int = DEFAULT_CHUNK_ROWS, sep: str | None = None) -> CsvChunks | ParquetChunks:
    """The chunk reader for a CSV or Parquet input (files are checked first)."""
    data = Path(data)
    kind = check_input(data)
    if chunk_rows < 1:
        raise UptakeInputError(f"--chunk-rows {chunk_rows}: must be at least 1")
    if kind == "csv":
        return CsvChunks(data, chunk_rows, sep)
    if kind == "parquet":
        return ParquetChunks(data, chunk_rows)
    raise UptakeInputError(f"{where(file=data)}: only CSV and Parquet inputs stream; Excel is read whole")


def iter_chunks(
    path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS, sep: str | None = None, skip_bad_lines: bool = False
) -> Iterator[Chunk]:
    """Yield the input in chunks of at most ``chunk_rows`` rows; memory never holds more.

    CSV lines with too few or too many fields raise ``UptakeInputError`` naming their
    line, or are dropped (and counted in ``reader.bad_lines``) with ``skip_bad_lines``.
    """
    chunks = open_chunks(Path(path), chunk_rows, sep)
    for chunk in chunks:
        if not skip_bad_lines:
            chunks.raise_bad_lines(upto=chunk.last_row)
        yield chunk
    if not skip_bad_lines:
        chunks.raise_bad_lines(upto=None)


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "Chunk",
    "CsvChunks",
    "ParquetChunks",
    "Unit",
    "count_rows",
    "iter_chunks",
    "open_chunks",
    "parquet_files",
    "parquet_units",
]
