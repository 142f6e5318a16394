"""The input schema: the single source of truth for a model's columns.

A schema is inferred once, from the training table, and stored inside the model.
Everything that later touches raw rows (the CLI's predict, the web form, the API's
request models, streaming and Dask scoring) validates against this one object, with
one policy (``uptake.schema.kinds.Policy``), so a column's kind, range and categories
are never re-guessed downstream and every path refuses the same cells in the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.schema.column import Column, RowError
from uptake.schema.flags import Flags
from uptake.schema.kinds import KINDS, MAX_CATEGORIES, Policy
from uptake.schema.values import is_missing, plain, row_numbers

DEFAULT_POLICY = Policy()


@dataclass
class Schema:
    """Columns, kinds, ranges and categories of the features; the target and its positive label."""

    columns: list[Column]
    target: str
    positive_label: str = "1"
    negative_label: str = "0"
    dropped: list[dict[str, str]] = field(default_factory=list)

    # ---- access -------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def by_kind(self, kind: str) -> list[str]:
        return [c.name for c in self.columns if c.kind == kind]

    def flag_records(self, rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
        """The flags of validated request rows (one list per row): each kind's ``unusual_value``, the same
        verdict and words :meth:`check` gives a file's cells, without building a frame (the API's hot path)."""
        checks = [(c.name, c, KINDS[c.kind]) for c in self.columns]
        out: list[list[str]] = []
        for row in rows:
            found = []
            for name, col, kind in checks:
                what = kind.unusual_value(col, row.get(name))
                if what is not None:
                    found.append(f"{name} {what}")
            out.append(found)
        return out

    # ---- JSON ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "positive_label": self.positive_label,
            "negative_label": self.negative_label,
            "columns": [c.to_dict() for c in self.columns],
            "dropped": list(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        columns = []
        for c in data["columns"]:
            c = dict(c)
            if c.get("kind") not in KINDS:
                raise ValueError(f"column {c.get('name')!r} has unknown kind {c.get('kind')!r}")
            if "rare" not in c and c["kind"] == "categorical" and len(c.get("categories") or []) >= MAX_CATEGORIES:
                # Release 0.1.0 kept only the 50 most frequent categories: others it saw are unknown to us.
                c["open"] = True
            columns.append(Column(**c))
        return cls(
            columns=columns,
            target=data["target"],
            positive_label=str(data.get("positive_label", "1")),
            negative_label=str(data.get("negative_label", "0")),
            dropped=list(data.get("dropped", [])),
        )

    # ---- validation -----------------------------------------------------------
    def check_columns(self, df: pd.DataFrame | list[str], source: object | None = None) -> None:
        """Fail at once, naming the first missing feature column: no row can be scored without it."""
        names = set(df.columns if isinstance(df, pd.DataFrame) else df)
        missing = [n for n in self.feature_names if n not in names]
        if missing:
            raise UptakeInputError(
                f"{where(file=source, column=missing[0])}: required feature column is missing"
                + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            )

    def validate(
        self,
        df: pd.DataFrame,
        source: object | None = None,
        row_offset: int | None = None,
        policy: Policy = DEFAULT_POLICY,
    ) -> tuple[pd.DataFrame, list[RowError]]:
        """Coerce raw rows to the trained types; return the clean feature frame and the refused cells
        (:meth:`check` also returns the flagged ones)."""
        checked = self.check(df, source, row_offset, policy)
        return checked.clean, checked.errors

    def check(
        self,
        df: pd.DataFrame,
        source: object | None = None,
        row_offset: int | None = None,
        policy: Policy = DEFAULT_POLICY,
    ) -> Checked:
        """Coerce raw rows to the trained types: the clean feature frame, the refused cells and the flagged ones.

        Missing values are allowed (the preprocessor imputes them, as in training).
        Each kind decides which cells are refused and which are flagged
        (``uptake.schema.kinds``), with the file's decimal mark (``df.attrs['decimal']``).
        Rows keep their index so a caller can drop the refused ones and still line
        results up with the input.
        """
        self.check_columns(df, source)
        rows = row_numbers(df, row_offset)
        decimal = str(df.attrs.get("decimal", "."))
        errors: list[RowError] = []
        flags = Flags(len(df))
        out: dict[str, pd.Series] = {}
        for col in self.columns:
            raw = df[col.name]
            values, bad, unusual = KINDS[col.kind].validate(col, raw, policy, decimal)
            seen: set[int] = set()
            for positions, reason in bad:
                for i in positions:
                    if int(i) not in seen:  # one reason per cell: the first that applies
                        seen.add(int(i))
                        errors.append(RowError(int(rows[int(i)]), col.name, plain(raw.iloc[int(i)]), reason))
            for positions, what in unusual:
                flags.add(col.name, what, positions)
            out[col.name] = values
        clean = pd.DataFrame(out, index=df.index)
        order = {n: j for j, n in enumerate(self.feature_names)}
        errors.sort(key=lambda e: (e.row, order[e.column]))
        return Checked(clean, errors, flags)


@dataclass
class Checked:
    """Rows as the schema reads them: the clean frame, the refused cells, the flagged ones."""

    clean: pd.DataFrame
    errors: list[RowError]
    flags: Flags


def check_not_empty(schema: Schema, counts: Mapping[str, int], rows: int, source: object) -> None:
    """Refuse a file in which a feature column holds no value at all (``counts``: filled cells per column).

    An Excel sheet whose cells are formulas without saved results reads as empty
    columns; imputing them would score every customer as typical, without a word.
    """
    if rows < 2:
        return
    empty = [n for n in schema.feature_names if counts.get(n, 0) == 0]
    if empty:
        raise UptakeInputError(
            f"{where(file=source, column=empty[0])}: the column is empty in all {rows:,} rows (an export of "
            "formulas without their saved values?); fill it in before scoring"
            + (f" (also empty: {', '.join(empty[1:])})" if len(empty) > 1 else "")
        )


def blank_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty: an export's leftovers (a line of separators, cells of one space),
    not customers."""
    blank = np.ones(len(df), dtype=bool)
    for name in df.columns:
        blank &= is_missing(df[name])
        if not blank.any():
            break
    return blank


def filled_counts(schema: Schema, df: pd.DataFrame) -> dict[str, int]:
    return {c.name: int((~is_missing(df[c.name])).sum()) for c in schema.columns if c.name in df.columns}


__all__ = ["DEFAULT_POLICY", "Checked", "Schema", "blank_rows", "check_not_empty", "filled_counts"]
