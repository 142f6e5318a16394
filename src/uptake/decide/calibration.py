"""Turning scores back into chances.

Class weights and oversampling teach a network that acceptors are as common as
refusers, so its outputs rank customers well but overstate how likely each one is.
That is harmless for a ranking and wrong the moment a probability is multiplied by
money (expected profit, budgets). A calibrator fitted on the validation split maps
the model's outputs to observed frequencies:

* ``isotonic``: scikit-learn's ``IsotonicRegression``, a monotone step function;
  flexible, needs a few hundred validation rows, and may merge close scores into ties.
* ``sigmoid``: Platt scaling, a logistic regression on the logit of the score; two
  numbers, so it cannot overfit, but only fixes a sigmoid-shaped distortion.

Both are stored as plain numbers in ``calibration.json`` (the isotonic knots, or the
slope and intercept) and applied with numpy: nothing is unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from uptake.errors import UptakeInputError

METHODS = ("isotonic", "sigmoid")
#: Rows of each class in the validation split isotonic calibration needs; below it sigmoid is fitted instead
#: (two numbers cannot chase a few positives), and below MIN_SIGMOID_EVENTS none at all.
MIN_ISOTONIC_EVENTS = 30
MIN_SIGMOID_EVENTS = 5
FILE = "calibration.json"
FORMAT = "uptake-calibration/1"
_EPS = 1e-6


@dataclass
class Calibrator:
    """A fitted map from model probability to calibrated probability."""

    method: str
    knots_x: list[float] = field(default_factory=list)
    knots_y: list[float] = field(default_factory=list)
    slope: float = 1.0
    intercept: float = 0.0
    #: what was asked for, when it differs from ``method`` (not saved: the card records it)
    note: str = ""

    def __call__(self, p: Any) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self.method == "isotonic":
            # IsotonicRegression.predict interpolates linearly between its knots and,
            # with out_of_bounds="clip", holds the end values outside them: np.interp does both.
            return np.interp(p, self.knots_x, self.knots_y)
        z = _logit(p)
        # A steep sigmoid overflows exp for scores far from its centre; the limit there is exactly 0 or 1.
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-(self.slope * z + self.intercept)))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"format": FORMAT, "method": self.method}
        if self.method == "isotonic":
            d.update(knots_x=self.knots_x, knots_y=self.knots_y)
        else:
            d.update(slope=self.slope, intercept=self.intercept)
        return d

    @classmethod
    def from_dict(cls, d: Any, source: object = None) -> Calibrator:
        if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("method") not in METHODS:
            raise UptakeInputError(f"file '{source}': not an uptake calibration file")
        try:
            if d["method"] == "isotonic":
                x, y = [float(v) for v in d["knots_x"]], [float(v) for v in d["knots_y"]]
                ok = (
                    len(x) == len(y)
                    and x
                    and np.all(np.isfinite(x))
                    and np.all(np.isfinite(y))
                    and not np.any(np.diff(x) < 0)
                    and min(y) >= 0.0
                    and max(y) <= 1.0
                )
                if not ok:
                    raise ValueError("isotonic knots are malformed")
                return cls("isotonic", knots_x=x, knots_y=y)
            slope, intercept = float(d["slope"]), float(d["intercept"])
            if not (np.isfinite(slope) and np.isfinite(intercept)):
                raise ValueError("the sigmoid's slope and intercept must be finite")
            return cls("sigmoid", slope=slope, intercept=intercept)
        except (KeyError, TypeError, ValueError) as exc:
            raise UptakeInputError(f"file '{source}': damaged calibration ({type(exc).__name__}: {exc})") from None


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def fit_calibrator(method: str, y: Any, p: Any) -> Calibrator:
    """Fit ``method`` on held-out labels ``y`` and model probabilities ``p``."""
    if method not in METHODS:
        raise UptakeInputError(f"--calibrate {method!r}: choose one of {', '.join(METHODS)}")
    y = np.asarray(y).astype(int).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if len(np.unique(y)) < 2:
        raise UptakeInputError("--calibrate: the validation split needs both outcomes to calibrate on")
    events = int(min(y.sum(), len(y) - y.sum()))
    if events < MIN_SIGMOID_EVENTS:
        raise UptakeInputError(
            f"--calibrate {method}: the validation split holds {events} rows of the rarer class; calibrating on "
            f"fewer than {MIN_SIGMOID_EVENTS} would map scores to noise: train without --calibrate, or on more rows"
        )
    if method == "isotonic" and events < MIN_ISOTONIC_EVENTS:
        cal = fit_calibrator("sigmoid", y, p)
        cal.note = (
            f"isotonic was asked for, but the validation split holds {events} rows of the rarer class (fewer than "
            f"{MIN_ISOTONIC_EVENTS}): a step function fitted on so few sends most scores to exactly 0 or 1, so a "
            "sigmoid (two numbers) was fitted instead"
        )
        return cal
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Calibrator("isotonic", knots_x=iso.X_thresholds_.tolist(), knots_y=iso.y_thresholds_.tolist())
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p).reshape(-1, 1), y)
    return Calibrator("sigmoid", slope=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]))


def save_calibrator(cal: Calibrator, directory: Path) -> None:
    (Path(directory) / FILE).write_text(json.dumps(cal.to_dict(), indent=2), encoding="utf-8")


def load_calibrator(directory: Path) -> Calibrator | None:
    """The model's calibrator, or ``None`` when it was trained without one."""
    path = Path(directory) / FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UptakeInputError(f"file '{path}': unreadable calibration ({exc})") from None
    return Calibrator.from_dict(data, path)


#: Strategies that train on a re-weighted or re-balanced class mix.
DISTORTING = ("class-weight", "oversample", "smote", "balanced-batches")


def probability_note(strategy: str | None, method: str | None) -> str:
    """What the model's probabilities mean, in words for the metadata and the report."""
    distorted = strategy in DISTORTING
    if method:
        why = f"; training used '{strategy}', which inflates raw probabilities" if distorted else ""
        return f"Probabilities recalibrated ({method}) on the validation split{why}. They can be used as chances."
    if distorted:
        return (
            f"Trained with '{strategy}': the probabilities rank customers well but overstate the chance of "
            "acceptance. Retrain with --calibrate isotonic|sigmoid before using them as money (profit, budgets)."
        )
    return (
        "Trained without class weights or resampling: probabilities are the model's own estimates "
        "(check the Brier score)."
    )


__all__ = ["METHODS", "Calibrator", "fit_calibrator", "load_calibrator", "probability_note", "save_calibrator"]
