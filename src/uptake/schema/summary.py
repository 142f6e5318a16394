"""What an analyst should know about a training table before trusting a model trained on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from uptake.schema.table import Schema
from uptake.schema.values import to_number


@dataclass
class DataSummary:
    """What an analyst should know about the table before trusting a model trained on it."""

    rows: int
    positives: int
    positive_share: float
    dropped: list[dict[str, str]]
    missing: dict[str, int]
    suspicious: list[str] = field(default_factory=list)
    #: rows whose every cell was empty (an export's leftovers): left out
    blank_rows: int = 0
    #: rows whose features repeat an earlier row's (kept, on one side of every split)
    duplicate_rows: int = 0
    #: what the table may mean that a reader must know (``uptake.train.sanity``): target proxies, few positives
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "positive_share": self.positive_share,
            "dropped": self.dropped,
            "missing": self.missing,
            "suspicious": self.suspicious,
            "blank_rows": self.blank_rows,
            "duplicate_rows": self.duplicate_rows,
            "warnings": self.warnings,
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
            vals = to_number(df[col.name], str(df.attrs.get("decimal", ".")))
            n_neg = int((vals < 0).sum())
            suspicious.append(f"{col.name}: {n_neg} negative values (min {col.min:g}); kept as they are")
    return DataSummary(
        rows=len(y),
        positives=int(y.sum()),
        positive_share=float(y.mean()),
        dropped=list(schema.dropped),
        missing=missing,
        suspicious=suspicious,
    )


__all__ = ["DataSummary", "summarize"]
