"""Why the model scores a customer the way it does.

Everything works on *raw* columns (Income, Family, ...) as the analyst knows them,
never on the preprocessor's one-hot or piecewise-linear outputs, and every
probability comes from the model's one scoring path, ``uptake.predict.Model.proba``.

* ``reasons`` - per customer, the top reasons with direction, by occlusion: set one
  feature at a time to a typical value (the training median, or the most frequent
  category) and see how much the score moves. Moves are measured in log-odds, not
  probability: a customer at 0.0001 whose income halves the odds has a real reason
  too, which a probability difference of 0.00005 would hide. All rows x features go
  through the model in one batch, so a single customer costs one small forward pass
  and a web request can afford it.
* ``permutation_importance`` - global importance: how much PR-AUC drops when a
  column's values are shuffled (scikit-learn's ``permutation_importance``).
* ``shap_importance`` - mean |SHAP value| per column (a model-agnostic permutation
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

from uptake.schema import _plain

#: Rows pushed through the model per batch in ``reasons`` (rows x features each).
REASON_BATCH_ROWS = 4096
#: Effects smaller than this (in log-odds; 0.01 is a 1% change in the odds) are not reasons.
MIN_EFFECT = 0.01
#: Probabilities are clipped this far from 0 and 1 before taking log-odds.
EPS = 1e-12


# ---- baselines -------------------------------------------------------------------------------
def baseline(model: Any) -> dict[str, Any]:
    """The typical value of each raw feature, in the validated frame's types.

    Numbers and 0/1 flags take the schema's stored median (a flag's median rounded to
    0 or 1); categories take the most frequent training category, read from the fitted
    preprocessor's imputer (fitted on the training split), else the first category.
    """
    modes = _categorical_modes(model)
    out: dict[str, Any] = {}
    for col in model.schema.columns:
        if col.kind == "categorical":
            out[col.name] = modes.get(col.name) or (col.categories[0] if col.categories else None)
        elif col.kind == "binary":
            out[col.name] = float(round(col.median)) if col.median is not None else 0.0
        else:
            out[col.name] = float(col.median) if col.median is not None else 0.0
    return out


def _categorical_modes(model: Any) -> dict[str, Any]:
    """Most frequent training category per categorical column, from the preprocessor's imputer."""
    try:
        for name, step, cols in model.preprocessor.transformers_:
            if name != "categorical":
                continue
            imputer = step.named_steps["impute"]
            return {c: str(v) for c, v in zip(cols, imputer.statistics_)}
    except (AttributeError, KeyError):
        pass
    return {}


