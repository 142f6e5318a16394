"""The report's calibration section: are the probabilities honest, and would a calibrator help?

The reliability diagram uses ten bins of equal width (0-0.1, ..., 0.9-1.0), not of equal
count: with 90% of a rare outcome's scores near 0, equal-count bins put the whole range
where decisions are made (0.1-0.8) into one point. The text depends on how the model was
trained (class weights and resampling inflate probabilities; a model trained without them
is not told it was). A calibrator is recommended only when it measurably helps: each
method is cross-fitted on the validation split (fitted on one half, scored on the other,
and back) and recommended only when it lowers the validation Brier score by at least
:data:`MIN_GAIN` without raising the log-loss; both numbers are shown either way.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold

from uptake.decide.calibration import METHODS, fit_calibrator
from uptake.errors import UptakeInputError
from uptake.imbalance import STRATEGIES
from uptake.report import plots
from uptake.report.model import Context, Section, figure, new_section

#: A calibrator is recommended when it lowers the cross-fitted validation Brier score by this share.
MIN_GAIN = 0.05
#: Training strategies that push probabilities up (every rare-outcome technique but "none").
INFLATING = tuple(s for s in STRATEGIES if s != "none")


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, float]:
    obs, pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    return pred, obs, float(brier_score_loss(y, p))


def crossfitted(method: str, y: np.ndarray, p: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """``method``'s calibrated probabilities for the validation rows, each fitted without its own row."""
    out = np.empty_like(p, dtype=np.float64)
    try:
        for fit, score in StratifiedKFold(2, shuffle=True, random_state=seed).split(p, y):
            out[score] = fit_calibrator(method, y[fit], p[fit])(p[score])
    except (UptakeInputError, ValueError):
        return None  # too few positives to fit on half of them
    return out


def _scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return float(brier_score_loss(y, q)), float(log_loss(y, q, labels=[0, 1]))


def _advice(ctx: Context, s: Section, curves: dict, p: np.ndarray, y: np.ndarray) -> None:
    """Measure each calibrator on the validation split; recommend one only where it helps."""
    pv, yv, _ = ctx.ev.part("validation")
    if yv is None or len(np.unique(yv)) < 2:
        return
    base = _scores(yv, pv)
    tried = {m: crossfitted(m, yv, pv, ctx.card.seed) for m in METHODS}
    measured = {m: _scores(yv, q) for m, q in tried.items() if q is not None}
    if not measured:
        s.paragraphs.append("The validation split holds too few acceptors to measure a calibrator on.")
        return
    said = "; ".join(f"{m}: Brier {b:.4f}, log-loss {ll:.4f}" for m, (b, ll) in measured.items())
    best, (brier, loss) = min(measured.items(), key=lambda kv: kv[1][0])
    numbers = (
        f"Measured on the validation split, each calibrator fitted on one half and scored on the other: "
        f"the model as it is has Brier {base[0]:.4f} and log-loss {base[1]:.4f}; {said}."
    )
    if brier <= (1 - MIN_GAIN) * base[0] and loss <= base[1]:
        fixed = fit_calibrator(best, yv, pv)(p)
        curves[f"after {best} calibration (fitted on validation)"] = reliability(fixed, y)
        s.paragraphs.append(
            f"{numbers} {best.capitalize()} calibration lowers the Brier score by "
            f"{1 - brier / base[0]:.0%}: `uptake train --calibrate {best}` stores such a calibrator in the model."
        )
    else:
        s.paragraphs.append(
            f"{numbers} No calibrator is recommended: none lowers the Brier score by {MIN_GAIN:.0%} or more "
            "without raising the log-loss, so the probabilities are best left as they are."
        )


def calibration(ctx: Context) -> Section:
    s = new_section("calibration")
    strategy = ctx.card.imbalance.strategy
    intro = (
        "A probability of 0.30 should mean that about 30 of 100 such customers accept. That matters as soon as "
        "probabilities are used as money (expected acceptances, expected profit)."
    )
    if strategy and strategy in INFLATING:
        intro += (
            f" This model was trained with {strategy}, a rare-outcome technique that makes the model pay more "
            "attention to acceptors and also pushes its probabilities up: rankings stay good, but the raw numbers "
            "overstate the chance."
        )
    else:
        intro += (
            " This model was trained without class weights or resampling, so nothing in its training inflates its "
            "probabilities; the diagram shows how close they are."
        )
    s.paragraphs.append(intro)
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    p, y, clean = ctx.ev.part(ctx.ev.eval_name)
    curves: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    cal = ctx.card.calibration
    if cal and len(clean):
        raw = ctx.model.raw_proba_clean(clean)
        curves["before calibration"] = reliability(raw, y)
        curves[f"after {cal.method} calibration (the model's output)"] = reliability(p, y)
        s.paragraphs.append(
            f"This model carries a calibrator ({cal.method}) fitted on validation data: its "
            "probabilities below are the calibrated ones, shown against the raw model output."
        )
    else:
        curves["model output"] = reliability(p, y)
        if ctx.ev.split is not None:
            _advice(ctx, s, curves, p, y)
        else:
            s.paragraphs.append(
                "Whether a calibrator would help is measured on the validation split: build the report on the "
                "training file to see it, or train with `--calibrate isotonic` (or sigmoid) and read the Brier "
                "score before and after in the model card."
            )
    s.paragraphs.append("Brier score: the mean squared gap between probability and outcome (lower is better).")
    s.figures.append(
        figure(
            "calibration",
            "Reliability diagram",
            plots.calibration(curves),
            f"On {ctx.ev.eval_label}; customers grouped by probability into ten bins of equal width "
            "(0-0.1, ..., 0.9-1.0; empty bins left out), so the range where the threshold lies is visible.",
        )
    )
    return s


__all__ = ["MIN_GAIN", "calibration", "crossfitted", "reliability"]
