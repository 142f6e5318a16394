"""Gradient-boosted trees (LightGBM) behind the uptake estimator contract.

Trees are the strong baseline for tables like the bank's: acceptance jumps once
income passes a level, which a split finds in one step and a network has to learn.
The estimator trains with ``lightgbm.train`` directly (not the scikit-learn wrapper)
because the native ``Booster`` round-trips through LightGBM's own text format:
``save`` writes ``model.txt`` with ``Booster.save_model`` and ``load`` rebuilds it
with ``Booster(model_file=...)``, so nothing is unpickled.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from uptake.errors import UptakeInputError

FORMAT = "uptake-lightgbm"
FORMAT_VERSION = 1
MODEL_FILE = "model.txt"
META_FILE = "lightgbm.json"

#: Imbalance strategies trees support here. Resampling adds nothing a weight does not.
IMBALANCE = ("none", "class-weight")


class LightGBMClassifier(ClassifierMixin, BaseEstimator):
    """LightGBM binary classifier with early stopping on validation PR-AUC.

    Parameters:
        n_estimators: most boosting rounds; with validation data, early stopping
            (``early_stopping_rounds`` without improvement in average precision) picks
            the round actually used.
        learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
        reg_lambda: LightGBM's usual knobs; defaults suit a few thousand rows
            (small leaves, some row/column sampling) rather than LightGBM's million-row ones.
        imbalance: ``none`` keeps probabilities calibrated (default); ``class-weight``
            sets ``scale_pos_weight`` to negatives/positives, as the networks' weights do.
        seed: fixes the row/column sampling, so the same data gives the same trees.
        n_jobs: threads; 1 by default because tables this size gain nothing from more
            and parallel runs (compare, tests) should not fight over cores.
    """

    def __init__(
        self,
        n_estimators: int = 2000,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 10,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int = 100,
        imbalance: str = "none",
        seed: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.imbalance = imbalance
        self.seed = seed
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        """Fail on a bad parameter before any training, naming it."""
        if self.imbalance not in IMBALANCE:
            raise UptakeInputError(f"--imbalance {self.imbalance!r}: LightGBM supports {', '.join(IMBALANCE)}")
        for name in ("n_estimators", "num_leaves", "min_child_samples", "early_stopping_rounds", "n_jobs"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise UptakeInputError(f"{name} must be a positive integer, got {v!r}")
        for name in ("learning_rate", "subsample", "colsample_bytree"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 < v <= 1:
                raise UptakeInputError(f"{name} must be in (0, 1], got {v!r}")
        if not isinstance(self.reg_lambda, (int, float)) or not self.reg_lambda >= 0:
            raise UptakeInputError(f"reg_lambda must be >= 0, got {self.reg_lambda!r}")

    def _lgb_params(self, y: np.ndarray) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary",
            "metric": "average_precision",
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "seed": int(self.seed),
            "num_threads": int(self.n_jobs),
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if self.imbalance == "class-weight":
            pos = max(int(y.sum()), 1)
            params["scale_pos_weight"] = (len(y) - pos) / pos
        return params

    def fit(self, X: Any, y: Any, X_val: Any | None = None, y_val: Any | None = None) -> LightGBMClassifier:
        """Boost on ``X, y``; with ``X_val, y_val`` stop at the best validation PR-AUC round."""
        import lightgbm as lgb

        self._check_params()
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(int).reshape(-1)
        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        params = self._lgb_params(y)
        train = lgb.Dataset(X, label=y, free_raw_data=True)
        kwargs: dict[str, Any] = {"num_boost_round": int(self.n_estimators)}
        if X_val is not None:
            valid = lgb.Dataset(np.asarray(X_val, dtype=np.float64), label=np.asarray(y_val).astype(int), reference=train)
            self.evals_result_: dict[str, Any] = {}
            kwargs.update(
                valid_sets=[valid],
                valid_names=["validation"],
                callbacks=[
                    lgb.early_stopping(int(self.early_stopping_rounds), verbose=False),
                    lgb.record_evaluation(self.evals_result_),
                ],
            )
        self.booster_ = lgb.train(params, train, **kwargs)
        best = int(self.booster_.best_iteration or 0)
        self.best_iteration_ = best if best > 0 else int(self.booster_.current_iteration())
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = int(X.shape[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` class probabilities from the rounds kept by early stopping."""
        if not hasattr(self, "booster_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("LightGBMClassifier is not fitted yet; call fit or load first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise UptakeInputError(f"X has shape {X.shape} but the trees were fitted on {self.n_features_in_} features")
        if len(X) == 0:
            return np.zeros((0, 2))
        p = np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_), dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Labels at 0.5; uptake tunes the real threshold separately."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    # ---- persistence --------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """``model.txt`` (LightGBM's text format, best rounds only) and ``lightgbm.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(directory / MODEL_FILE), num_iteration=self.best_iteration_)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "params": self.get_params(),
            "best_iteration": self.best_iteration_,
            "n_features_in": self.n_features_in_,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, default=_plain))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> LightGBMClassifier:
        """Rebuild from ``model.txt``: LightGBM parses its text format; no code runs."""
        import lightgbm as lgb

        directory = Path(directory)
        meta = _read_meta(directory / META_FILE, FORMAT, FORMAT_VERSION)
        model_file = directory / MODEL_FILE
        if not model_file.is_file():
            raise UptakeInputError(f"file '{model_file}' not found; the saved LightGBM model is incomplete")
        est = cls(**meta["params"])
        try:
            est.booster_ = lgb.Booster(model_file=str(model_file))
        except lgb.basic.LightGBMError as exc:
            raise UptakeInputError(f"file '{model_file}': not a readable LightGBM model ({exc})") from None
        est.best_iteration_ = int(est.booster_.current_iteration())
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = int(meta["n_features_in"])
        return est


def _plain(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _read_meta(path: Path, fmt: str, version: int) -> dict[str, Any]:
    """Read a family's JSON sidecar and check it is the format we write."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UptakeInputError(f"file '{path}' not found; is this a saved {fmt} model?") from None
    except ValueError as exc:
        raise UptakeInputError(f"file '{path}' is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt or meta.get("version") != version:
        raise UptakeInputError(f"file '{path}' is not a {fmt} version {version} file")
    return meta


__all__ = ["LightGBMClassifier"]
