"""Scoring tables of any size: streamed in chunks on one machine, or on a Dask cluster.

Every row still goes through ``uptake.predict.Model.score`` (validate against the
stored schema, preprocess, predict, threshold); this module only decides how rows
are read, in what pieces, and how the output is assembled, so a 10-million-row file
gets exactly the probabilities, decisions and ranks a 10-row file would.

Why it is shaped the way it is:

* Input is read with pyarrow in chunks of ``chunk_rows`` (CSV through the streaming
  reader, Parquet row group by row group), so memory depends on the chunk size, not
  the file size. CSV cells arrive as text and are cast column by column, so a bad
  cell in row 7,000,123 does not abort the reader: validation names it, and
  ``skip_invalid`` drops its row like the small-file path does. Short and long rows
  are caught by the reader with their line number.
* Ranking is exact for files larger than memory without an external merge: the
  first pass only stores each row's probability (8 bytes a row, on disk, NaN for
  skipped rows). The probabilities are then sorted in runs of ``run_rows``; a row's
  rank is its rank inside its own run plus, for every other run, how many of its
  values beat it (ties go to the earlier row, as in ``rank_desc``). A second pass
  re-reads the input and writes rows + probability + decision + rank. ``rank=False``
  writes in one pass.
* Output goes to a hidden temporary file beside the destination and is renamed into
  place at the end; on any error nothing is left behind.
* On Dask, workers compute only the probabilities (the expensive part) of one
  Parquet row group each and send back 8 bytes a row; the client assembles the
  output with the same second pass as local scoring, so results are identical by
  construction. The model travels once per worker inside a worker plugin (its files
  as bytes, loaded with Keras ``safe_mode``), and a restarted worker gets it again.
"""

from __future__ import annotations

import csv
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from uptake.errors import UptakeInputError, where
from uptake.predict import Model, rank_desc
from uptake.schema import RowError

DEFAULT_CHUNK_ROWS = 250_000
#: Probabilities sorted together in memory when ranking (8M rows ~ 200 MB of work arrays).
DEFAULT_RUN_ROWS = 8_000_000
#: Errors kept for the report under ``skip_invalid`` (all are counted).
KEEP_ERRORS = 20
OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


