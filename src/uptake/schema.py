"""The input schema: the single source of truth for a model's columns.

A schema is inferred once, from the training table, and stored inside the model.
Everything that later touches raw rows (the CLI's predict, the web form, the API's
request models, streaming and Dask scoring) validates against this one object, so
a column's kind, range and categories are never re-guessed downstream.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where

Kind = Literal["numeric", "binary", "categorical"]
KINDS: tuple[str, ...] = ("numeric", "binary", "categorical")

#: Integer columns with this many distinct values or fewer (and at least three) are
#: treated as codes, like the bank table's Education (1/2/3), not as quantities.
MAX_CODE_CARDINALITY = 10
#: Text columns with more distinct values than this keep only the most frequent ones.
MAX_CATEGORIES = 50

ZIP_PATTERN = re.compile(r"(^|[^a-z])(zip|postal|postcode|post_code|plz)([^a-z]|$)|zipcode", re.I)

#: Help texts for the bank table's columns, from its workbook's Description sheet.
#: Used by the web form and the report when a table brings no descriptions of its own.
KNOWN_DESCRIPTIONS: dict[str, str] = {
    "ID": "Customer ID",
    "Age": "Customer's age in completed years",
    "Experience": "Years of professional experience",
    "Income": "Annual income of the customer ($000)",
    "ZIP Code": "Home address ZIP code",
    "Family": "Family size of the customer",
    "CCAvg": "Average monthly credit-card spending ($000)",
    "Education": "Education level: 1 undergraduate, 2 graduate, 3 advanced/professional",
    "Mortgage": "Value of house mortgage, if any ($000)",
    "Personal Loan": "Did this customer accept the personal loan offered in the last campaign?",
    "Securities Account": "Does the customer have a securities account with the bank?",
    "CD Account": "Does the customer have a certificate of deposit (CD) account with the bank?",
    "Online": "Does the customer use internet banking facilities?",
    "CreditCard": "Does the customer use a credit card issued by the bank?",
}


@dataclass
class Column:
    """One feature column as seen in training."""

    name: str
    kind: Kind
    dtype: Literal["int", "float", "str"]
    min: float | None = None
    max: float | None = None
    categories: list[str] = field(default_factory=list)
    missing: int = 0
    median: float | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RowError:
    """One invalid cell: enough to find it in the user's file."""

    row: int
    column: str
    value: Any
    reason: str

    def message(self, file: object | None = None) -> str:
        return f"{where(file=file, column=self.column, row=self.row, value=self.value)}: {self.reason}"


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
        return cls(
            columns=[Column(**c) for c in data["columns"]],
            target=data["target"],
            positive_label=str(data.get("positive_label", "1")),
            negative_label=str(data.get("negative_label", "0")),
            dropped=list(data.get("dropped", [])),
        )

    # ---- validation -----------------------------------------------------------
    def check_columns(self, df: pd.DataFrame, source: object | None = None) -> None:
        """Fail at once, naming the first missing feature column: no row can be scored without it."""
        missing = [n for n in self.feature_names if n not in df.columns]
        if missing:
            raise UptakeInputError(
                f"{where(file=source, column=missing[0])}: required feature column is missing"
                + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            )

    def validate(
        self, df: pd.DataFrame, source: object | None = None, row_offset: int | None = None
    ) -> tuple[pd.DataFrame, list[RowError]]:
        """Coerce raw rows to the trained types; return the clean feature frame and the bad cells.

        Missing values are allowed (the preprocessor imputes them, as in training).
        A value that cannot be read as the column's type, or a 0/1 flag holding
        something else, makes its row invalid. Rows keep their index so a caller can
        drop the invalid ones and still line results up with the input.
        """
        self.check_columns(df, source)
        offset = row_offset if row_offset is not None else int(df.attrs.get("row_offset", 1))
        errors: list[RowError] = []
        out: dict[str, pd.Series] = {}
        positions = np.arange(len(df))
        for col in self.columns:
            raw = df[col.name]
            if col.kind == "categorical":
                out[col.name] = _as_category_text(raw)
                continue
            values = _to_number(raw)
            bad = values.isna().to_numpy() & ~_is_missing(raw)
            if col.kind == "binary":
                not_flag = values.notna().to_numpy() & ~values.isin([0.0, 1.0]).to_numpy()
                for i in positions[not_flag & ~bad]:
                    errors.append(RowError(int(i) + offset, col.name, _plain(raw.iloc[i]), "expected 0 or 1"))
            else:
                inf = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
                for i in positions[inf]:
                    errors.append(RowError(int(i) + offset, col.name, _plain(raw.iloc[i]), "not a finite number"))
            for i in positions[bad]:
                errors.append(RowError(int(i) + offset, col.name, _plain(raw.iloc[i]), "not a number"))
            out[col.name] = values
        clean = pd.DataFrame(out, index=df.index)
        errors.sort(key=lambda e: (e.row, self.feature_names.index(e.column)))
        return clean, errors