# ---- per-customer reasons ----------------------------------------------------------------------
def occlusion_effects(model: Any, clean: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(p, p_occluded)``: each row's probability, and per feature the probability with
    that feature set to its baseline (shape rows x features). Before calibration, if any.
    """
    names = model.schema.feature_names
    base = baseline(model)
    n, f = len(clean), len(names)
    p = np.zeros(n)
    occluded_p = np.zeros((n, f))
    for start in range(0, n, REASON_BATCH_ROWS):
        part = clean.iloc[start:start + REASON_BATCH_ROWS]
        m = len(part)
        blocks = [part]
        for name in names:
            occluded = part.copy()
            occluded[name] = pd.Series([base[name]] * m, index=part.index, dtype=part[name].dtype)
            blocks.append(occluded)
        probs = _uncalibrated_proba(model, pd.concat(blocks, ignore_index=True))
        p_part = probs[:m]
        p[start:start + m] = p_part
        occluded_p[start:start + m] = probs[m:].reshape(f, m).T
    return p, occluded_p


def _uncalibrated_proba(model: Any, clean: pd.DataFrame) -> np.ndarray:
    """``Model.proba`` without its last step, the calibrator, when the model has one.

    Calibration is monotone, so it never changes a reason's direction, but an isotonic
    calibrator maps whole ranges of scores to one value (often exactly 0): measured
    after it, most customers would have no reasons at all.
    """
    calibrator = getattr(model, "calibrator", None)
    if calibrator is None or len(clean) == 0:
        return model.proba(clean)
    return np.asarray(model.estimator.predict_proba(model.features(clean))[:, 1], dtype=np.float64)


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def format_value(col: Any, value: Any) -> str:
    """How a raw value reads in a sentence: 180, 1.7, 'graduate' codes as they are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if col.kind == "categorical":
        return str(value)
    v = float(value)
    if col.kind == "binary" or col.dtype == "int" or v.is_integer():
        return str(int(round(v)))
    return f"{v:.3g}"


def reasons(model: Any, clean_df: pd.DataFrame, k: int = 3) -> list[list[dict[str, Any]]]:
    """The top ``k`` reasons behind each customer's score. Stable API (used by the web app).

    Args:
        model: a loaded ``uptake.predict.Model``.
        clean_df: validated raw rows, i.e. the first output of ``model.schema.validate(df)``
            (invalid rows removed).
        k: reasons per customer.

    Returns:
        One list per row of ``clean_df`` (same order), each with at most ``k`` dicts,
        strongest first::

            {"feature": "Income", "value": 180.0, "effect": 2.9, "probability_change": 0.41,
             "direction": "raises", "text": "Income 180 raises the chance"}

        ``effect`` is the change in log-odds caused by the customer's own value against
        a typical value of that feature (its training median or most frequent
        category): +0.69 doubles the odds. ``probability_change`` is the same move in
        probability. ``direction`` is ``raises`` or ``lowers``. Effects below 0.01
        are left out, so a customer who looks typical in every respect (or a value
        equal to the typical one) may get fewer than ``k`` reasons.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if len(clean_df) == 0:
        return []
    names = model.schema.feature_names
    cols = [model.schema.column(n) for n in names]
    p, occluded = occlusion_effects(model, clean_df)
    effects = log_odds(p)[:, None] - log_odds(occluded)
    calibrator = getattr(model, "calibrator", None)
    if calibrator is not None:  # report probability moves on the scale the user sees
        p, occluded = calibrator(p), calibrator(occluded.ravel()).reshape(occluded.shape)
    dprob = p[:, None] - occluded
    top = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :k]
    values = clean_df[names].to_numpy(dtype=object)
    out: list[list[dict[str, Any]]] = []
    for i in range(len(clean_df)):
        row: list[dict[str, Any]] = []
        for j in top[i]:
            e = float(effects[i, j])
            if abs(e) < MIN_EFFECT:
                continue
            direction = "raises" if e > 0 else "lowers"
            value = _plain(values[i, j])
            row.append({
                "feature": names[j],
                "value": value,
                "effect": e,
                "probability_change": float(dprob[i, j]),
                "direction": direction,
                "text": f"{names[j]} {format_value(cols[j], value)} {direction} the chance",
            })
        out.append(row)
    return out


def reason_columns(rs: list[list[dict[str, Any]]], k: int = 3) -> dict[str, list[str]]:
    """``reasons`` output as ``reason_1..reason_k`` text columns ('' where there is none)."""
    return {f"reason_{i + 1}": [r[i]["text"] if i < len(r) else "" for r in rs] for i in range(k)}


# ---- global importance ----------------------------------------------------------------------
class RawColumnClassifier(ClassifierMixin, BaseEstimator):
    """A fitted-looking scikit-learn classifier over raw validated columns.

    It lets scikit-learn's model-agnostic tools (permutation importance) shuffle the
    columns an analyst knows while the probabilities still come from ``Model.proba``.
    """

    def __init__(self, model: Any = None) -> None:
        self.model = model

    def fit(self, X: Any, y: Any = None) -> RawColumnClassifier:  # noqa: N803 - sklearn's name
        return self

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        p = self.model.proba(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return (self.model.proba(X) >= self.model.threshold).astype(int)


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
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    y = np.asarray(y).astype(int)
    if len(clean) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(clean), max_rows, replace=False))
        clean, y = clean.iloc[pick], y[pick]
    result = sk_permutation_importance(
        RawColumnClassifier(model), clean, y, scoring="average_precision", n_repeats=n_repeats, random_state=seed,
    )
    table = pd.DataFrame({
        "feature": list(clean.columns),
        "importance": result.importances_mean,
        "std": result.importances_std,
    }).sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return Importance("permutation (drop in PR-AUC)", table, f"{len(clean):,} rows, {n_repeats} shuffles per column")


def shap_importance(
    model: Any, clean: pd.DataFrame, n_background: int = 50, n_rows: int = 100, seed: int = 0
) -> Importance | None:
    """Mean |SHAP value| per raw column, or ``None`` when SHAP is missing or fails.

    Categorical columns are handed to SHAP as integer codes (its maskers want numbers)
    and decoded back to text before ``Model.proba``.
    """
    try:
        import shap
    except Exception:  # noqa: BLE001 - an optional extra
        return None
    try:
        names = list(clean.columns)
        codes = {c.name: c.categories for c in model.schema.columns if c.kind == "categorical"}
        encoded = _encode(clean, codes)
        rng = np.random.default_rng(seed)
        bg = encoded[rng.choice(len(encoded), min(n_background, len(encoded)), replace=False)]
        rows = encoded[rng.choice(len(encoded), min(n_rows, len(encoded)), replace=False)]

        def f(x: np.ndarray) -> np.ndarray:
            return model.proba(_decode(x, names, codes, clean))

        explainer = shap.PermutationExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)), seed=seed)
        values = np.asarray(explainer(rows, silent=True).values)
        mean_abs = np.abs(values).mean(axis=0)
        table = pd.DataFrame({"feature": names, "importance": mean_abs, "std": np.abs(values).std(axis=0)})
        table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
        return Importance("SHAP (mean |effect| on probability)", table,
                          f"{len(rows)} customers against a background of {len(bg)}")
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


def add_reason_columns(model: Any, df: pd.DataFrame, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """``frame`` (a ``scored_frame`` of ``df``) with ``reason_1..reason_k`` text columns added.

    The scored rows are re-validated from ``df`` (cheap next to the forward passes) so
    the reasons see exactly the values the model scored.
    """
    clean, _ = model.schema.validate(df.loc[frame.index])
    out = frame.copy()
    for name, texts in reason_columns(reasons(model, clean, k), k).items():
        out[name] = texts
    return out
