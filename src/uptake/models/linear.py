"""Logistic regression: the simplest honest baseline for the comparison.

If a network cannot beat a linear model on standardized columns, it is not earning
its training time. The fitted model is just a coefficient vector and an intercept,
so it is persisted as JSON (``logreg.json``) and rebuilt by setting scikit-learn's
fitted attributes: no pickle, nothing executed on load.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from uptake.errors import UptakeInputError
from uptake.models.gbm import _read_meta

FORMAT = "uptake-logreg"
FORMAT_VERSION = 1
META_FILE = "logreg.json"
IMBALANCE = ("none", "class-weight")
#: Inverse regularisation strengths tried on validation data when ``C`` is not fixed.
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


class LogisticClassifier(ClassifierMixin, BaseEstimator):
    """L2-regularised logistic regression (scikit-learn, lbfgs).

    Parameters:
        C: inverse regularisation strength. ``None`` picks the best of :data:`C_GRID`
            by validation PR-AUC when validation data is given (1.0 otherwise), so the
            baseline is not handicapped by one arbitrary choice.
        imbalance: ``none`` (calibrated probabilities) or ``class-weight``
            (scikit-learn's ``class_weight="balanced"``, the TF tutorial's formula).
        max_iter: lbfgs iterations; standardized inputs converge well within it.
    """

    def __init__(self, C: float | None = None, imbalance: str = "none", max_iter: int = 2000, seed: int = 0) -> None:  # noqa: N803
        self.C = C
        self.imbalance = imbalance
        self.max_iter = max_iter
        self.seed = seed

    def _model(self, c: float) -> LogisticRegression:
        return LogisticRegression(
            C=c,
            class_weight="balanced" if self.imbalance == "class-weight" else None,
            max_iter=int(self.max_iter),
            random_state=int(self.seed),
        )

    def fit(self, X: Any, y: Any, X_val: Any | None = None, y_val: Any | None = None) -> LogisticClassifier:
        """Fit; with validation data and ``C=None``, keep the C with the best validation PR-AUC."""
        if self.imbalance not in IMBALANCE:
            raise UptakeInputError(f"--imbalance {self.imbalance!r}: logistic regression supports {', '.join(IMBALANCE)}")
        if self.C is not None and (not isinstance(self.C, (int, float)) or not math.isfinite(self.C) or self.C <= 0):
            raise UptakeInputError(f"C must be a positive number, got {self.C!r}")
        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(int).reshape(-1)
        grid = [float(self.C)] if self.C is not None else list(C_GRID) if X_val is not None else [1.0]
        best: tuple[float, LogisticRegression] | None = None
        self.validation_scores_: dict[str, float] = {}
        for c in grid:
            model = self._model(c).fit(X, y)
            if len(grid) == 1:
                best = (math.nan, model)
                break
            score = float(average_precision_score(y_val, model.predict_proba(np.asarray(X_val, dtype=np.float64))[:, 1]))
            self.validation_scores_[str(c)] = score
            if best is None or score > best[0]:
                best = (score, model)
        assert best is not None
        self.model_ = best[1]
        self.C_ = float(self.model_.C)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = int(X.shape[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("LogisticClassifier is not fitted yet; call fit or load first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise UptakeInputError(f"X has shape {X.shape} but the model was fitted on {self.n_features_in_} features")
        return self.model_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    # ---- persistence --------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Coefficients, intercept and parameters as JSON."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "params": self.get_params(),
            "C": self.C_,
            "coef": self.model_.coef_.tolist(),
            "intercept": self.model_.intercept_.tolist(),
            "classes": self.model_.classes_.tolist(),
            "n_features_in": self.n_features_in_,
            "validation_scores": self.validation_scores_,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> LogisticClassifier:
        """Set scikit-learn's fitted attributes from the JSON; predict_proba then works as fitted."""
        meta = _read_meta(Path(directory) / META_FILE, FORMAT, FORMAT_VERSION)
        est = cls(**meta["params"])
        model = est._model(float(meta["C"]))
        coef = np.asarray(meta["coef"], dtype=np.float64)
        n = int(meta["n_features_in"])
        if coef.shape != (1, n):
            raise UptakeInputError(f"file '{Path(directory) / META_FILE}': coef has shape {coef.shape}, expected (1, {n})")
        model.coef_ = coef
        model.intercept_ = np.asarray(meta["intercept"], dtype=np.float64)
        model.classes_ = np.asarray(meta["classes"])
        model.n_features_in_ = n
        model.n_iter_ = np.array([0])
        est.model_, est.C_ = model, float(meta["C"])
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = n
        est.validation_scores_ = dict(meta.get("validation_scores") or {})
        return est


__all__ = ["LogisticClassifier"]
