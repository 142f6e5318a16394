"""Why the model scores a customer the way it does, in the raw columns an analyst knows.

Per customer, the top reasons with direction. Where the family's library computes
exact contributions (TreeSHAP: LightGBM's ``pred_contrib``,
CatBoost's ``ShapValues``; a logistic regression's coefficients) those are used,
summed over the inputs each raw column became (one-hot categories, piecewise-linear
bins); they add up, with the bias, to the model's log-odds exactly. The other
families (networks, forests, ensembles, ``auto``) are explained by a Shapley estimate
against a background of training customers (``uptake.explain.shapley``), never by
moving one column while the others stay. Columns that move together in the training
rows (``uptake.features.groups``, kept in the model card) are one reason ("Age and
Experience"), on both routes. Moves are measured in log-odds, not probability: a
customer at 0.0001 whose income halves the odds has a real reason too, which a
probability difference of 0.00005 would hide. One customer costs one batch of about
400 rows through the pipeline (on the compiled backend in the web service), which a
web request can afford. Probabilities come from the one scoring pipeline, before its
calibrator (``ScoringPipeline.raw_proba_clean``). Every path (``--explain``, the API's
``reasons=true``, the page, the report) calls :func:`reasons`, so they agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from uptake.explain.shapley import log_odds, shapley_effects
from uptake.features import layout, typical_values
from uptake.pipeline import ScoringPipeline
from uptake.schema import KINDS
from uptake.schema.values import plain

#: Effects smaller than this (in log-odds; 0.01 is a 1% change in the odds) are not reasons.
MIN_EFFECT = 0.01


# ---- baselines -------------------------------------------------------------------------------
def baseline(model: ScoringPipeline) -> dict[str, Any]:
    """The typical value of each raw feature (its kind's ``typical``, from the fitted imputers where present)."""
    return typical_values(model.preprocessor, model.schema)


def groups_and_background(model: ScoringPipeline) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The groups of columns explained together and the background rows, from the model card.

    A model saved before its card kept them (or a pipeline with no card) is explained column by
    column against one typical customer (:func:`baseline`).
    """
    card = getattr(model, "card", None)
    kept = getattr(card, "explanation", None)
    names = list(model.schema.feature_names)
    if kept and kept.get("groups") and kept.get("background"):
        groups = [[c for c in g if c in names] for g in kept["groups"]]
        groups = [g for g in groups if g]
        if sorted(c for g in groups for c in g) == sorted(names):
            return groups, list(kept["background"])
    return [[n] for n in names], [baseline(model)]


# ---- per-customer reasons ----------------------------------------------------------------------
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

        ``effect`` is the column's (or group's) share of the customer's log-odds against
        the average customer: for tree families and logistic regression its exact
        contribution, for the others its Shapley value against the model's background
        rows: +0.69 doubles the odds. ``probability_change`` is the score minus the score
        without that share. ``direction`` is ``raises`` or ``lowers``. A group of columns
        that move together is one reason: ``feature`` reads "Age and Experience",
        ``features`` lists the columns and ``value`` maps each to its value (a single
        column's reason has ``features == [feature]`` and its plain value). Effects below
        0.01 are left out, so a customer who looks typical in every respect may get
        fewer than ``k`` reasons.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if len(clean_df) == 0:
        return []
    groups, background = groups_and_background(model)
    exact = exact_effects(model, clean_df)
    if exact is not None:
        p, per_column = exact
        index = {n: j for j, n in enumerate(model.schema.feature_names)}
        effects = np.column_stack([per_column[:, [index[c] for c in g]].sum(axis=1) for g in groups])
        z = log_odds(p)
    else:
        z, effects = shapley_effects(lambda rows: _raw(model, rows, fast), clean_df, groups, background)
        p = 1.0 / (1.0 + np.exp(-z))
    occluded = 1.0 / (1.0 + np.exp(-(z[:, None] - effects)))  # the score without that group's share
    if model.calibrator is not None:  # report probability moves on the scale the user sees
        p, occluded = model.calibrate(p), model.calibrate(occluded.ravel()).reshape(occluded.shape)
    dprob = p[:, None] - occluded
    top = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :k]
    cols = {n: model.schema.column(n) for n in model.schema.feature_names}
    values = {n: clean_df[n].to_numpy(dtype=object) for n in cols}
    out: list[list[dict[str, Any]]] = []
    for i in range(len(clean_df)):
        row: list[dict[str, Any]] = []
        for j in top[i]:
            e = float(effects[i, j])
            if abs(e) < MIN_EFFECT:
                continue
            group = groups[j]
            shown = {c: plain(values[c][i]) for c in group}
            direction = "raises" if e > 0 else "lowers"
            said = " and ".join(f"{c} {format_value(cols[c], shown[c])}" for c in group)
            verb = direction if len(group) == 1 else direction[:-1]  # "Age 45 and Experience 20 raise"
            row.append(
                {
                    "feature": " and ".join(group),
                    "features": list(group),
                    "value": shown[group[0]] if len(group) == 1 else shown,
                    "effect": e,
                    "probability_change": float(dprob[i, j]),
                    "direction": direction,
                    "text": f"{said} {verb} the chance",
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
    "groups_and_background",
    "log_odds",
    "reason_columns",
    "reasons",
]
