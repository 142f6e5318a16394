"""Gradient-boosted trees (LightGBM) behind the uptake family contract.

Trees are the strong baseline for tables like the bank's: acceptance jumps once
income passes a level, which a split finds in one step and a network has to learn.
The estimator trains with ``lightgbm.train`` directly (not the scikit-learn wrapper)
because the native ``Booster`` round-trips through LightGBM's own text format:
``model.txt`` is written with ``Booster.save_model`` and read back with
``Booster(model_file=...)``, so nothing is unpickled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions

from uptake.errors import UptakeInputError
from uptake.models.base import Family, refit_wanted
from uptake.models.crossfit import cross_fitted

MODEL_FILE = "model.txt"
#: Up to this many rows are predicted on one thread (serving's single customers).
FEW_ROWS = 64
#: Imbalance strategies trees support here. Resampling adds nothing a weight does not.
IMBALANCE = ("none", "class-weight")
#: Training rows from which the default learning rate doubles (CatBoost's family does the same).
BIG_TABLE = 50_000


class LightGBMClassifier(Family):
    """LightGBM binary classifier with early stopping on validation PR-AUC.

    Parameters:
        n_estimators: most boosting rounds; with validation data, early stopping
            (``early_stopping_rounds`` without improvement in average precision) picks
            the round actually used.
        learning_rate: ``None`` chooses 0.05 below 50,000 training rows, else 0.1 (as CatBoost's
            does): at 0.05 a 182,000-row table ran into the 2,000-round cap without stopping.
        num_leaves, min_child_samples, subsample, colsample_bytree,
        reg_lambda: LightGBM's usual knobs; defaults suit a few thousand rows
            (small leaves, some row/column sampling) rather than LightGBM's million-row ones.
        imbalance: ``none`` keeps probabilities calibrated (default); ``class-weight``
            sets ``scale_pos_weight`` to negatives/positives, as the networks' weights do.
        boosting: ``gbdt`` (boosted trees) or ``rf`` (a random forest: bagged, averaged
            trees; ``subsample`` below 1 is the bootstrap share).
        extra_trees: split at random thresholds (extremely randomised trees).
        native_categories: treat inputs the layout marks as one category code each (the
            ``ordinal`` encoding) as LightGBM categorical features; for ``--model auto``,
            whose members share ordinal codes. One-hot inputs are always plain numbers.
        refit: with validation rows, train once more on training and validation rows together at the
            early-stopped rounds (the validation rows' scores stay the early-stopped model's); ``None``
            does so below ``REFIT_ROWS`` training rows (a small table), ``False`` never (auto's members,
            whose validation rows are another fold's).
        seed: fixes the row/column sampling, so the same data gives the same trees.
        n_jobs: threads; 1 by default because tables this size gain nothing from more
            and parallel runs (compare, tests) should not fight over cores.
    """

    name = "lightgbm"
    sidecar = "lightgbm.json"
    format = "uptake-lightgbm"
    accepts: ClassVar[frozenset[str]] = frozenset({"learning_rate"})
    label = "LightGBM"
    library = "lightgbm"
    auto_member = True
    cost_per_1k_rows = 0.3
    imbalance_options = IMBALANCE
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, 1, closed="right"), None],
        "num_leaves": [Interval(Integral, 2, None, closed="left")],
        "min_child_samples": [Interval(Integral, 1, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "imbalance": [StrOptions(set(IMBALANCE))],
        "boosting": [StrOptions({"gbdt", "rf"})],
        "extra_trees": ["boolean"],
        "native_categories": ["boolean"],
        "refit": ["boolean", None],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_estimators: int = 2000,
        learning_rate: float | None = None,
        num_leaves: int = 15,
        min_child_samples: int = 10,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int = 100,
        imbalance: str = "none",
        boosting: str = "gbdt",
        extra_trees: bool = False,
        native_categories: bool = False,
        refit: bool | None = None,
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
        self.boosting = boosting
        self.extra_trees = extra_trees
        self.native_categories = native_categories
        self.refit = refit
        self.seed = seed
        self.n_jobs = n_jobs

    @classmethod
    def from_options(cls, options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> LightGBMClassifier:
        params: dict[str, Any] = {"seed": options.get("seed", 0), "imbalance": options.get("imbalance") or "none"}
        if options.get("learning_rate") is not None:
            params["learning_rate"] = options["learning_rate"]
        return cls(**params)

    def numeric_encoding(self) -> str:
        """Numbers as they are: missing values stay missing (LightGBM learns where they go), never clipped."""
        return "native"

    def categorical_encoding(self) -> str:
        """One ordered code per category (integer codes keep their order: Education 1 < 2 < 3), split like a
        number; on the bank, churn and Taiwan holdouts it ranked above one-hot inputs (docs/models.md)."""
        return "ordinal"

    def set_layout(self, layout: list[tuple[str, str]]) -> None:
        owners = [owner for owner, _ in layout]
        self.categorical_inputs_ = [
            i
            for i, (owner, kind) in enumerate(layout)
            if self.native_categories and kind == "categorical" and owners.count(owner) == 1
        ]

    def _lgb_params(self, y: np.ndarray) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary",
            "boosting": str(self.boosting),
            "extra_trees": bool(self.extra_trees),
            "metric": "average_precision",
            "learning_rate": self.rate(len(y)),
            "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1 or self.boosting == "rf" else 0,
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

    def rate(self, rows: int) -> float:
        """The learning rate in use for a training table of ``rows`` rows."""
        return float(self.learning_rate) if self.learning_rate is not None else (0.05 if rows < BIG_TABLE else 0.1)

    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> LightGBMClassifier:
        """Boost on ``X, y``; with ``X_val, y_val`` stop at the best validation PR-AUC round."""
        self.check_params()
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(int).reshape(-1)
        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        params = self._lgb_params(y)
        cats = list(getattr(self, "categorical_inputs_", []))
        train = lgb.Dataset(X, label=y, free_raw_data=True, categorical_feature=cats or "auto")
        kwargs: dict[str, Any] = {"num_boost_round": int(self.n_estimators)}
        if X_val is not None:
            valid = lgb.Dataset(
                np.asarray(X_val, dtype=np.float64), label=np.asarray(y_val).astype(int), reference=train
            )
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
        self.learning_rate_ = params["learning_rate"]
        best = int(self.booster_.best_iteration or 0)
        self.best_iteration_ = best if best > 0 else int(self.booster_.current_iteration())
        self.validation_oof_ = None
        self.refit_: dict[str, Any] | None = None
        if X_val is not None and refit_wanted(self.refit, len(y)):  # a small table: uptake.models.crossfit
            stopped = self.best_iteration_

            def fold_model() -> LightGBMClassifier:
                model = clone(self).set_params(refit=False, learning_rate=params["learning_rate"])
                model.categorical_inputs_ = cats
                return model

            X_all, y_all, rounds, self.validation_oof_ = cross_fitted(
                fold_model, X, y, X_val, y_val, int(self.seed), "n_estimators"
            )
            both = lgb.Dataset(X_all, label=y_all, categorical_feature=cats or "auto")
            self.booster_ = lgb.train(params, both, num_boost_round=rounds)
            self.best_iteration_ = rounds
            self.refit_ = {"rows": len(y_all), "rounds": rounds, "one_split_rounds": stopped}
        self.mark_fitted(X.shape[1])
        return self

    def held_out_validation(self) -> np.ndarray | None:
        """The early-stopped model's validation scores, when the served model was refit on those rows too."""
        return getattr(self, "validation_oof_", None)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` class probabilities from the rounds kept by early stopping."""
        X = self.checked(X)
        if len(X) == 0:
            return np.zeros((0, 2))
        # a few rows on one thread: waking the OpenMP pool costs more than the trees
        threads = {"num_threads": 1} if len(X) <= FEW_ROWS else {}
        p = np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_, **threads), dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    def refit_params(self) -> dict[str, Any]:
        return {"n_estimators": int(self.best_iteration_), "learning_rate": float(self.learning_rate_)}

    def hyperparameters(self) -> dict[str, Any]:
        """The parameters, with the learning rate in use where the table's size chose it."""
        rate = getattr(self, "learning_rate_", None)
        out = {**self.get_params(deep=False), **({"learning_rate": rate} if rate is not None else {})}
        if getattr(self, "refit_", None):
            out["refit"] = self.refit_
        return out

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions to the log-odds (LightGBM's ``pred_contrib``): inputs, then the bias."""
        X = self.checked(X)
        return np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_, pred_contrib=True))

    # ---- persistence --------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        """``model.txt`` (LightGBM's text format, best rounds only)."""
        self.booster_.save_model(str(directory / MODEL_FILE), num_iteration=self.best_iteration_)
        return {
            "params": self.get_params(),
            "best_iteration": self.best_iteration_,
            "n_features_in": self.n_features_in_,
            "learning_rate": self.learning_rate_,
        }

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> LightGBMClassifier:
        """Rebuild from ``model.txt``: LightGBM parses its text format; no code runs."""
        model_file = directory / MODEL_FILE
        if not model_file.is_file():
            raise UptakeInputError(f"file '{model_file}' not found; the saved LightGBM model is incomplete")
        est = cls(**meta["params"])
        try:
            est.booster_ = lgb.Booster(model_file=str(model_file))
        except lgb.basic.LightGBMError as exc:
            raise UptakeInputError(f"file '{model_file}': not a readable LightGBM model ({exc})") from None
        est.best_iteration_ = int(est.booster_.current_iteration())
        est.learning_rate_ = float(meta.get("learning_rate") or est.learning_rate or 0.05)  # saved before: 0.05
        est.mark_fitted(meta["n_features_in"])
        if est.booster_.num_feature() != est.n_features_in_:
            raise UptakeInputError(
                f"file '{model_file}': the trees use {est.booster_.num_feature()} inputs but the "
                f"sidecar says {est.n_features_in_}"
            )
        return est


__all__ = ["LightGBMClassifier"]
