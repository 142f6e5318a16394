"""How raw cells are read: missing or not, as numbers, as category codes.

One reading for every path (training, files, the API, streaming), so ``2``, ``2.0``,
``" 2 "`` and a float 2.0 are the same code everywhere, and an empty cell is missing
everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def is_text(raw: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(raw) or raw.dtype == object


def is_missing(raw: pd.Series) -> np.ndarray:
    """NaN/None/NA, and in text columns blank cells."""
    miss = raw.isna().to_numpy()
    if is_text(raw):
        miss = miss | raw.astype("string").str.strip().fillna("").eq("").to_numpy()
    return miss


def to_number(raw: pd.Series) -> pd.Series:
    """Cells as float64; text that is not a number becomes NaN (callers tell it from missing)."""
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    text = raw.astype("string").str.strip()
    return pd.to_numeric(text.replace("", pd.NA), errors="coerce").astype(float)


def code_text(value: Any) -> str:
    """One value as the text of a category: numbers without a trailing ``.0`` (2, 2.0 and '2' are one)."""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return str(int(number)) if number.is_integer() else repr(number)


def category_factors(raw: pd.Series, codes: bool) -> tuple[np.ndarray, list[str]]:
    """Cells as category text, factorised: an int code per row (-1 missing) and the distinct labels.

    ``codes``: the column holds number codes (Education 1/2/3), so numeric-looking
    text is read as its number (``'2.0'`` is ``'2'``); other text is kept for
    validation to name. Otherwise cells are compared as stripped text. Each distinct
    value is formatted once: a per-row map cost ~4 s per million rows when scoring.
    Two distinct raw values may give one label (``2`` and ``'2.0'``); counting per
    label (not per code) is the caller's part.
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values, uniques = pd.factorize(raw.astype(float))
        labels = [code_text(v) for v in uniques]
    else:
        text = raw.astype("string").str.strip()
        text = text.where(text.fillna("") != "", None)
        values, uniques = pd.factorize(text)
        labels = [code_text(v) if codes else str(v) for v in uniques]
    return np.asarray(values, dtype=np.int64), labels


def category_text(raw: pd.Series, codes: bool) -> pd.Series:
    """Cells as category text (object dtype, NaN for missing); see :func:`category_factors`."""
    values, labels = category_factors(raw, codes)
    table = np.asarray([*labels, np.nan], dtype=object)  # code -1 (missing) picks the last entry
    # NaN, not None: scikit-learn's imputers treat only NaN as missing in object columns.
    return pd.Series(table[values], index=raw.index, name=raw.name, dtype=object)


def natural_key(v: str) -> tuple[int, float, str]:
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def plain(v: Any) -> Any:
    """A cell as a plain Python value for messages and JSON (NaN is None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    return v


__all__ = [
    "category_factors",
    "category_text",
    "code_text",
    "is_missing",
    "is_text",
    "natural_key",
    "plain",
    "to_number",
]
