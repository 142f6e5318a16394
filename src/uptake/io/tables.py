"""Reading whole customer tables: CSV (sniffed separator, decimal commas), Excel and Parquet.

Banks keep these tables as Excel workbooks, CSV exports from several locales (comma,
semicolon or tab separated) and, at scale, Parquet written by databases. Every reader
failure becomes a one-line ``UptakeInputError`` naming the file, and a file that is
not what its name says (a workbook called ``.csv``, a folder called ``.xlsx``) is
named as such instead of failing deep inside a parser.
"""

from __future__ import annotations

import csv
import hashlib
import zipfile
from pathlib import Path

import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.io.arrow import read_parquet_frame
from uptake.io.cells import decimal_mark
from uptake.io.excel import read_sheet
from uptake.io.names import check_unique_names

SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_MAGIC = {b"PK\x03\x04": "an Excel workbook (or another zip file)", b"PAR1": "a Parquet file"}


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def file_kind(path: Path) -> str:
    """``csv``, ``excel`` or ``parquet`` from the name; a directory is a Parquet dataset."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if path.is_dir():
        if kind not in (None, "parquet"):
            raise UptakeInputError(f"{where(file=path)}: is a directory, not a {path.suffix} file")
        return "parquet"
    if kind is None:
        raise UptakeInputError(
            f"{where(file=path)}: unsupported file type {path.suffix or '(none)'!r}: use .csv, .xlsx or .parquet"
        )
    return kind


def check_input(path: Path) -> str:
    """The file's kind, after checking it exists, is not empty and is what its name says."""
    path = Path(path)
    if not path.exists():
        raise UptakeInputError(f"{where(file=path)}: no such file")
    kind = file_kind(path)
    if path.is_dir():
        others = sorted(
            p.name
            for p in path.rglob("*")
            if p.is_file()
            and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
            and p.suffix.lower() not in (".parquet", ".pq")
        )
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise UptakeInputError(
                f"{where(file=path)}: a folder is read as one Parquet dataset, and this one holds other files "
                f"({shown}); give the files one at a time"
            )
        return kind
    if not path.is_file():
        raise UptakeInputError(f"{where(file=path)}: is not a regular file")
    if path.stat().st_size == 0:
        raise UptakeInputError(f"{where(file=path)}: the file is empty")
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise UptakeInputError(f"{where(file=path)}: cannot read the file: {first_line(exc)}") from None
    actual = next((what for magic, what in _MAGIC.items() if head.startswith(magic)), None)
    expected = {"excel": _MAGIC[b"PK\x03\x04"], "parquet": _MAGIC[b"PAR1"]}.get(kind)
    if kind == "csv" and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UptakeInputError(f"{where(file=path)}: is UTF-16 text; save it as UTF-8 CSV")
    if kind == "csv" and actual is None and b"\x00" not in head:
        try:  # the header names every column on every path: it must be text
            head.split(b"\n", 1)[0].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UptakeInputError(f"{where(file=path)}: its header is not UTF-8 text; save it as UTF-8 CSV") from None
    if kind == "csv" and (actual is not None or b"\x00" in head):
        raise UptakeInputError(
            f"{where(file=path)}: is {actual or 'a binary file'}, not CSV text; give it its proper suffix"
        )
    if kind != "csv" and actual != expected:
        raise UptakeInputError(f"{where(file=path)}: is not {expected} (its first bytes say otherwise)")
    return kind


#: Bytes of a CSV file's head that decide its separator and decimal mark.
SAMPLE_BYTES = 65536


def _sample(path: Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        sample = fh.read(sample_bytes)
    if not sample.strip():
        raise UptakeInputError(f"{where(file=path)}: the file is empty")
    return sample


def sniff_delimiter(path: Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """Pick the delimiter among comma, semicolon and tab from the file's first lines."""
    sample = _sample(path, sample_bytes)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        first = sample.splitlines()[0]
        return max([",", ";", "\t"], key=first.count)


def sniff_decimal(path: Path, sep: str) -> str:
    """The file's decimal mark (``uptake.io.cells.decimal_mark``), from the same sample as its separator."""
    return decimal_mark(_sample(path), sep)


def csv_header(path: Path, sep: str) -> list[str]:
    """The first non-blank row of a CSV file, cells stripped."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        for row in csv.reader(fh, delimiter=sep):
            if any(cell.strip() for cell in row):
                return [cell.strip() for cell in row]
    raise UptakeInputError(f"{where(file=path)}: the file is empty")


def read_table(path: str | Path, sheet: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV, Excel or Parquet table.

    ``df.attrs['row_offset']`` records the number a user sees for the first data row
    (2 in CSV and Excel, where the header is line 1; 1 in Parquet), so every error
    can point at the row as the user's own tools show it; ``df.attrs['decimal']`` the
    file's decimal mark. CSV cells are read as text, exactly as the streamed reader
    reads them, and kept as written: what a cell means as a number is the column
    kind's to decide (``uptake.schema.values``). Excel cells keep their own types
    (``uptake.io.excel``), Parquet columns theirs; Excel's ``sheet`` defaults to
    ``Data``, else the sheet the workbook opens on (``attrs['sheet']``).
    """
    path = Path(path)
    kind = check_input(path)
    try:
        if kind == "csv":
            delimiter = sep or sniff_delimiter(path)
            check_unique_names(csv_header(path, delimiter), path)
            df = pd.read_csv(
                path,
                sep=delimiter,
                encoding="utf-8-sig",
                skipinitialspace=True,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
            )
            df.attrs["decimal"] = sniff_decimal(path, delimiter)
            offset = 2
        elif kind == "excel":
            df = read_sheet(path, sheet)
            offset = 2
        else:
            df = read_parquet_frame(path)
            offset = 1
    except UptakeInputError:
        raise
    except pd.errors.EmptyDataError:
        raise UptakeInputError(f"{where(file=path)}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise UptakeInputError(f"{where(file=path)}: cannot parse the file: {first_line(exc)}") from None
    except UnicodeDecodeError:
        raise UptakeInputError(f"{where(file=path)}: is not UTF-8 text; save it as UTF-8 CSV") from None
    except (OSError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        raise UptakeInputError(f"{where(file=path)}: cannot read the file: {first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow and openpyxl raise their own types for corrupt files
        raise UptakeInputError(f"{where(file=path)}: cannot read the file: {first_line(exc)}") from None
    if df.shape[1] == 0 or len(df) == 0:
        raise UptakeInputError(f"{where(file=path)}: the table has no data rows")
    df.columns = [str(c).strip() for c in df.columns]
    check_unique_names(list(df.columns), path)
    df.attrs["row_offset"] = offset
    df.attrs["source"] = str(path)
    df.attrs.setdefault("decimal", ".")
    return df


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
    except Exception:  # noqa: BLE001 - descriptions are help texts; a bad sheet must not stop training
        return {}
    out: dict[str, str] = {}
    for _, row in raw.iterrows():
        cells = [str(v).strip() for v in row.tolist() if isinstance(v, str) and str(v).strip()]
        if len(cells) >= 2:
            out[cells[0]] = cells[1]
    return out


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


__all__ = [
    "check_input",
    "check_unique_names",
    "csv_header",
    "file_kind",
    "file_sha256",
    "first_line",
    "read_descriptions",
    "read_table",
    "sniff_decimal",
    "sniff_delimiter",
]