# ---- inference ------------------------------------------------------------------
def infer_schema(
    df: pd.DataFrame,
    target: str,
    drop: Iterable[str] = (),
    kinds: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    source: object | None = None,
) -> Schema:
    """Decide each column's kind from the training table, and which columns are not features.

    ID-like columns (one distinct value per row) and ZIP/postal codes are dropped:
    a network would memorise them, and they say nothing about a new customer.
    ``kinds`` overrides the guess per column, e.g. ``{"Family": "categorical"}``.
    """
    kinds = dict(kinds or {})
    for name, kind in kinds.items():
        if kind not in KINDS:
            raise UptakeInputError(f"kind {kind!r} for column '{name}' is not one of {', '.join(KINDS)}")
        if name not in df.columns:
            raise UptakeInputError(f"{where(file=source, column=name)}: --kind names a column the table does not have")
    descriptions = {**KNOWN_DESCRIPTIONS, **dict(descriptions or {})}
    dropped: list[dict[str, str]] = []
    for name in drop:
        if name not in df.columns:
            raise UptakeInputError(f"{where(file=source, column=name)}: --drop names a column the table does not have")
        if name == target:
            raise UptakeInputError(f"{where(file=source, column=name)}: cannot drop the target column")
        dropped.append({"column": name, "reason": "dropped on request"})
    dropped_names = {d["column"] for d in dropped}
    columns: list[Column] = []
    offset = int(df.attrs.get("row_offset", 1))
    for name in df.columns:
        if name == target or name in dropped_names:
            continue
        raw = df[name]
        if name not in kinds:
            reason = _auto_drop_reason(str(name), raw)
            if reason:
                dropped.append({"column": str(name), "reason": reason})
                continue
        columns.append(_infer_column(str(name), raw, kinds.get(name), descriptions.get(name, ""), source, offset))
    if not columns:
        raise UptakeInputError(f"{where(file=source)}: no feature columns left after dropping {sorted(dropped_names)}")
    return Schema(columns=columns, target=target, dropped=dropped)


def _auto_drop_reason(name: str, raw: pd.Series) -> str | None:
    if ZIP_PATTERN.search(name):
        return "ZIP/postal code"
    n = len(raw)
    if n >= 20 and raw.notna().all():
        integral = pd.api.types.is_integer_dtype(raw) or _is_text(raw)
        if integral and raw.nunique(dropna=True) == n:
            return "ID-like: one distinct value per row"
    if raw.nunique(dropna=True) <= 1:
        return "constant: a single value in every row"
    return None


def _infer_column(
    name: str, raw: pd.Series, kind: str | None, description: str, source: object | None, offset: int
) -> Column:
    missing = int(_is_missing(raw).sum())
    text = _is_text(raw)
    values = _to_number(raw) if not text or _mostly_numeric(raw) else None
    if text and values is not None and kind != "categorical":
        # A numeric column with a stray word in it: name the first offending cell.
        bad = values.isna().to_numpy() & ~_is_missing(raw)
        i = int(np.flatnonzero(bad)[0])
        raise UptakeInputError(
            f"{where(file=source, column=name, row=i + offset, value=_plain(raw.iloc[i]))}: text in a numeric column"
        )
    if kind is None:
        kind = _guess_kind(raw, values)
    if kind == "categorical":
        cats = _as_category_text(raw).dropna()
        counts = cats.value_counts()
        categories = sorted(counts.index[:MAX_CATEGORIES].tolist(), key=_natural_key)
        return Column(name, "categorical", "str" if text else "int", categories=categories, missing=missing,
                      description=description)
    assert values is not None
    if kind == "binary":
        distinct = set(values.dropna().unique().tolist())
        if not distinct <= {0.0, 1.0}:
            raise UptakeInputError(f"{where(file=source, column=name)}: binary column must hold 0/1, found {sorted(distinct)[:5]}")
    finite = values.dropna()
    is_int = bool(len(finite)) and bool(np.all(np.equal(np.mod(finite.to_numpy(), 1), 0)))
    return Column(
        name,
        kind,  # type: ignore[arg-type]
        "int" if is_int else "float",
        min=_f(finite.min()) if len(finite) else None,
        max=_f(finite.max()) if len(finite) else None,
        categories=["0", "1"] if kind == "binary" else [],
        missing=missing,
        median=_f(finite.median()) if len(finite) else None,
        description=description,
    )


def _guess_kind(raw: pd.Series, values: pd.Series | None) -> str:
    if values is None:
        return "categorical"
    distinct = values.dropna().unique()
    if len(distinct) <= 2 and set(distinct.tolist()) <= {0.0, 1.0}:
        return "binary"
    integral = len(distinct) > 0 and bool(np.all(np.equal(np.mod(distinct, 1), 0)))
    if integral and 3 <= len(distinct) <= MAX_CODE_CARDINALITY and float(np.min(distinct)) >= 0:
        return "categorical"
    return "numeric"


# ---- small helpers ----------------------------------------------------------------
def _is_text(raw: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(raw) or raw.dtype == object


def _is_missing(raw: pd.Series) -> np.ndarray:
    miss = raw.isna().to_numpy()
    if _is_text(raw):
        miss = miss | raw.astype("string").str.strip().fillna("").eq("").to_numpy()
    return miss


def _to_number(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    text = raw.astype("string").str.strip()
    return pd.to_numeric(text.replace("", pd.NA), errors="coerce").astype(float)


def _mostly_numeric(raw: pd.Series) -> bool:
    present = ~_is_missing(raw)
    if not present.any():
        return False
    parsed = _to_number(raw).notna().to_numpy()
    return parsed[present].mean() >= 0.9


def _as_category_text(raw: pd.Series) -> pd.Series:
    """Categories are compared as text so that 2, 2.0 and '2' are one category."""
    if pd.api.types.is_numeric_dtype(raw):
        # Format each distinct value once: a per-row map cost ~4 s per million rows when scoring.
        codes, uniques = pd.factorize(raw.astype(float))
        labels = [str(int(v)) if float(v).is_integer() else str(v) for v in uniques] + [np.nan]
        return pd.Series(np.asarray(labels, dtype=object)[codes], index=raw.index, name=raw.name, dtype=object)
    text = raw.astype("string").str.strip()
    text = text.where(text.fillna("") != "", None)
    # NaN, not None: scikit-learn's imputers treat only NaN as missing in object columns.
    return text.astype(object).where(text.notna(), np.nan)


def _natural_key(v: str) -> tuple[int, float, str]:
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _f(v: Any) -> float:
    return float(v)
