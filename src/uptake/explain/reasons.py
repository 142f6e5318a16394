"""Why the model scores a customer the way it does, in the raw columns an analyst knows.

Per customer, the top reasons with direction. Where the family's library computes
exact contributions to the log-odds (TreeSHAP: LightGBM's ``pred_contrib``,
CatBoost's ``ShapValues``) those are used, summed over the inputs each raw column
became (one-hot categories, piecewise-linear bins); they add up, with the bias, to
the model's log-odds exactly. Other families are explained by occlusion: set one feature at a
time to a typical value (its kind's typical value: the training median, or the most
frequent category) and see how much the score moves. Moves are measured in
log-odds, not probability: a customer at 0.0001 whose income halves the odds has a
real reason too, which a probability difference of 0.00005 would hide. All rows x
features go through the pipeline in one batch, so a single customer costs one small
forward pass and a web request can afford it (on the compiled backend, when the
pipeline has one). Probabilities come from the one scoring pipeline, before its
calibrator (``ScoringPipeline.raw_proba``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from uptake.features import layout, typical_values
from uptake.pipeline import ScoringPipeline
from uptake.schema import KINDS
from uptake.schema.values import plain

#: Rows pushed through the model per batch in ``reasons`` (rows x features each).
REASON_BATCH_ROWS = 4096
#: Effects smaller than this (in log-odds; 0.01 is a 1% change in the odds) are not reasons.
MIN_EFFECT = 0.01
#: Probabilities are clipped this far from 0 and 1 before taking log-odds.
EPS = 1e-12


# ---- baselines -------------------------------------------------------------------------------
def baseline(model: ScoringPipeline) -> dict[str, Any]:
    """The typical value of each raw feature (its kind's ``typical``, from the fitted imputers where present)."""
    return typical_values(model.preprocessor, model.schema)


# ---- per-customer reasons ----------------------------------------------------------------------
def occlusion_effects(model: ScoringPipeline, clean: pd.DataFrame, fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(p, p_occluded)``: each row's probability, and per feature the probability with
    that feature set to its baseline (shape rows x features). Before calibration, if any.
    """
    names = model.schema.feature_names
    base = baseline(model)
    n, f = len(clean), len(names)
    p = np.zeros(n)
    occluded_p = np.zeros((n, f))
    for start in range(0, n, REASON_BATCH_ROWS):
        part = clean.iloc[start : start + REASON_BATCH_ROWS]
        m = len(part)
        blocks = [part]
        for name in names:
            occluded = part.copy()
            occluded[name] = pd.Series([base[name]] * m, index=part.index, dtype=part[name].dtype)
            blocks.append(occluded)
        probs = _raw(model, pd.concat(blocks, ignore_index=True), fast)
        p_part = probs[:m]
        p[start : start + m] = p_part
        occluded_p[start : start + m] = probs[m:].reshape(f, m).T
    return p, occluded_p


def _raw(model: ScoringPipeline, clean: pd.DataFrame, fast: bool) -> np.ndarray:
    """Probabilities before the calibrator: calibration is monotone, so it never changes a reason's
    direction, but an isotonic calibrator maps whole ranges of scores to one value (often exactly 0):
    measured after it, most customers would have no reasons at all."""
    if fast and model.fast is not None:
        return model.fast.raw_proba(clean.to_dict("records"))
    return model.raw_proba_clean(clean)


def exact_effects(model: ScoringPipeline, clean: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """``(p, effects)`` from the family's exact contributions (rows x raw features, log-odds), or None.

    ``p`` is the raw probability the contributions add up to (bias included).
    """
    x = model.features(clean)
    contrib = model.estimator.contributions(x)
    if contrib is None:
        return None
    contrib = np.asarray(contrib, dtype=np.float64)
    owners = [owner for owner, _ in layout(model.preprocessor, model.schema)]
    names = model.schema.feature_names
    index = {n: j for j, n in enumerate(names)}
    effects = np.zeros((len(clean), len(names)))
    for i, owner in enumerate(owners):
        effects[:, index[owner]] += contrib[:, i]
    z = contrib.sum(axis=1)
    return 1.0 / (1.0 + np.exp(-z)), effects


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def format_value(col: Any, value: Any) -> str:
    """How a raw value reads in a sentence: 180, 1.7, 'graduate' codes as they are."""
    return KINDS[col.kind].format(col, value)


def reasons(
    model: ScoringPipeline, clean_df: pd.DataFrame, k: int = 3, fast: bool = False
) -> list[list[dict[str, Any]]]:
    """The top ``k`` reasons behind each customer's score. Stable API (used by the web app).

    Args:
        model: a scoring pipeline (a loaded ``uptake.pipeline.Model``).
        clean_df: validated raw rows, i.e. the first output of ``model.schema.validate(df)``
            (invalid rows removed).
        k: reasons per customer.

    Returns:
        One list per row of ``clean_df`` (same order), each with at most ``k`` dicts,
        strongest first::

            {"feature": "Income", "value": 180.0, "effect": 2.9, "probability_change": 0.41,
             "direction": "raises", "text": "Income 180 raises the chance"}

        ``effect`` is the change in log-odds caused by the customer's own value: for
        tree families its exact TreeSHAP contribution (against the average customer),
        for the others the move against a typical value of that feature (its training
        median or most frequent category): +0.69 doubles the odds. ``probability_change`` is the same move in
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
    exact = exact_effects(model, clean_df)
    if exact is not None:
        p, effects = exact
        occluded = 1.0 / (1.0 + np.exp(-(log_odds(p)[:, None] - effects)))  # the score without that column's share
    else:
        p, occluded = occlusion_effects(model, clean_df, fast)
        effects = log_odds(p)[:, None] - log_odds(occluded)
    if model.calibrator is not None:  # report probability moves on the scale the user sees
        p, occluded = model.calibrate(p), model.calibrate(occluded.ravel()).reshape(occluded.shape)
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
            value = plain(values[i, j])
            row.append(
                {
                    "feature": names[j],
                    "value": value,
                    "effect": e,
                    "probability_change": float(dprob[i, j]),
                    "direction": direction,
                    "text": f"{names[j]} {format_value(cols[j], value)} {direction} the chance",
                }
            )
        out.append(row)
    return out


def reason_columns(rs: list[list[dict[str, Any]]], k: int = 3) -> dict[str, list[str]]:
    """``reasons`` output as ``reason_1..reason_k`` text columns ('' where there is none)."""
    return {f"reason_{i + 1}": [r[i]["text"] if i < len(r) else "" for r in rs] for i in range(k)}


def add_reason_columns(model: Any, df: pd.DataFrame, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """``frame`` (``ScoringPipeline.frame`` of ``df``) with ``reason_1..reason_k`` text columns added.

    The scored rows are re-validated from ``df`` (cheap next to the forward passes) so
    the reasons see exactly the values the model scored.
    """
    clean = model.validate(df.loc[frame.index], skip_invalid=True).clean
    out = frame.copy()
    for name, texts in reason_columns(reasons(model, clean, k), k).items():
        out[name] = texts
    return out


__all__ = [
    "add_reason_columns",
    "baseline",
    "exact_effects",
    "format_value",
    "log_odds",
    "occlusion_effects",
    "reason_columns",
    "reasons",
]
