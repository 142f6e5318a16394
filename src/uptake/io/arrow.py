"""Parquet as databases write it, turned into the types the rest of uptake expects.

A database export types its columns in ways pandas carries through awkwardly:
``DECIMAL(12,2)`` arrives as Python ``Decimal`` objects, enumerations as dictionary
columns, text as ``large_string``, an always-empty column as the ``null`` type. Here
decimals become float64, dictionaries their plain values and text plain strings,
once, for whole-file reads and streamed chunks alike, so a column means the same
number whichever path reads it. Dates and times are kept: they are not features
until someone derives a number from them, and schema inference says so.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from uptake.errors import UptakeInputError, where
from uptake.io.names import check_unique_names


def _normal_type(t: pa.DataType) -> pa.DataType | None:
    """The type a column is cast to, or None to keep it."""
    if pa.types.is_decimal(t) or pa.types.is_float16(t):
        return pa.float64()
    if pa.types.is_large_string(t) or pa.types.is_null(t):
        return pa.string()
    return None


def normalize_table(table: pa.Table) -> pa.Table:
    """Decimals to float64, dictionary columns decoded, names stripped of spaces."""
    columns, changed = [], False
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
            changed = True
        target = _normal_type(column.type)
        if target is not None:
            column = pc.cast(column, target, safe=False)
            changed = True
        columns.append(column)
    names = [str(n).strip() for n in table.column_names]
    if changed or names != table.column_names:
        table = pa.table(columns, names=names)
    return table


def read_parquet_frame(path: Path) -> pd.DataFrame:
    """A Parquet file or dataset directory as a DataFrame, database types normalised."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        text = str(exc).strip().splitlines()
        raise UptakeInputError(f"{where(file=path)}: cannot read the file: {text[0] if text else exc}") from None
    check_unique_names(table.column_names, path)
    return normalize_table(table).to_pandas()


__all__ = ["normalize_table", "read_parquet_frame"]
