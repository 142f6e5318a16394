"""Global importance of each raw column: permutation importance, and SHAP when asked for.

* ``permutation_importance``: how much PR-AUC drops when a column's values are
  shuffled (scikit-learn's ``permutation_importance``), through the scoring pipeline.
* ``shap_importance``: mean |SHAP value| per column (a model-agnostic permutation
  explainer on a small background sample), guarded: explanations are a bonus, and a
  SHAP failure must never stop a report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.inspection import permutation_importance as sk_permutation_importance

from uptake.decide.decision import decide
from uptake.schema import KINDS


class RawColumnClassifier(ClassifierMixin, BaseEstimator):
    """A fitted-looking scikit-learn classifier over raw validated columns.

    It lets scikit-learn's model-agnostic tools (permutation importance) shuffle the
    columns an analyst knows while the probabilities still come from the scoring pipeline.
    """

    def __init__(self, model: Any = None) -> None:
        self.model = model

    def fit(self, X: Any, y: Any = None) -> RawColumnClassifier:
        return self

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.model.proba_clean(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return decide(self.model.proba_clean(X), self.model.threshold).astype(int)


@dataclass
class Importance:
    """Global importance of each raw feature, largest first."""

    method: str
    table: pd.DataFrame  # feature, importance, std
    note: str = ""


def permutation_importance(
    model: Any, clean: pd.DataFrame, y: np.ndarray, n_repeats: int = 5, seed: int = 0, max_rows: int = 2000
) -> Importance:
    """PR-AUC lost when each raw column is shuffled (a labelled table is needed).

    Rows beyond ``max_rows`` are sampled (stratified by nothing: a random subset) to
    keep a report quick; the ranking of features is stable well before that.
    """
    y = np.asarray(y).astype(int)
    if len(clean) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(clean), max_rows, replace=False))
        clean, y = clean.iloc[pick], y[pick]
    result = sk_permutation_importance(
        RawColumnClassifier(model),
        clean,
        y,
        scoring="average_precision",
        n_repeats=n_repeats,
        random_state=seed,
    )
    table = (
        pd.DataFrame(
            {
                "feature": list(clean.columns),
                "importance": result.importances_mean,
                "std": result.importances_std,
            }
        )
        .sort_values("importance", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    return Importance("permutation (drop in PR-AUC)", table, f"{len(clean):,} rows, {n_repeats} shuffles per column")


def shap_importance(
    model: Any, clean: pd.DataFrame, n_background: int = 50, n_rows: int = 100, seed: int = 0
) -> Importance | None:
    """Mean |SHAP value| per raw column, or ``None`` when SHAP is missing or fails.

    Categorical columns are handed to SHAP as integer codes (its maskers want numbers)
    and decoded back to text before ``Model.proba``.
    """
    try:
        import shap  # optional (the explain extra), and slow to import: only when asked for
    except Exception:  # noqa: BLE001 - an optional extra
        return None
    try:
        names = list(clean.columns)
        codes = {c.name: c.categories for c in model.schema.columns if KINDS[c.kind].categorical}
        encoded = _encode(clean, codes)
        rng = np.random.default_rng(seed)
        bg = encoded[rng.choice(len(encoded), min(n_background, len(encoded)), replace=False)]
        rows = encoded[rng.choice(len(encoded), min(n_rows, len(encoded)), replace=False)]

        def f(x: np.ndarray) -> np.ndarray:
            return model.proba_clean(_decode(x, names, codes, clean))

        explainer = shap.PermutationExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)), seed=seed)
        values = np.asarray(explainer(rows, silent=True).values)
        mean_abs = np.abs(values).mean(axis=0)
        table = pd.DataFrame({"feature": names, "importance": mean_abs, "std": np.abs(values).std(axis=0)})
        table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
        return Importance(
            "SHAP (mean |effect| on probability)", table, f"{len(rows)} customers against a background of {len(bg)}"
        )
    except Exception:  # noqa: BLE001 - SHAP is a bonus; the report must still build
        return None


def _encode(clean: pd.DataFrame, codes: dict[str, list[str]]) -> np.ndarray:
    cols = []
    for name in clean.columns:
        if name in codes:
            lookup = {c: i for i, c in enumerate(codes[name])}
            cols.append(clean[name].map(lambda v, lk=lookup: lk.get(v, np.nan)).to_numpy(dtype=float))
        else:
            cols.append(clean[name].to_numpy(dtype=float))
    return np.column_stack(cols)


def _decode(x: np.ndarray, names: list[str], codes: dict[str, list[str]], like: pd.DataFrame) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for j, name in enumerate(names):
        if name in codes:
            cats = codes[name]
            data[name] = pd.Series(
                [cats[int(v)] if not math.isnan(v) and 0 <= int(v) < len(cats) else None for v in x[:, j]], dtype=object
            )
        else:
            data[name] = pd.Series(x[:, j], dtype=like[name].dtype)
    return pd.DataFrame(data)


__all__ = ["Importance", "RawColumnClassifier", "permutation_importance", "shap_importance"]
