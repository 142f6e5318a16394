"""How raw cells are read: missing or not, as numbers, as category codes.

One reading for every path (training, files, the API, streaming, every chunk size),
so ``2``, ``2.0``, ``" 2 "`` and a float 2.0 are the same code everywhere, an empty
cell is missing everywhere, and a number written as text has one verdict.

Numbers written as text the way spreadsheets, R and locale-bound exports write them
are read by :func:`to_number` with rules that never change a value's meaning silently:

* the decimal mark is the file's: ``.``, unless the reader found a semicolon CSV that
  writes its decimals with a comma (``uptake.io.tables.decimal_mark``);
* a thousands separator is read only in groups of three (``1,234,567.5``; with a
  decimal comma ``1.234.567,5``): ``1,23`` is not a number, and in a file whose
  decimal mark is a comma neither is ``1.5``;
* ``12%`` is 0.12 (what a spreadsheet stores behind it); ``$120``, ``120 €`` and
  ``(120)`` (accounting's negative) are 120, 120 and -120;
* ``TRUE``/``FALSE`` (any case) are 1 and 0, as spreadsheets and R write flags;
* ``5e+05`` is 500,000; hexadecimal (``0x31``), underscores (``1_000``) and words are
  not numbers.

A missing cell is a null, a blank cell, or one of the texts pandas reads as missing
(:data:`MISSING_TOKENS`); every reader keeps every other cell's text as written.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from uptake.io.cells import MISSING_TOKENS

_CURRENCY = "$€£¥"
_FORMATTED = {
    ".": re.compile(
        r"^(?P<neg>-)?["
        + _CURRENCY
        + r"]?\s*(?P<sign>[+-])?(?P<num>[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?|[0-9]+\.?[0-9]*|\.[0-9]+)"
        r"(?P<exp>[eE][+-]?[0-9]+)?\s*(?P<pct>%)?\s*[" + _CURRENCY + r"]?$"
    ),
    ",": re.compile(
        r"^(?P<neg>-)?["
        + _CURRENCY
        + r"]?\s*(?P<sign>[+-])?(?P<num>[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?|[0-9]+,?[0-9]*|,[0-9]+)"
        r"(?P<exp>[eE][+-]?[0-9]+)?\s*(?P<pct>%)?\s*[" + _CURRENCY + r"]?$"
    ),
}
_FLAGS = {"true": 1.0, "false": 0.0}


def is_text(raw: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(raw) or raw.dtype == object


def is_missing(raw: pd.Series) -> np.ndarray:
    """Nulls, and in text columns blank cells and the missing-value texts (:data:`MISSING_TOKENS`)."""
    miss = raw.isna().to_numpy()
    if is_text(raw):
        text = raw.astype("string").str.strip().fillna("")
        miss = miss | text.isin(MISSING_TOKENS).to_numpy()
    return miss


def parse_number(text: str, decimal: str = ".") -> float | None:
    """One cell's text as a number under the rules of the module docstring; None when it is not one."""
    t = text.strip()
    flag = _FLAGS.get(t.lower())
    if flag is not None:
        return flag
    negative = t.startswith("(") and t.endswith(")")
    if negative:
        t = t[1:-1].strip()
    m = _FORMATTED[decimal].match(t)
    if m is None:
        return None
    num = m.group("num")
    num = num.replace(",", "") if decimal == "." else num.replace(".", "").replace(",", ".")
    value = float(num + (m.group("exp") or ""))
    if m.group("pct"):
        value /= 100.0
    if bool(m.group("neg")) != (m.group("sign") == "-") or negative:
        value = -value
    return value


#: A number as pandas' own parser reads it (the fast path of :func:`to_number`), infinities included.
_PLAIN_NUMBER = re.compile(r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity)$", re.IGNORECASE)


def number_of(text: str, decimal: str = ".") -> float | None:
    """One text cell as :func:`to_number` reads it: its number, NaN when it is missing, None when it is not a
    number (the JSON API's text values take this path, so a cell has one verdict everywhere)."""
    t = text.strip()
    if t in MISSING_TOKENS:
        return float("nan")
    if decimal == "." and _PLAIN_NUMBER.match(t):
        return float(t)
    return parse_number(t, decimal)


def to_number(raw: pd.Series, decimal: str = ".") -> pd.Series:
    """Cells as float64 (see the module docstring); missing cells and text that is not a number are NaN
    (callers tell the two apart with :func:`is_missing`).

    Plain numbers go through pandas' C parser; only the cells it cannot read (formatted numbers, flags,
    words) are parsed in Python, once per distinct text.
    """
    if pd.api.types.is_bool_dtype(raw) or pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    out = np.full(len(raw), np.nan)
    if not len(raw):
        return pd.Series(out, index=raw.index, dtype=float)
    cells = raw.to_numpy(dtype=object)
    number = np.fromiter((isinstance(v, (int, float, np.integer, np.floating)) for v in cells), bool, len(cells))
    if number.any():  # Python numbers in an object column (Excel cells, JSON) are numbers already
        out[number] = pd.to_numeric(pd.Series(cells[number]), errors="coerce").to_numpy(dtype=float)
    rest = np.flatnonzero(~number)
    if len(rest):
        text = pd.Series(cells[rest], dtype="string").str.strip()
        keep = (text.notna() & ~text.isin(MISSING_TOKENS)).to_numpy()
        rest, text = rest[keep], text[keep]
        if decimal == ".":
            fast = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:  # a decimal comma: '1.000' is a thousand, so pandas may read only cells with neither mark
            plain = ~text.str.contains(r"[.,]", regex=True).to_numpy()
            fast = np.where(
                plain, pd.to_numeric(text.where(plain), errors="coerce").to_numpy(dtype=float, na_value=np.nan), np.nan
            )
        out[rest] = fast
        slow = np.isnan(fast)
        if slow.any():
            codes, uniques = pd.factorize(text[slow])
            parsed = np.array([_parsed(u, decimal) for u in uniques], dtype=float)
            out[rest[slow]] = parsed[codes]
    return pd.Series(out, index=raw.index, dtype=float)


