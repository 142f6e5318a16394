"""Cells as files hold them: which texts mean "missing", a file's decimal mark, and column types that keep
every value exactly as it was written.

Both CSV readers (the whole-table one and the streamed one) keep every cell as the
text it is, so an identifier with leading zeros (``007``), a 17-digit id, a
decimal-comma amount or an R-written ``5e+05`` leaves a scored file as it came in,
whichever reader read it and whatever the chunk size. What a text cell means as a
number is decided by the column's kind (``uptake.schema.values.to_number``), the same
way on every path. Excel's typed cells are settled per column
(:func:`settle_types`): integer columns keep their integers even with empty cells
(pandas' nullable ``Int64``, never ``39.0``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Cell texts that mean "no value" on every path: pandas' default list (``read_csv``'s ``na_values``).
MISSING_TOKENS = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
#: Integers whose text reads back exactly: no sign but '-', no leading zeros, within int64.
_INTEGER = r"^-?(0|[1-9][0-9]{0,17})$"
#: A decimal comma as a semicolon CSV writes it (1,5 or 1.234,5).
_DECIMAL_COMMA = re.compile(r"^[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+),[0-9]+$")
#: A decimal point (1.5), unless it could be a thousands group (1.000, 12.345.678), which a comma locale writes.
_DECIMAL_POINT = re.compile(r"^[+-]?[0-9]+\.[0-9]+$")
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(\.[0-9]{3})+$")


def missing_text(text: pd.Series) -> np.ndarray:
    """Which cells of a text column are missing: nulls, blanks and :data:`MISSING_TOKENS`."""
    stripped = text.astype("string").str.strip()
    return (stripped.isna() | stripped.isin(MISSING_TOKENS)).to_numpy(dtype=bool)


def blank_mask(table: pa.Table) -> np.ndarray:
    """Rows of an Arrow table whose every cell is missing (null, blank or a missing-value text)."""
    blank = np.ones(table.num_rows, dtype=bool)
    tokens = pa.array(sorted(MISSING_TOKENS))
    for column in table.columns:
        miss = pc.is_null(column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            miss = pc.or_(miss, pc.is_in(pc.utf8_trim_whitespace(column), value_set=tokens))
        blank &= miss.to_numpy(zero_copy_only=False).astype(bool)
        if not blank.any():
            break
    return blank


def decimal_mark(sample: str, sep: str) -> str:
    """``,`` when a semicolon CSV's sample writes decimals with a comma and none with a point, else ``.``.

    A cell such as ``1.000`` is no vote for a point: a comma locale writes one thousand so. Decided once
    per file from the same sample the separator is sniffed from, so every chunk of a streamed file and the
    whole-table reader read a cell alike.
    """
    if sep != ";":
        return "."
    commas = points = 0
    for line in sample.splitlines():
        for cell in line.split(sep):
            cell = cell.strip().strip('"').strip()
            if _DECIMAL_COMMA.match(cell):
                commas += 1
            elif _DECIMAL_POINT.match(cell) and not _GROUPED.match(cell):
                points += 1
    return "," if commas and not points else "."


def settle_column(raw: pd.Series, decimal: str = ".") -> pd.Series:
    """A text column as numbers where every filled cell reads back exactly as written, else as it is."""
    if not (pd.api.types.is_string_dtype(raw) or raw.dtype == object):
        return raw
    cells = raw.to_numpy(dtype=object)
    is_str = np.fromiter((isinstance(v, str) for v in cells), bool, len(cells))
    if not is_str.all():  # Excel cells: Python numbers and text side by side
        return _settle_objects(raw, cells, is_str)
    text = raw.astype("string").str.strip()
    miss = (text.isna() | text.isin(MISSING_TOKENS)).to_numpy(dtype=bool)
    filled = text[~miss]
    if not len(filled):
        return raw
    if filled.str.fullmatch(_INTEGER).all():
        return pd.Series(pd.array(pd.to_numeric(text.where(~miss)), dtype="Int64"), index=raw.index, name=raw.name)
    if decimal != ".":
        return raw  # a decimal-comma file: its numbers are read by the column's kind, its text kept
    values = pd.to_numeric(filled, errors="coerce")
    if values.isna().any():
        return raw
    if (values.astype(float).map(repr) != filled).any():  # '1.50', '5e+05', '+3': kept as written
        return raw
    out = np.full(len(raw), np.nan)
    out[~miss] = values.to_numpy(dtype=float)
    return pd.Series(out, index=raw.index, name=raw.name)


def _settle_objects(raw: pd.Series, cells: np.ndarray, is_str: np.ndarray) -> pd.Series:
    """Excel's typed cells: integers (and empty cells) as ``Int64``, numbers as float64, else as they are."""
    blank = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in cells], dtype=bool)
    if is_str.any():
        blank_text = missing_text(pd.Series(cells[is_str], dtype=object))
        if not blank_text.all():
            return raw  # text among the numbers: kept as written, the kind reads it
        blank[is_str] = True
    rest = cells[~blank]
    if not len(rest):
        return raw
    if all(isinstance(v, (bool, np.bool_)) for v in rest):
        return raw
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in rest):
        values = pd.array([None if b else int(v) for v, b in zip(cells, blank)], dtype="Int64")
        return pd.Series(values, index=raw.index, name=raw.name)
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in rest):
        return pd.Series(
            [np.nan if b else float(v) for v, b in zip(cells, blank)], index=raw.index, name=raw.name, dtype=float
        )
    return raw


def settle_types(df: pd.DataFrame, decimal: str = ".") -> pd.DataFrame:
    """Each column through :func:`settle_column` (the frame's attributes kept)."""
    attrs = dict(df.attrs)
    out = pd.DataFrame({name: settle_column(df[name], decimal) for name in df.columns}, index=df.index)
    out.attrs.update(attrs)
    return out


__all__ = ["MISSING_TOKENS", "blank_mask", "decimal_mark", "missing_text", "settle_column", "settle_types"]