# ---- progress ------------------------------------------------------------------------------
class Progress(Protocol):
    """What the scorer reports to: the CLI draws a rich bar, tests and the API pass nothing."""

    def phase(self, name: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...


class _NoProgress:
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

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else float("nan")


# ---- reading -------------------------------------------------------------------------------
@dataclass
class Chunk:
    """A piece of the input: its rows, where it starts, and how to name its rows to a user."""

    table: pa.Table
    start: int  # 0-based position of the first row among all rows read
    first_row: int  # the number a user sees for row 0 of the whole input (2 in CSV, 1 in Parquet)
    skipped_lines: np.ndarray | None = None  # CSV: parsed-row positions of dropped short/long rows

    def row_number(self, position: np.ndarray | int) -> np.ndarray:
        """User-visible row numbers (CSV: line numbers) of 0-based global positions."""
        pos = np.asarray(position, dtype=np.int64)
        shift = 0 if self.skipped_lines is None else np.searchsorted(self.skipped_lines, pos, side="right")
        return pos + self.first_row + shift

    @property
    def last_row(self) -> int:
        return int(self.row_number(self.start + max(self.table.num_rows, 1) - 1))


def input_kind(path: Path) -> str:
    """``csv`` or ``parquet`` for inputs that stream; anything else is read whole."""
    from uptake.data import file_kind

    return file_kind(Path(path))


def parquet_files(path: Path) -> list[Path]:
    """The data files of a Parquet file or dataset directory, in a fixed (sorted) order."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(
        p for p in path.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )
    if not files:
        raise UptakeInputError(f"{where(file=path)}: the directory holds no Parquet files")
    return files


def count_rows(path: Path) -> int | None:
    """Rows in a Parquet input from its footers (no data read); None for CSV."""
    import pyarrow.parquet as pq

    if input_kind(path) != "parquet":
        return None
    return sum(pq.ParquetFile(f).metadata.num_rows for f in parquet_files(path))


def iter_chunks(
    path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS, sep: str | None = None, skip_bad_lines: bool = False
) -> Iterator[Chunk]:
    """Yield the input in chunks of at most ``chunk_rows`` rows; memory never holds more.

    CSV lines with too few or too many fields raise ``UptakeInputError`` naming their
    line, or are dropped (and counted in ``reader.bad_lines``) with ``skip_bad_lines``.
    """
    chunks = _open_chunks(Path(path), chunk_rows, sep)
    for chunk in chunks:
        if not skip_bad_lines:
            chunks.raise_bad_lines(upto=chunk.last_row)
        yield chunk
    if not skip_bad_lines:
        chunks.raise_bad_lines(upto=None)


def _check_input(path: Path) -> None:
    if not path.exists():
        raise UptakeInputError(f"{where(file=path)}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise UptakeInputError(f"{where(file=path)}: the file is empty")


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    start = 0
    schema: pa.Schema | None = None
    for file in parquet_files(path):
        try:
            pf = pq.ParquetFile(file)
        except Exception as exc:  # pyarrow raises its own types for corrupt files
            raise UptakeInputError(f"{where(file=file)}: cannot read the file: {_first_line(exc)}") from None
        for batch in pf.iter_batches(batch_size=chunk_rows):
            table = _strip_names(pa.Table.from_batches([batch]))
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
        raise UptakeInputError(f"{where(file=file)}: column types differ from the dataset's first file: {_first_line(exc)}") from None


def _strip_names(table: pa.Table) -> pa.Table:
    names = [str(n).strip() for n in table.column_names]
    return table if names == table.column_names else table.rename_columns(names)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class CsvChunks:
    """A CSV file read by pyarrow's streaming reader, every cell as text first.

    Text-first means a stray word in a numeric column cannot stop the reader: each
    column is cast to the type the first chunk settled on (int64, float64 or text)
    where it can be, and stays text in a chunk where it cannot, for validation to
    name the cell. Leading spaces are trimmed (``read_table``'s ``skipinitialspace``).
    Rows with the wrong number of fields are dropped by the reader and remembered
    with their line number; row numbers of later rows stay true to the file.
    """

    def __init__(self, path: Path, chunk_rows: int, sep: str | None = None) -> None:
        from uptake.data import sniff_delimiter

        self.path = Path(path)
        self.chunk_rows = int(chunk_rows)
        self.sep = sep or sniff_delimiter(self.path)
        self.names = self._header()
        self.bad_lines: list[tuple[int | None, str]] = []  # (line, message)
        self.types: dict[str, pa.DataType] = {}

    def _header(self) -> list[str]:
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            for row in csv.reader(fh, delimiter=self.sep):
                if any(cell.strip() for cell in row):
                    return row
        raise UptakeInputError(f"{where(file=self.path)}: the file is empty")

    def _on_bad_row(self, row: Any) -> str:
        line = row.number
        text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
        self.bad_lines.append(
            (line, f"{where(file=self.path, row=line)}: {row.actual_columns} fields where the header has "
                   f"{row.expected_columns} ({text!r})")
        )
        return "skip"

    def _reader(self) -> Any:
        import pyarrow.csv as pcsv

        return pcsv.open_csv(
            self.path,
            # Line numbers are only known to a single-threaded parser.
            read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 22),
            parse_options=pcsv.ParseOptions(delimiter=self.sep, invalid_row_handler=self._on_bad_row),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in self.names}, strings_can_be_null=True,
            ),
        )

    def __iter__(self) -> Iterator[Chunk]:
        try:
            reader = self._reader()
        except pa.ArrowInvalid as exc:
            raise UptakeInputError(f"{where(file=self.path)}: cannot parse the file: {_first_line(exc)}") from None
        start = 0
        pending: list[pa.RecordBatch] = []
        size = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise UptakeInputError(f"{where(file=self.path)}: cannot parse the file: {_first_line(exc)}") from None
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
        table = _strip_names(self._typed(table.combine_chunks()))
        skipped = None
        if self.bad_lines:
            # A dropped line numbered L sits before the parsed row at position L - 2 - (earlier drops).
            lines = sorted(line for line, _ in self.bad_lines if line is not None)
            skipped = np.asarray([line - 2 - j for j, line in enumerate(lines)], dtype=np.int64)
        return Chunk(table, start, 2, skipped)

    def _typed(self, table: pa.Table) -> pa.Table:
        import pyarrow.compute as pc

        columns = []
        for name, column in zip(table.column_names, table.columns, strict=True):
            column = self._decimal_commas(pc.utf8_ltrim_whitespace(column))
            target = self.types.get(name)
            if target is None:
                target = self.types[name] = _settle_type(column)
            if target != pa.string():
                try:
                    column = pc.cast(column, target)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass  # this chunk holds a non-number here: validation will name it
            columns.append(column)
        return pa.table(columns, names=table.column_names)

    def _decimal_commas(self, column: pa.ChunkedArray) -> pa.ChunkedArray:
        """Semicolon CSVs write 1,5 for 1.5: such a column becomes numbers, as ``read_table`` does."""
        import pyarrow.compute as pc

        from uptake.data import DECIMAL_COMMA

        if self.sep != ";" or column.null_count == len(column) or not pc.any(pc.match_substring(column, ",")).as_py():
            return column
        if not pc.all(pc.match_substring_regex(pc.utf8_trim_whitespace(column), DECIMAL_COMMA)).as_py():
            return column
        return pc.replace_substring(column, ",", ".")

    def raise_bad_lines(self, upto: int | None) -> None:
        """Fail on the first bad line seen so far (only those at or before line ``upto``, if given)."""
        for line, message in self.bad_lines:
            if upto is None or line is None or line <= upto:
                raise UptakeInputError(message + " (--skip-invalid skips such rows)")


def _settle_type(column: pa.ChunkedArray) -> pa.DataType:
    """The narrowest of int64, float64, bool (True/False, as pandas reads it) and text for the first chunk."""
    import pyarrow.compute as pc

    if column.null_count == len(column):
        return pa.string()
    for candidate in (pa.int64(), pa.float64(), pa.bool_()):
        try:
            pc.cast(column, candidate)
            return candidate
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return pa.string()


# ---- writing -------------------------------------------------------------------------------
class AtomicWriter:
    """Chunks of output rows into a hidden temporary file, renamed over ``out`` on commit."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.suffix = self.out.suffix.lower()
        check_output(self.out)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.out.name}.", suffix=".tmp", dir=self.out.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self._fh: Any = None
        self._parquet: Any = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self.suffix == ".csv":
            self._write_csv(table)
        else:
            self._write_parquet(table)
        self.rows += table.num_rows

    def _write_csv(self, table: pa.Table) -> None:
        import pyarrow.csv as pcsv

        if self._fh is None:
            self._fh = pa.OSFile(str(self.tmp), "wb")
        pcsv.write_csv(table, self._fh, pcsv.WriteOptions(include_header=self.rows == 0 and self._schema is None))
        self._schema = table.schema

    def _write_parquet(self, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(str(self.tmp), table.schema)
        elif not table.schema.equals(self._schema):
            table = self._unify(table)
        self._parquet.write_table(table)

    def _unify(self, table: pa.Table) -> pa.Table:
        try:
            return table.cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            for name in table.column_names:
                want = self._schema.field(name).type
                if table.schema.field(name).type != want:
                    raise UptakeInputError(
                        f"{where(file=self.out, column=name)}: holds {table.schema.field(name).type} values further "
                        f"down where the first rows were {want}; write the output as .csv"
                    ) from None
            raise

    def commit(self) -> None:
        self._close()
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        try:
            self._close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None


def check_output(out: Path) -> None:
    out = Path(out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UptakeInputError(f"file '{out}': output must end in .csv or .parquet")
    if not out.parent.is_dir():
        raise UptakeInputError(f"file '{out}': the directory {str(out.parent)!r} does not exist")


# ---- probabilities on disk, and exact ranks from them ----------------------------------------
class ProbabilityStore:
    """One float64 per input row in a scratch file (NaN = row not scored).

    Pass 1 fills it in any order (Dask results arrive out of order); ranking and
    pass 2 read it back as a memory map, so it never has to fit in memory.
    """

    def __init__(self, directory: Path, rows: int | None = None) -> None:
        self.path = Path(directory) / "probability.f8"
        self.rows = 0
        self._fh = open(self.path, "w+b")
        if rows:
            self._fh.truncate(rows * 8)
            self.rows = rows

    def append(self, p: np.ndarray) -> None:
        self._fh.seek(self.rows * 8)
        self._fh.write(np.ascontiguousarray(p, dtype=np.float64).tobytes())
        self.rows += len(p)

    def put(self, start: int, p: np.ndarray) -> None:
        self._fh.seek(start * 8)
        self._fh.write(np.ascontiguousarray(p, dtype=np.float64).tobytes())

    def array(self) -> np.ndarray:
        self._fh.flush()
        if self.rows == 0:
            return np.zeros(0)
        return np.memmap(self.path, dtype=np.float64, mode="r", shape=(self.rows,))

    def close(self) -> None:
        self._fh.close()


class ExactRanks:
    """Ranks (1 = most likely, ties to the earlier row) over probabilities too many to sort at once.

    The scored probabilities are cut into runs of ``run_rows`` consecutive rows; each
    run is sorted on its own (and its rows ranked inside it) and both go to scratch
    files. The rank of a row in run ``s`` with probability ``p`` is then::

        rank_in_run_s + sum over other runs k of #(run_k > p) + sum over runs k < s of #(run_k == p)

    which is exactly ``rank_desc`` over all rows, using ``run_rows`` of memory.
    Rows that were not scored (NaN) take no rank and do not count.
    """

    def __init__(self, probability: np.ndarray, directory: Path, run_rows: int = DEFAULT_RUN_ROWS) -> None:
        self.run_rows = max(1, int(run_rows))
        n = len(probability)
        self.bounds = [(s, min(s + self.run_rows, n)) for s in range(0, n, self.run_rows)]
        self.sorted: list[np.ndarray] = []
        self.local = np.memmap(Path(directory) / "rank_in_run.i8", dtype=np.int64, mode="w+", shape=(max(n, 1),))
        sorted_all = np.memmap(Path(directory) / "sorted.f8", dtype=np.float64, mode="w+", shape=(max(n, 1),))
        self.valid_before: list[int] = []  # scored rows in earlier runs, to map run positions
        for start, stop in self.bounds:
            p = np.asarray(probability[start:stop])
            ok = ~np.isnan(p)
            ranks = np.zeros(len(p), dtype=np.int64)
            ranks[ok] = rank_desc(p[ok])
            self.local[start:stop] = ranks
            values = np.sort(p[ok])
            sorted_all[start : start + len(values)] = values
            self.sorted.append(sorted_all[start : start + len(values)])
            del p, ok, ranks, values
        self.local.flush()
        sorted_all.flush()

    def ranks(self, positions: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Global ranks of the scored rows at 0-based ``positions`` with probabilities ``p``."""
        out = np.zeros(len(p), dtype=np.int64)
        run_of = np.asarray(positions, dtype=np.int64) // self.run_rows
        for s in np.unique(run_of):
            sel = run_of == s
            q = p[sel]
            r = np.asarray(self.local[positions[sel]], dtype=np.int64)
            for k, values in enumerate(self.sorted):
                if k == s or len(values) == 0:
                    continue
                right = np.searchsorted(values, q, side="right")
                r += len(values) - right
                if k < s:
                    r += right - np.searchsorted(values, q, side="left")
            out[sel] = r
        return out


# ---- the local streaming scorer ----------------------------------------------------------------
def _prefetch(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
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
        except BaseException as exc:  # handed to the consumer, raised there
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
class _Pass1:
    rows: int = 0
    scored: int = 0
    positives: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)


def stream_predict(
    model: Model | str | Path,
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
    m = model if isinstance(model, Model) else Model.load(model)
    data, out = Path(data), Path(out)
    check_output(out)
    progress = progress or _NoProgress()
    writer = AtomicWriter(out)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".scratch", dir=out.parent))
    try:
        chunks = _open_chunks(data, chunk_rows, sep)
        progress.phase("scoring", count_rows(data))
        if rank:
            store = ProbabilityStore(scratch)
            try:
                state = _score_pass(m, data, chunks, skip_invalid, progress, store=store)
                ranks = ExactRanks(store.array(), scratch, run_rows)
                _write_pass(m, _open_chunks(data, chunk_rows, sep), store.array(), ranks, writer, progress, state.rows)
            finally:
                store.close()
        else:
            state = _score_pass(m, data, chunks, skip_invalid, progress, writer=writer)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ScoreSummary(
        out=out, rows_read=state.rows, rows_scored=state.scored, positives=state.positives, invalid=state.invalid,
        errors=state.errors, ranked=rank, seconds=time.perf_counter() - started,
    )


def _open_chunks(data: Path, chunk_rows: int, sep: str | None) -> Any:
    _check_input(data)
    if chunk_rows < 1:
        raise UptakeInputError(f"--chunk-rows {chunk_rows}: must be at least 1")
    kind = input_kind(data)
    if kind == "csv":
        return CsvChunks(data, chunk_rows, sep)
    if kind == "parquet":
        return _ParquetChunks(data, chunk_rows)
    raise UptakeInputError(f"{where(file=data)}: only CSV and Parquet inputs stream; Excel is read whole")


class _ParquetChunks:
    def __init__(self, path: Path, chunk_rows: int) -> None:
        self.path, self.chunk_rows = path, chunk_rows
        self.bad_lines: list[tuple[int | None, str]] = []

    def __iter__(self) -> Iterator[Chunk]:
        return _parquet_chunks(self.path, self.chunk_rows)

    def raise_bad_lines(self, upto: int | None) -> None:
        pass


def _score_pass(
    m: Model, data: Path, chunks: Any, skip_invalid: bool, progress: Progress,
    store: ProbabilityStore | None = None, writer: AtomicWriter | None = None,
) -> _Pass1:
    """Pass 1: validate and score every chunk; keep probabilities (rank) or write rows (no rank)."""
    state = _Pass1()
    for chunk in _prefetch(iter(chunks)):
        n = chunk.table.num_rows
        if not skip_invalid:
            chunks.raise_bad_lines(upto=chunk.last_row)
        p, errors, invalid = score_table(m, chunk, data, skip_invalid)
        state.rows += n
        state.invalid += invalid
        ok = ~np.isnan(p)
        state.scored += int(ok.sum())
        state.positives += int((p[ok] >= m.threshold).sum())
        state.errors.extend(errors[: max(0, KEEP_ERRORS - len(state.errors))])
        if store is not None:
            store.append(p)
        if writer is not None:
            writer.write(output_table(chunk.table, p, m.threshold, None))
        progress.advance(n)
    if not skip_invalid:
        chunks.raise_bad_lines(upto=None)
    bad = getattr(chunks, "bad_lines", [])
    state.rows += len(bad)
    state.invalid += len(bad)
    state.errors.extend(msg for _, msg in bad[: max(0, KEEP_ERRORS - len(state.errors))])
    return state


def score_table(m: Model, chunk: Chunk, source: object, skip_invalid: bool) -> tuple[np.ndarray, list[str], int]:
    """Probabilities of one chunk's rows (NaN where a row was invalid and skipped), via ``Model.score``.

    Without ``skip_invalid`` no dropped CSV line precedes a row of this chunk (the
    reader raised it), so ``row_offset`` alone names rows truly; with it, error rows
    are mapped through the dropped lines afterwards.
    """
    names = chunk.table.column_names
    if any(c not in names for c in m.schema.feature_names):
        m.schema.check_columns(pd.DataFrame(columns=names), source)
    frame = chunk.table.select(m.schema.feature_names).to_pandas()
    scored = m.score(frame, source=source, skip_invalid=skip_invalid, row_offset=chunk.start + chunk.first_row)
    p = np.full(len(frame), np.nan)
    p[np.asarray(scored.index, dtype=np.int64)] = scored.probability
    errors = [_relined(e, chunk).message(source) for e in scored.errors[:KEEP_ERRORS]]
    return p, errors, len(scored.invalid_rows)


def _relined(e: RowError, chunk: Chunk) -> RowError:
    position = e.row - chunk.first_row
    return RowError(int(chunk.row_number(position)), e.column, e.value, e.reason)


def output_table(table: pa.Table, p: np.ndarray, threshold: float, rank: np.ndarray | None) -> pa.Table:
    """The scored rows of a chunk: its valid input rows plus probability, decision (and rank)."""
    ok = ~np.isnan(p)
    if not ok.all():
        table = table.filter(pa.array(ok))
        p = p[ok]
    cols = {"probability": pa.array(p, pa.float64()), "decision": pa.array((p >= threshold).astype(np.int64))}
    if rank is not None:
        cols["rank"] = pa.array(rank, pa.int64())
    for name, values in cols.items():
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.append_column(name, values)
    return table


def _write_pass(
    m: Model, chunks: Any, probability: np.ndarray, ranks: ExactRanks | None, writer: AtomicWriter,
    progress: Progress, total: int,
) -> None:
    """Pass 2: re-read the input, attach each row's stored probability, decision and global rank.

    Shared by local ranking and Dask (ranked or not), so both write identical files.
    """
    progress.phase("writing", total)
    for chunk in _prefetch(iter(chunks)):
        n = chunk.table.num_rows
        p = np.asarray(probability[chunk.start : chunk.start + n])
        rank = None
        if ranks is not None:
            ok = ~np.isnan(p)
            rank = ranks.ranks(chunk.start + np.flatnonzero(ok), p[ok])
        writer.write(output_table(chunk.table, p, m.threshold, rank))
        progress.advance(n)


# ---- Dask ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One Dask task: a row group of one Parquet file, and where its rows sit in the whole input."""

    file: str
    row_group: int
    start: int
    rows: int


def parquet_units(path: Path) -> list[Unit]:
    """Row groups of a Parquet file or dataset, with their global row offsets, from the footers only."""
    import pyarrow.parquet as pq

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
    check_output(out)
    _check_input(data)
    if input_kind(data) != "parquet":
        raise UptakeInputError(f"{where(file=data)}: --engine dask scores Parquet (a file or a directory of files); convert CSV first")
    units = parquet_units(data)
    total = sum(u.rows for u in units)
    if total == 0:
        raise UptakeInputError(f"{where(file=data)}: the table has no data rows")
    progress = progress or _NoProgress()
    writer = AtomicWriter(out)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".scratch", dir=out.parent))
    own_cluster = None
    try:
        if client is None:
            own_cluster, client = _connect(scheduler, n_workers, threads_per_worker)
        key = ship_model(client, model)
        store = ProbabilityStore(scratch, rows=total)
        try:
            state = _run_units(client, key, units, skip_invalid, str(data), store, progress, retries, on_unit_done,
                               m.threshold)
            p_all = store.array()
            ranks = ExactRanks(p_all, scratch, run_rows) if rank else None
            _write_pass(m, _ParquetChunks(data, chunk_rows), p_all, ranks, writer, progress, total)
        finally:
            store.close()
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    return ScoreSummary(
        out=out, rows_read=total, rows_scored=state.scored, positives=state.positives, invalid=state.invalid,
        errors=state.errors, ranked=rank, seconds=time.perf_counter() - started, engine="dask",
    )


def ship_model(client: Any, model: Path) -> str:
    """Register the worker plugin that carries the model's files; returns the key tasks look it up by."""
    from uptake.dask_worker import ModelPlugin, model_files, model_key

    files = model_files(model)
    key = model_key(files)
    client.register_plugin(ModelPlugin(files, key), name=f"uptake-model-{key}")
    return key


def _connect(scheduler: str | None, n_workers: int, threads_per_worker: int) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return None, Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise UptakeInputError(f"--scheduler {scheduler}: cannot connect ({_first_line(exc)})") from None
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
        dashboard_address=":0", silence_logs=40,
    )
    return cluster, Client(cluster)


def _run_units(
    client: Any, key: str, units: list[Unit], skip_invalid: bool, source: str, store: ProbabilityStore,
    progress: Progress, retries: int, on_unit_done: Callable[[int], None] | None, threshold: float,
) -> _Pass1:
    from distributed import as_completed

    from uptake.dask_worker import score_unit

    progress.phase("scoring (dask)", sum(u.rows for u in units))
    futures = [
        client.submit(score_unit, key, u, skip_invalid, source, retries=retries, pure=False) for u in units
    ]
    state = _Pass1(rows=sum(u.rows for u in units))
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
            state.positives += int((p[ok] >= threshold).sum())
            state.invalid += result["invalid"]
            state.errors.extend(result["errors"][: max(0, KEEP_ERRORS - len(state.errors))])
            progress.advance(len(p))
            if on_unit_done is not None:
                on_unit_done(done)
    finally:
        client.cancel([f for f in futures if not f.done()])
    if failures:
        raise UptakeInputError(failures[0]["error"])
    return state


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "AtomicWriter",
    "Chunk",
    "CsvChunks",
    "ExactRanks",
    "ScoreSummary",
    "count_rows",
    "dask_predict",
    "iter_chunks",
    "parquet_units",
    "stream_predict",
]