def _parsed(text: str, decimal: str) -> float:
    value = parse_number(text, decimal)
    return np.nan if value is None else value


# ---- dates ---------------------------------------------------------------------------------------------
#: Formats a date column may be written in, tried on the whole column: ISO (with or without a time), then
#: the day-first and month-first spellings spreadsheets export. A column is read with one format.
DATE_FORMATS = (
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
#: Share of a text column's filled cells that must read as dates in one format for it to be a date column.
DATE_SHARE = 0.9
#: What :func:`date_format` says of a column whose cells read as dates both day-first and month-first.
AMBIGUOUS = "ambiguous"
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
_DAY_NS = 86_400 * 10**9


def date_format(raw: pd.Series, sample: int = 2000) -> str | None:
    """The one format a text column's dates are written in, :data:`AMBIGUOUS`, or None (not dates).

    Decided on the whole column (a sample of its distinct values), never cell by cell, so
    ``03/04/2027`` and ``13/04/2027`` are read alike: a column whose every cell reads both
    day-first and month-first (no day above 12) cannot be told, and is said to be so.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        return "datetime"
    if not is_text(raw):
        return None
    text = raw.astype("string").str.strip()
    text = text[text.notna() & ~text.isin(MISSING_TOKENS)].drop_duplicates()
    if not len(text):
        return None
    if len(text) > sample:
        text = text.sample(sample, random_state=0)
    if pd.to_numeric(text, errors="coerce").notna().mean() > 0.5:  # numbers (years, ids) are not dates
        return None
    fits = []
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        share = float(parsed.notna().mean())
        if share >= DATE_SHARE:
            fits.append((share, fmt))
    if not fits:
        return None
    best = max(share for share, _ in fits)
    chosen = [fmt for share, fmt in fits if share == best]
    day_first = {f for f in chosen if f.startswith("%d")}
    month_first = {f for f in chosen if f.startswith("%m")}
    if day_first and month_first and not [f for f in chosen if f not in day_first | month_first]:
        return AMBIGUOUS
    return chosen[0]


def to_days(raw: pd.Series, fmt: str) -> pd.Series:
    """Cells as days since 1970-01-01 (fractions for times of day), read with the column's format; NaN where
    missing or not a date in that format (callers tell the two apart with :func:`is_missing`)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        stamps = raw.dt.tz_convert(None) if getattr(raw.dt, "tz", None) is not None else raw
    else:
        cells = raw.astype("string").str.strip()
        cells = cells.where(cells.notna() & ~cells.isin(MISSING_TOKENS))
        when = "ISO8601" if fmt == "datetime" else fmt
        stamps = pd.to_datetime(cells, format=when, errors="coerce", utc=True).dt.tz_convert(None)
    ns = stamps.to_numpy(dtype="datetime64[ns]")
    days = (ns - _EPOCH).astype("timedelta64[ns]").astype(np.float64) / _DAY_NS
    days[np.isnat(ns)] = np.nan
    return pd.Series(days, index=raw.index, dtype=float)


def day_text(days: float | None) -> str | None:
    """A day number as an ISO date (``2027-04-03``), for messages, forms and reasons."""
    if days is None or (isinstance(days, float) and math.isnan(days)):
        return None
    stamp = _EPOCH + np.timedelta64(int(round(float(days) * 86_400)), "s")
    text = str(stamp.astype("datetime64[s]"))
    return text[:10] if text.endswith("T00:00:00") else text.replace("T", " ")


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
        text = text.where(text.notna() & ~text.isin(MISSING_TOKENS), None)
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


def row_numbers(obj: pd.DataFrame | pd.Series, offset: int | None = None) -> np.ndarray:
    """The row number a user sees for each row of ``obj``.

    A table read from a file (``attrs['source']``) keeps its rows' original positions as
    its index, even after blank rows are left out, so its numbers stay those of the
    file; other frames number their rows by position. ``offset``: the number of the
    first row (default ``attrs['row_offset']``).
    """
    explicit = offset is not None
    start = int(offset if explicit else obj.attrs.get("row_offset", 1))
    if not explicit and "source" in obj.attrs and pd.api.types.is_integer_dtype(obj.index):
        return np.asarray(obj.index, dtype=np.int64) + start
    return np.arange(len(obj), dtype=np.int64) + start


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
    "AMBIGUOUS",
    "DATE_FORMATS",
    "MISSING_TOKENS",
    "category_factors",
    "category_text",
    "code_text",
    "date_format",
    "day_text",
    "is_missing",
    "is_text",
    "natural_key",
    "number_of",
    "parse_number",
    "plain",
    "row_numbers",
    "to_days",
    "to_number",
]
