"""Reading customer tables and their target column.

Banks keep these tables as Excel workbooks, CSV exports from several locales
(comma, semicolon or tab separated) and, at scale, Parquet. Every reader failure
is turned into a one-line ``UptakeInputError`` that names the file, so the CLI can
exit with code 2 instead of a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.schema import Schema, _is_missing, _plain

DEFAULT_TARGET = "Personal Loan"
TRUE_WORDS = {"1", "yes", "true", "y", "t", "1.0"}
FALSE_WORDS = {"0", "no", "false", "n", "f", "0.0"}
SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet", ".pq": "parquet"}


def file_kind(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None and path.is_dir():
        return "parquet"  # a Parquet dataset is a directory of files
    if kind is None:
        raise UptakeInputError(
            f"{where(file=path)}: unsupported file type {path.suffix or '(none)'!r}: use .csv, .xlsx or .parquet"
        )
    return kind


def sniff_delimiter(path: Path, sample_bytes: int = 65536) -> str:
    """Pick the delimiter among comma, semicolon and tab from the file's first lines."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        sample = fh.read(sample_bytes)
    if not sample.strip():
        raise UptakeInputError(f"{where(file=path)}: the file is empty")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        first = sample.splitlines()[0]
        return max([",", ";", "\t"], key=first.count)


