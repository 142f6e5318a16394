"""Inferring a schema from the training table: which columns are features, and of what kind.

ID-like columns (one distinct value per row), ZIP/postal codes, empty and constant
columns and dates are not features, and are reported as dropped with the reason.
A numeric column with a stray word in it is refused naming the cell, as is an
infinite number: training never imputes a value it could not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.schema.column import Column
from uptake.schema.kinds import KINDS, Inferred
from uptake.schema.table import Schema
from uptake.schema.values import is_missing, is_text, plain, row_numbers, to_number

#: Integer columns with this many distinct values or fewer (and at least three) are
#: treated as codes, like the bank table's Education (1/2/3), not as quantities.
MAX_CODE_CARDINALITY = 10
#: A text column whose filled cells are at least this share numbers is a numeric column with typos.
MOSTLY_NUMERIC = 0.9

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


def infer_schema(
    df: pd.DataFrame,
    target: str,
    drop: Iterable[str] = (),
    kinds: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    source: object | None = None,
) -> Schema:
    """Decide each column's kind from the training table, and which columns are not features.

    ``kinds`` overrides the guess per column, e.g. ``{"Family": "numeric"}``.
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
        reason = auto_drop_reason(str(name), raw, forced=name in kinds)
        if reason:
            dropped.append({"column": str(name), "reason": reason})
            continue
        columns.append(infer_column(str(name), raw, kinds.get(name), descriptions.get(name, ""), source, offset))
    if not columns:
        raise UptakeInputError(
            f"{where(file=source)}: no feature columns left after dropping {sorted(d['column'] for d in dropped)}"
        )
    return Schema(columns=columns, target=target, dropped=dropped)


def auto_drop_reason(name: str, raw: pd.Series, forced: bool = False) -> str | None:
    """Why a column is not a feature, or None. ``forced``: the user named its kind, so only emptiness counts."""
    present = ~is_missing(raw)
    if not present.any():
        return "empty: no value in any row"
    if forced:
        return None
    if pd.api.types.is_datetime64_any_dtype(raw) or isinstance(raw.dtype, pd.PeriodDtype):
        return "dates are not features (derive a number from them, e.g. days since)"
    if ZIP_PATTERN.search(name):
        return "ZIP/postal code"
    n = len(raw)
    if n >= 20 and present.all():
        integral = pd.api.types.is_integer_dtype(raw) or is_text(raw)
        if integral and raw.nunique(dropna=True) == n:
            return "ID-like: one distinct value per row"
    if raw[present].nunique(dropna=True) <= 1:
        return "constant: a single value in every row"
    return None


def mostly_numeric(raw: pd.Series) -> bool:
    present = ~is_missing(raw)
    if not present.any():
        return False
    parsed = to_number(raw, str(raw.attrs.get("decimal", "."))).notna().to_numpy()
    return parsed[present].mean() >= MOSTLY_NUMERIC


def infer_column(
    name: str, raw: pd.Series, kind: str | None, description: str, source: object | None, offset: int
) -> Column:
    missing = is_missing(raw)
    text = is_text(raw)
    decimal = str(raw.attrs.get("decimal", "."))
    values = to_number(raw, decimal) if not text or mostly_numeric(raw) else None
    rows = row_numbers(raw, None if "source" in raw.attrs else offset)
    if values is not None:
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        if text and kind != "categorical":
            # A numeric column with a stray word in it: name the first offending cell.
            bad = np.flatnonzero(np.isnan(arr) & ~missing)
            if len(bad):
                i = int(bad[0])
                raise UptakeInputError(
                    f"{where(file=source, column=name, row=int(rows[i]), value=plain(raw.iloc[i]))}: "
                    "text in a numeric column"
                )
        inf = np.flatnonzero(np.isinf(arr))
        if len(inf):
            i = int(inf[0])
            raise UptakeInputError(
                f"{where(file=source, column=name, row=int(rows[i]), value=plain(raw.iloc[i]))}: not a finite number"
            )
    if kind is None:
        kind = guess_kind(values)
    if kind != "categorical" and values is None:
        raise UptakeInputError(f"{where(file=source, column=name)}: --kind {kind} needs numbers, the column holds text")
    return KINDS[kind].infer(Inferred(name, raw, values, text, int(missing.sum()), description), source)


def guess_kind(values: pd.Series | None) -> str:
    if values is None:
        return "categorical"
    distinct = values.dropna().unique()
    if len(distinct) <= 2 and set(distinct.tolist()) <= {0.0, 1.0}:
        return "binary"
    integral = len(distinct) > 0 and bool(np.all(np.equal(np.mod(distinct, 1), 0)))
    if integral and 3 <= len(distinct) <= MAX_CODE_CARDINALITY and float(np.min(distinct)) >= 0:
        return "categorical"
    return "numeric"


__all__ = [
    "KNOWN_DESCRIPTIONS",
    "MAX_CODE_CARDINALITY",
    "ZIP_PATTERN",
    "auto_drop_reason",
    "guess_kind",
    "infer_column",
    "infer_schema",
]
