"""Reading one sheet of an Excel workbook as its author sees it.

Which sheet: the one named ``--sheet``; else ``Data`` where there is one (the bank's
workbook); else the sheet the workbook opens on when it is visible, else the first
visible one. A hidden sheet (often an old copy) is read only when named. The frame
says which sheet it holds (``attrs['sheet']``), so every command can tell the user.

Cells keep their types (an integer stays an integer, text stays text, so ``007``
stored as text keeps its zeros); formulas give their saved results. A merged range
is read as its author sees it: every cell of it holds the range's value, and the
number of cells so filled is counted (``attrs['merged_cells']``), never imputed in
silence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.io.cells import settle_types
from uptake.io.names import check_unique_names


def choose_sheet(book: Any, sheet: str | None, path: Path) -> Any:
    """The worksheet to read (see the module docstring)."""
    names = [ws.title for ws in book.worksheets]
    if sheet is not None:
        if sheet not in names:
            raise UptakeInputError(f"{where(file=path)}: no sheet named {sheet!r} (sheets: {', '.join(names)})")
        return book[sheet]
    if "Data" in names:
        return book["Data"]
    visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    if not visible:
        raise UptakeInputError(f"{where(file=path)}: every sheet is hidden; name one with --sheet")
    active = book.active
    return active if active is not None and active.sheet_state == "visible" else visible[0]


def _fill_merged(ws: Any, rows: list[list[Any]]) -> int:
    """Give every cell of a merged range the range's value; the number of cells filled."""
    filled = 0
    for rng in ws.merged_cells.ranges:
        top = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(rows) else None
        for r in range(rng.min_row, min(rng.max_row, len(rows)) + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if (r, c) != (rng.min_row, rng.min_col) and c <= len(rows[r - 1]):
                    rows[r - 1][c - 1] = top
                    filled += 1
    return filled


def read_sheet(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """One sheet as a frame of typed cells (header in its first row); see the module docstring."""
    import openpyxl  # the Excel reader is needed only for workbooks

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged workbook
        text = str(exc).strip().splitlines()
        raise UptakeInputError(f"{where(file=path)}: cannot read the file: {text[0] if text else exc}") from None
    try:
        ws = choose_sheet(book, sheet, path)
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        merged = _fill_merged(ws, rows) if rows else 0
        hidden = [w.title for w in book.worksheets if w.sheet_state != "visible"]
        title = ws.title
    finally:
        book.close()
    if not rows:
        raise UptakeInputError(f"{where(file=path)}: sheet {title!r} is empty")
    header = ["" if v is None else str(v).strip() for v in rows[0]]
    while header and header[-1] == "":  # formatting can reach columns nobody filled in
        header.pop()
    width = len(header)
    check_unique_names([h for h in header if h], path)
    if "" in header:
        col = header.index("")
        raise UptakeInputError(f"{where(file=path)}: sheet {title!r}: column {col + 1} has no name in row 1")
    body = [(r + [None] * width)[:width] for r in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object)
    df = settle_types(df)
    df.attrs.update(sheet=title, merged_cells=merged, hidden_sheets=hidden, decimal=".")
    return df


__all__ = ["choose_sheet", "read_sheet"]