def read_table(path: str | Path, sheet: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV, Excel or Parquet table.

    ``df.attrs['row_offset']`` records the number a user sees for the first data row
    (2 in CSV and Excel, where the header is line 1; 1 in Parquet), so every error
    can point at the row as the user's own tools show it.
    """
    path = Path(path)
    if not path.exists():
        raise UptakeInputError(f"{where(file=path)}: no such file")
    kind = file_kind(path)
    if path.is_file() and path.stat().st_size == 0:
        raise UptakeInputError(f"{where(file=path)}: the file is empty")
    try:
        if kind == "csv":
            delimiter = sep or sniff_delimiter(path)
            df = pd.read_csv(path, sep=delimiter, encoding="utf-8-sig", skipinitialspace=True)
            if delimiter == ";":
                df = _decimal_commas(df)
            offset = 2
        elif kind == "excel":
            df = _read_excel(path, sheet)
            offset = 2
        else:
            df = pd.read_parquet(path)
            offset = 1
    except UptakeInputError:
        raise
    except pd.errors.EmptyDataError:
        raise UptakeInputError(f"{where(file=path)}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise UptakeInputError(f"{where(file=path)}: cannot parse the file: {_first_line(exc)}") from None
    except (OSError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        raise UptakeInputError(f"{where(file=path)}: cannot read the file: {_first_line(exc)}") from None
    except Exception as exc:  # pyarrow and openpyxl raise their own types for corrupt files
        raise UptakeInputError(f"{where(file=path)}: cannot read the file: {_first_line(exc)}") from None
    if df.shape[1] == 0 or len(df) == 0:
        raise UptakeInputError(f"{where(file=path)}: the table has no data rows")
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs["row_offset"] = offset
    df.attrs["source"] = str(path)
    return df


#: A number written with a decimal comma, as Excel saves CSV in German or French locales.
DECIMAL_COMMA = r"^[+-]?\d+,\d+$|^[+-]?\d+$"


def _decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """Semicolon CSVs come from locales that write 1,5 for 1.5; read such columns as numbers.

    Only a text column whose every filled cell looks like a decimal-comma number is
    converted, so genuine text (and thousands-separated oddities) stays as it is.
    """
    for name in df.columns:
        col = df[name]
        if not (pd.api.types.is_string_dtype(col) or col.dtype == object):
            continue
        text = col.dropna().astype(str).str.strip()
        text = text[text != ""]
        if len(text) and text.str.contains(",", regex=False).any() and text.str.fullmatch(DECIMAL_COMMA).all():
            df[name] = pd.to_numeric(col.astype("string").str.strip().str.replace(",", ".", regex=False),
                                     errors="coerce")
    return df


def _read_excel(path: Path, sheet: str | None) -> pd.DataFrame:
    with pd.ExcelFile(path, engine="openpyxl") as book:
        names = [str(n) for n in book.sheet_names]
        if sheet is None:
            sheet = "Data" if "Data" in names else names[0]
        elif sheet not in names:
            raise UptakeInputError(f"{where(file=path)}: no sheet named {sheet!r} (sheets: {', '.join(names)})")
        return pd.read_excel(book, sheet_name=sheet)


def read_descriptions(path: str | Path) -> dict[str, str]:
    """Column help texts from an Excel workbook's ``Description`` sheet, when it has one."""
    path = Path(path)
    if file_kind(path) != "excel":
        return {}
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            if "Description" not in book.sheet_names:
                return {}
            raw = pd.read_excel(book, sheet_name="Description", header=None)
    except Exception:
        return {}
    out: dict[str, str] = {}
    for _, row in raw.iterrows():
        cells = [str(v).strip() for v in row.tolist() if isinstance(v, str) and str(v).strip()]
        if len(cells) >= 2:
            out[cells[0]] = cells[1]
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def file_sha256(path: str | Path) -> str:
    """Fingerprint of the training file, stored with the model so a run can be traced to its data."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


# ---- target -------------------------------------------------------------------------
def resolve_target(df: pd.DataFrame, target: str | None, source: object | None = None) -> str:
    if target is None:
        if DEFAULT_TARGET in df.columns:
            return DEFAULT_TARGET
        raise UptakeInputError(
            f"{where(file=source, column=DEFAULT_TARGET)}: target column is missing; name the target with --target"
        )
    if target not in df.columns:
        raise UptakeInputError(f"{where(file=source, column=target)}: target column is missing")
    return target


def encode_target(
    series: pd.Series, positive: str | None = None, source: object | None = None, row_offset: int = 2
) -> tuple[np.ndarray, str, str]:
    """Map the target to 1/0; return ``(y, positive_label, negative_label)``.

    0/1, yes/no, true/false and y/n (any case) are understood; ``positive`` names
    the label to count as 1 for anything else (e.g. ``--positive accepted``).
    """
    name = str(series.name)
    miss = _is_missing(series)
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        raise UptakeInputError(f"{where(file=source, column=name, row=i + row_offset)}: the target is missing")
    text = series.map(_label_text)
    labels = sorted(text.unique().tolist())
    if len(labels) < 2:
        raise UptakeInputError(
            f"{where(file=source, column=name, value=_plain(series.iloc[0]))}: the target has one class only; "
            "a model needs examples of both outcomes"
        )
    if len(labels) > 2:
        raise UptakeInputError(
            f"{where(file=source, column=name)}: the target has {len(labels)} classes "
            f"({', '.join(map(repr, labels[:6]))}{', ...' if len(labels) > 6 else ''}); it must have two"
        )
    if positive is not None:
        pos = _label_text(positive)
        if pos not in labels:
            raise UptakeInputError(
                f"{where(file=source, column=name, value=positive)}: --positive is not one of the target's labels "
                f"({', '.join(map(repr, labels))})"
            )
    else:
        lowered = {lab.lower() for lab in labels}
        trues = [lab for lab in labels if lab.lower() in TRUE_WORDS]
        if len(trues) == 1 and len(lowered & FALSE_WORDS) == 1:
            pos = trues[0]
        else:
            raise UptakeInputError(
                f"{where(file=source, column=name)}: cannot tell which of {labels[0]!r} and {labels[1]!r} is the "
                "positive outcome; name it with --positive"
            )
    neg = labels[0] if labels[1] == pos else labels[1]
    y = (text == pos).to_numpy(dtype=np.int64)
    return y, pos, neg


def _label_text(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


# ---- summary ------------------------------------------------------------------------
@dataclass
class DataSummary:
    """What an analyst should know about the table before trusting a model trained on it."""

    rows: int
    positives: int
    positive_share: float
    dropped: list[dict[str, str]]
    missing: dict[str, int]
    suspicious: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "positive_share": self.positive_share,
            "dropped": self.dropped,
            "missing": self.missing,
            "suspicious": self.suspicious,
        }


#: Columns whose values can never be negative in a customer table.
NON_NEGATIVE_HINTS = ("age", "experience", "income", "mortgage", "amount", "ccavg", "family", "balance")


def summarize(df: pd.DataFrame, schema: Schema, y: np.ndarray) -> DataSummary:
    missing = {c.name: c.missing for c in schema.columns if c.missing}
    suspicious: list[str] = []
    for col in schema.columns:
        if col.kind != "numeric" or col.min is None or col.min >= 0:
            continue
        if any(h in col.name.lower() for h in NON_NEGATIVE_HINTS):
            vals = pd.to_numeric(df[col.name], errors="coerce")
            n_neg = int((vals < 0).sum())
            suspicious.append(f"{col.name}: {n_neg} negative values (min {col.min:g}); kept as they are")
    return DataSummary(
        rows=int(len(y)),
        positives=int(y.sum()),
        positive_share=float(y.mean()),
        dropped=list(schema.dropped),
        missing=missing,
        suspicious=suspicious,
    )
