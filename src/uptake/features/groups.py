"""Which raw columns move together, measured once at training for the per-customer reasons.

Numeric columns whose rank correlation on the training rows reaches
``GROUP_CORRELATION`` (Age and Experience at 0.99 on the bank table) form one group:
the reasons (``uptake.explain.shapley``) swap them in and out together and name them
together ("Age and Experience"), instead of building customers that cannot exist.
The background the reasons are measured against is ``BACKGROUND_ROWS`` rows, each
composed group by group from different training customers drawn with the seed: within
a group the values are one real customer's (so Age and Experience agree); across groups
they are drawn independently, which is the independence the interventional Shapley
value assumes anyway. No background row is a real customer, so the model card that
keeps them holds no customer's record (about 32 x columns values).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from uptake.schema import KINDS
from uptake.schema.values import plain

#: Rank correlation (absolute Spearman, on the training rows) from which numeric columns form one group.
GROUP_CORRELATION = 0.8
#: Background rows kept in the card.
BACKGROUND_ROWS = 32


def _numbers(series: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("int64").where(series.notna())
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    return None


def correlated_groups(schema: Any, clean: pd.DataFrame, min_correlation: float = GROUP_CORRELATION) -> list[list[str]]:
    """The model's features as groups: numeric columns joined when their |Spearman| reaches ``min_correlation``.

    Joining is transitive (single linkage), so a chain of strongly related columns is one group.
    Every other feature is a group of its own; the order follows the schema's features.
    """
    names = list(schema.feature_names)
    numeric = {}
    for name in names:
        if KINDS[schema.column(name).kind].profiled_as != "numeric":
            continue
        values = _numbers(clean[name])
        if values is not None and values.nunique(dropna=True) > 1:
            numeric[name] = values
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    if len(numeric) > 1:
        corr = pd.DataFrame(numeric).corr(method="spearman", min_periods=30).abs()
        cols = list(numeric)
        for i, a in enumerate(cols):
            for b in cols[i + 1 :]:
                if corr.loc[a, b] >= min_correlation:  # NaN compares False
                    parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    return list(groups.values())


def compose_background(
    clean: pd.DataFrame, groups: list[list[str]], rows: int = BACKGROUND_ROWS, seed: int = 0
) -> list[dict[str, Any]]:
    """``rows`` background rows as plain JSON values, each group's values from a different training row."""
    rng = np.random.default_rng(seed)
    n = len(clean)
    out: list[dict[str, Any]] = [{} for _ in range(min(rows, n))]
    for group in groups:
        picks = rng.choice(n, size=len(out), replace=n < len(out))
        block = clean[group].iloc[picks]
        for i, record in enumerate(block.to_dict("records")):
            out[i].update({k: (None if _missing(v) else plain(v)) for k, v in record.items()})
    return out


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def explanation(schema: Any, train_rows: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """What the model card keeps for the reasons: the groups, the threshold that made them, the background."""
    groups = correlated_groups(schema, train_rows)
    return {
        "method": "shapley",
        "group_correlation": GROUP_CORRELATION,
        "groups": groups,
        "background": compose_background(train_rows, groups, seed=seed),
    }


__all__ = ["BACKGROUND_ROWS", "GROUP_CORRELATION", "compose_background", "correlated_groups", "explanation"]
