"""The report's calibration section: are the probabilities honest?"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from uptake.decide.calibration import fit_calibrator
from uptake.report import plots
from uptake.report.model import Context, Section, figure, new_section


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, float]:
    obs, pred = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    return pred, obs, float(brier_score_loss(y, p))


def calibration(ctx: Context) -> Section:
    s = new_section("calibration")
    strategy = ctx.card.imbalance.strategy
    s.paragraphs.append(
        "A probability of 0.30 should mean that about 30 of 100 such customers accept. That matters as soon as "
        "probabilities are used as money (expected acceptances, expected profit). Training tricks for rare "
        "outcomes (class weights, oversampling) make the model pay more attention to acceptors, which also "
        "pushes its probabilities up: rankings stay good, but the raw numbers overstate the chance."
        + (f" This model was trained with {strategy}." if strategy and strategy != "none" else "")
    )
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    p, y, clean = ctx.ev.part(ctx.ev.eval_name)
    curves: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    calibrated = ctx.card.calibration.method if ctx.card.calibration else None
    if calibrated and len(clean):
        raw = ctx.model.raw_proba_clean(clean)
        curves["before calibration"] = reliability(raw, y)
        curves[f"after {calibrated} calibration (the model's output)"] = reliability(p, y)
        s.paragraphs.append(
            f"This model carries a calibrator ({calibrated}) fitted on validation data: its "
            "probabilities below are the calibrated ones, shown against the raw model output."
        )
    else:
        curves["model output"] = reliability(p, y)
        if ctx.ev.split is not None:
            pv, yv, _ = ctx.ev.part("validation")
            fixed = fit_calibrator("isotonic", yv, pv)(p) if len(np.unique(yv)) == 2 else None
            if fixed is not None:
                curves["after isotonic calibration (illustration)"] = reliability(fixed, y)
                s.paragraphs.append(
                    "The fix: refit the probabilities on validation data. The second line shows what an isotonic "
                    "calibrator fitted on this model's validation split does on the test split; "
                    "`uptake train --calibrate isotonic` stores such a calibrator in the model."
                )
        else:
            s.paragraphs.append(
                "The fix: `uptake train --calibrate isotonic` (or sigmoid) fits a calibrator on "
                "validation data and stores it in the model."
            )
    s.paragraphs.append("Brier score: the mean squared gap between probability and outcome (lower is better).")
    s.figures.append(
        figure(
            "calibration",
            "Reliability diagram",
            plots.calibration(curves),
            f"On {ctx.ev.eval_label}; customers grouped by probability into up to ten bins of similar size.",
        )
    )
    return s


__all__ = ["calibration", "reliability"]
