"""Shapley contributions of groups of raw columns, for models without exact ones.

A customer's score is shared out among their columns by the Shapley value of the
model's log-odds against a background of training customers (the "interventional"
Shapley value that shap's Permutation explainer estimates): the contributions add up
to the customer's log-odds minus the background's average log-odds. It replaces
one-column occlusion, which set one column to its median while the others stayed,
and so built customers that cannot exist (age 45 with 39 years of experience) and
reported the model's answer there as a reason.

Two things keep the estimate faithful to the data, both measured at training and kept
in the model card (``uptake.features.groups``): strongly correlated columns are one
player, swapped in and out together and named together ("Age and Experience"); and
the background rows are composed so that a group's values always come from one
training customer.

The estimate walks ``PERMUTATIONS`` fixed orders of the groups (each with its reverse,
an antithetic pair that halves the variance), each against one background row, so a
customer costs ``PERMUTATIONS x (groups + 1)`` rows through the scoring pipeline
(about 400 rows on the bank table: one small batch, a few milliseconds on the compiled
path, which is what a web request pays). The orders and background rows are fixed by
the model, so a customer gets the same reasons on every path and every run. Models
saved before the card kept a background are explained against one typical customer
(the training medians and most frequent categories) with every column its own group.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

#: Orders of the groups walked per customer (half of them the reverses of the other half), one per
#: background row of the card (``uptake.features.groups.BACKGROUND_ROWS``).
PERMUTATIONS = 32
#: Rows pushed through the model per batch.
BATCH_ROWS = 65536
EPS = 1e-12


def orders(n_groups: int, permutations: int = PERMUTATIONS, seed: int = 0) -> np.ndarray:
    """``permutations`` orders of the groups (shape permutations x groups), each second one reversed."""
    rng = np.random.default_rng(seed)
    half = [rng.permutation(n_groups) for _ in range((permutations + 1) // 2)]
    out = [o for h in half for o in (h, h[::-1])]
    return np.asarray(out[:permutations], dtype=np.int64).reshape(-1, n_groups)


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def _as_frame(background: list[dict[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
    bg = pd.DataFrame(background, columns=list(like.columns))
    for c in like.columns:
        with contextlib.suppress(TypeError, ValueError):
            bg[c] = bg[c].astype(like[c].dtype)
    return bg


def _typed(values: np.ndarray, dtype: Any) -> pd.Series:
    try:
        return pd.Series(values).astype(dtype)
    except (TypeError, ValueError):
        return pd.Series(values)


def shapley_effects(
    predict: Callable[[pd.DataFrame], np.ndarray],
    clean: pd.DataFrame,
    groups: list[list[str]],
    background: list[dict[str, Any]],
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(log-odds, effects)``: each row's log-odds, and each group's Shapley contribution (rows x groups).

    ``predict`` maps validated raw rows to probabilities before calibration. Each order is
    paired with one background row (order ``s`` with row ``s`` modulo their number).
    """
    n, g = len(clean), len(groups)
    perms = orders(g, permutations, seed)
    s = len(perms)
    bg = _as_frame(background, clean)
    pick = np.arange(s) % len(bg)
    # from_x[s, t, j]: in step t of order s, group j already carries the customer's value
    rank = np.empty_like(perms)
    rank[np.arange(s)[:, None], perms] = np.arange(g)[None, :]
    from_x = rank[:, None, :] < np.arange(g + 1)[None, :, None]  # (s, g+1, g)
    column_group = {c: j for j, group in enumerate(groups) for c in group}
    columns = list(clean.columns)
    per_row = s * (g + 1)
    step = max(1, BATCH_ROWS // per_row)
    z = np.zeros(n)
    effects = np.zeros((n, g))
    for start in range(0, n, step):
        part = clean.iloc[start : start + step]
        m = len(part)
        data: dict[str, Any] = {}
        for c in columns:
            x = part[c].to_numpy(dtype=object)
            b = bg[c].to_numpy(dtype=object)[pick]
            j = column_group.get(c)
            mask = from_x[:, :, j] if j is not None else np.ones((s, g + 1), dtype=bool)
            vals = np.where(mask[None, :, :], x[:, None, None], b[None, :, None])
            data[c] = _typed(vals.reshape(-1), part[c].dtype)
        hybrid = pd.DataFrame(data)
        lo = log_odds(predict(hybrid)).reshape(m, s, g + 1)
        steps = np.diff(lo, axis=2)  # (m, s, g): the move of adding the group at that step
        gained = np.zeros((m, s, g))
        gained[:, np.arange(s)[:, None], perms] = steps
        effects[start : start + m] = gained.mean(axis=1)
        z[start : start + m] = lo[:, 0, -1]
    return z, effects


__all__ = [
    "PERMUTATIONS",
    "log_odds",
    "orders",
    "shapley_effects",
]
