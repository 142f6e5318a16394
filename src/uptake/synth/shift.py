"""Drift on purpose: move one column of a synthetic table by a known amount, to test ``uptake monitor``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from uptake.errors import UptakeInputError
from uptake.synth.generator import FRAUD_COLUMNS, LOAN_COLUMNS

#: Columns that hold labels or identifiers, not customer traits: shifting them means nothing.
NOT_SHIFTABLE = {"ID", "ZIP Code", "Personal Loan", "Class", "Time"}


def parse_shifts(items: Sequence[str], kind: str) -> dict[str, tuple[str, float]]:
    """``["Income=20", "CCAvg=x1.5"]`` -> ``{"Income": ("+", 20.0), "CCAvg": ("x", 1.5)}``, checked."""
    columns = list(LOAN_COLUMNS if kind == "loan" else FRAUD_COLUMNS)
    out: dict[str, tuple[str, float]] = {}
    for item in items:
        name, sep, amount = str(item).partition("=")
        name, amount = name.strip(), amount.strip()
        if not sep or name not in columns or name in NOT_SHIFTABLE:
            shiftable = ", ".join(c for c in columns if c not in NOT_SHIFTABLE)
            raise UptakeInputError(
                f"--shift {item!r}: write COLUMN=AMOUNT or COLUMN=xFACTOR with COLUMN one of {shiftable}"
            )
        op = "x" if amount.lower().startswith("x") else "+"
        try:
            value = float(amount[1:] if op == "x" else amount)
        except ValueError:
            raise UptakeInputError(f"--shift {item!r}: {amount!r} is not a number") from None
        if not math.isfinite(value):
            raise UptakeInputError(f"--shift {item!r}: the amount must be a finite number")
        out[name] = (op, value)
    return out


def shifted(df: pd.DataFrame, shifts: dict[str, tuple[str, float]]) -> pd.DataFrame:
    """``df`` with each shift applied (integer columns stay integers, rounded)."""
    if not shifts:
        return df
    df = df.copy()
    for name, (op, value) in shifts.items():
        col = df[name].astype(float)
        col = col * value if op == "x" else col + value
        df[name] = col.round().astype(df[name].dtype) if pd.api.types.is_integer_dtype(df[name]) else col
    return df


__all__ = ["parse_shifts", "shifted"]
