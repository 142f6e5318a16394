"""Writing scored tables: whole frames, or chunk by chunk, always to a temporary file renamed at the end.

CSV output is for people, and people open it in spreadsheets, where a cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula (OWASP, "CSV Injection"). A customer table is data typed in by many hands,
so every text cell uptake writes to CSV that starts so is prefixed with a single
quote, which spreadsheets show but do not run. Numbers (including negative ones, and
text that is just a number) are left alone; Parquet keeps every value as it is,
since no spreadsheet runs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from uptake.errors import UptakeInputError, where
from uptake.io.atomic import atomic_file, temp_file
from uptake.io.outputs import check_output

#: Cells that spreadsheets treat as formulas (OWASP's list).
FORMULA_START = r"^[=+\-@\t\r]"
#: ... unless the whole cell is a plain number such as -12.5 or +3e4.
PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Text cells that a spreadsheet would run, prefixed with ``'``; every other cell unchanged."""
    columns = []
    changed = False
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.and_(
                pc.match_substring_regex(column, FORMULA_START),
                pc.invert(pc.match_substring_regex(column, PLAIN_NUMBER)),
            )
            if pc.any(risky).as_py():
                quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
                column = pc.if_else(risky, pc.binary_join_element_wise(quote, column, empty), column)
                changed = True
        columns.append(column)
    return pa.table(columns, names=table.column_names) if changed else table


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The same rule for a pandas frame written with ``to_csv``."""
    out = None
    for name in df.columns:
        col = df[name]
        if not (pd.api.types.is_string_dtype(col) or col.dtype == object):
            continue
        text = col.astype("string")
        risky = text.str.match(FORMULA_START, na=False) & ~text.str.fullmatch(PLAIN_NUMBER, na=False)
        if risky.any():
            out = df.copy() if out is None else out
            out[name] = col.where(~risky.to_numpy(), "'" + text)
    return df if out is None else out


def write_frame(df: pd.DataFrame, out: str | Path, inputs: tuple[Any, ...] = ()) -> Path:
    """A whole frame to ``.csv`` or ``.parquet`` (checked first), atomically."""
    out = check_output(out, inputs)
    with atomic_file(out) as tmp:
        if out.suffix.lower() == ".csv":
            neutralise_frame(df).to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return out


def csv_bytes(table: pa.Table) -> bytes:
    """A table as CSV text (pyarrow's writer, quoting only where needed), formulas neutralised."""
    sink = pa.BufferOutputStream()
    pcsv.write_csv(neutralise_formulas(table), sink, pcsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().to_pybytes()


class AtomicWriter:
    """Chunks of output rows into a hidden temporary file, renamed over ``out`` on commit."""

    def __init__(self, out: Path, inputs: tuple[Any, ...] = ()) -> None:
        self.out = Path(out)
        self.suffix = self.out.suffix.lower()
        check_output(self.out, inputs)
        self.tmp = temp_file(self.out)
        self._fh: Any = None
        self._parquet: Any = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        try:
            if self.suffix == ".csv":
                self._write_csv(table)
            else:
                self._write_parquet(table)
        except OSError as exc:
            raise UptakeInputError(
                f"{where(file=self.out)}: cannot write ({os.strerror(exc.errno) if exc.errno else exc})"
            ) from None
        self.rows += table.num_rows

    def _write_csv(self, table: pa.Table) -> None:
        if self._fh is None:
            self._fh = pa.OSFile(str(self.tmp), "wb")
        pcsv.write_csv(
            neutralise_formulas(table),
            self._fh,
            pcsv.WriteOptions(include_header=self.rows == 0 and self._schema is None),
        )
        self._schema = table.schema

    def _write_parquet(self, table: pa.Table) -> None:
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
        try:
            self._close()
        except OSError as exc:
            raise UptakeInputError(
                f"{where(file=self.out)}: cannot write ({os.strerror(exc.errno) if exc.errno else exc})"
            ) from None
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


__all__ = ["AtomicWriter", "csv_bytes", "neutralise_formulas", "neutralise_frame", "write_frame"]
