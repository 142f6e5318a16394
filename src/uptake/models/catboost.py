"""Gradient-boosted oblivious trees (CatBoost) behind the uptake family contract.

CatBoost handles categories itself (ordered target statistics on the raw codes), so
this family asks the preprocessor for ordinal category codes and plain (imputed)
numbers instead of one-hot and standardised inputs, and tells CatBoost which inputs
are categories. It stops early on validation PR-AUC (CatBoost's ``PRAUC``), and is
saved in CatBoost's own binary format (``model.cbm``, read back with ``load_model``:
nothing is unpickled). Exact per-customer reasons come from CatBoost's own SHAP
values.

Defaults follow the data: the learning rate is 0.05 below 50,000 training rows and 0.1
above (more rows need fewer, larger steps to converge within the iteration budget),
and at a base rate under 1% the trees get larger leaves (``min_data_in_leaf``) so a
handful of positives cannot carve a leaf of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier as _CatBoost
from catboost import CatBoostError, Pool
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions

from uptake.errors import UptakeInputError
from uptake.models.base import Family, refit_wanted
from uptake.models.crossfit import cross_fitted

#: Up to this many rows are handed to CatBoost as Python lists (one customer in serving), not as a DataFrame.
FEW_ROWS = 16
MODEL_FILE = "model.cbm"
IMBALANCE = ("none", "class-weight")


class CatBoostClassifier(Family):
    """CatBoost binary classifier with native categories and early stopping on validation PR-AUC.

    Parameters:
        iterations: most boosting rounds; early stopping picks the round used.
        learning_rate: ``None`` chooses 0.05 below 50,000 training rows, else 0.1.
        depth, l2_leaf_reg: CatBoost's usual knobs.
        early_stopping_rounds: rounds without a better validation PR-AUC before stopping.
        imbalance: ``none`` keeps probabilities calibrated; ``class-weight`` balances the classes.
        refit: with validation rows, train once more on training and validation rows together at the
            early-stopped iterations; ``None`` does so below ``REFIT_ROWS`` training rows, ``False`` never.
        seed: fixes the random permutations, so the same data gives the same trees.
        n_jobs: threads (2 by default: this machine's cores, and compare's processes share them).
    """

    name = "catboost"
    sidecar = "catboost.json"
    format = "uptake-catboost"
    accepts: ClassVar[frozenset[str]] = frozenset({"learning_rate"})
    label = "CatBoost"
    library = "catboost"
    auto_member = True
    cost_per_1k_rows = 1.0
    imbalance_options = IMBALANCE
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, 1, closed="right"), None],
        "depth": [Interval(Integral, 1, 16, closed="both")],
        "l2_leaf_reg": [Interval(Real, 0, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "imbalance": [StrOptions(set(IMBALANCE))],
        "refit": ["boolean", None],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        iterations: int = 3000,
        learning_rate: float | None = None,
        depth: int = 6,
        l2_leaf_reg: float = 3.0,
        early_stopping_rounds: int = 200,
        imbalance: str = "none",
        refit: bool | None = None,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.refit = refit
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.early_stopping_rounds = early_stopping_rounds
        self.imbalance = imbalance
        self.seed = seed
        self.n_jobs = n_jobs

    @classmethod
    def from_options(cls, options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> CatBoostClassifier:
        return cls(
            seed=options.get("seed", 0),
            imbalance=options.get("imbalance") or "none",
            learning_rate=options.get("learning_rate"),
        )

    def numeric_encoding(self) -> str:
        """Numbers as they are: missing values stay missing (CatBoost sends them below every split)."""
        return "native"

    def categorical_encoding(self) -> str:
        return "ordinal"

    def set_layout(self, layout: list[tuple[str, str]]) -> None:
        self.categorical_inputs_ = [i for i, (_, kind) in enumerate(layout) if kind == "categorical"]

    # ---- data ---------------------------------------------------------------------------------------------
    def _frame(self, X: Any) -> pd.DataFrame:
        """Inputs as CatBoost takes categories: integer codes in their own columns, numbers as floats."""
        X = np.asarray(X, dtype=np.float64)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        for i in getattr(self, "categorical_inputs_", []):
            frame[f"x{i}"] = X[:, i].astype(np.int64)
        return frame

    def _pool(self, X: Any, y: Any = None) -> Pool:
        if y is None and len(X) <= FEW_ROWS:  # the same values as lists: a DataFrame costs more than the prediction
            X = np.asarray(X, dtype=np.float64)
            cats = list(getattr(self, "categorical_inputs_", []))
            rows = X.tolist()
            for i in cats:  # the codes exactly as _frame makes them
                for row, code in zip(rows, X[:, i].astype(np.int64).tolist()):
                    row[i] = code
            return Pool(rows, cat_features=cats)
        return Pool(
            self._frame(X),
            label=None if y is None else np.asarray(y).astype(int),
            cat_features=list(getattr(self, "categorical_inputs_", [])),
        )

    def _params(self, y: np.ndarray) -> dict[str, Any]:
        rows, rate = len(y), float(np.mean(y)) if len(y) else 0.0
        params: dict[str, Any] = {
            "iterations": int(self.iterations),
            "learning_rate": float(self.learning_rate)
            if self.learning_rate is not None
            else (0.05 if rows < 50_000 else 0.1),
            "depth": int(self.depth),
            "l2_leaf_reg": float(self.l2_leaf_reg),
            "loss_function": "Logloss",
            "eval_metric": "PRAUC",
            "random_seed": int(self.seed),
            "thread_count": int(self.n_jobs),
            "verbose": False,
            "allow_writing_files": False,
        }
        if rate < 0.01:
            params["min_data_in_leaf"] = 50
        if self.imbalance == "class-weight":
            params["auto_class_weights"] = "Balanced"
        return params

    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> CatBoostClassifier:
        self.check_params()
        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        y = np.asarray(y).astype(int).reshape(-1)
        params = self._params(y)
        self.learning_rate_ = float(params["learning_rate"])  # the refit on more rows keeps it (refit_params)
        self.model_ = _CatBoost(**params)
        kwargs: dict[str, Any] = {}
        if X_val is not None:
            kwargs = {
                "eval_set": self._pool(X_val, y_val),
                "early_stopping_rounds": int(self.early_stopping_rounds),
                "use_best_model": True,
            }
        self.model_.fit(self._pool(X, y), **kwargs)
        self.validation_oof_ = None
        self.refit_: dict[str, Any] | None = None
        if X_val is not None and refit_wanted(self.refit, len(y)):  # a small table: uptake.models.crossfit
            stopped = self.refit_params()["iterations"]

            def fold_model() -> CatBoostClassifier:
                model = clone(self).set_params(refit=False, learning_rate=self.learning_rate_)
                model.categorical_inputs_ = list(getattr(self, "categorical_inputs_", []))
                return model

            X_all, y_all, rounds, self.validation_oof_ = cross_fitted(
                fold_model, X, y, X_val, y_val, int(self.seed), "iterations"
            )
            # CatBoost's trees depend on how many it is asked to grow: grow as many as a stopped run does (its
            # size and the patience), then keep the size (a fresh 32-tree model ranked the bank holdout at 0.87,
            # 32 trees of a longer run at 0.98)
            self.model_ = _CatBoost(**{**params, "iterations": rounds + int(self.early_stopping_rounds)})
            self.model_.fit(self._pool(X_all, y_all))
            self.model_.shrink(rounds)
            self.refit_ = {"rows": len(X_all), "iterations": rounds, "one_split_iterations": stopped}
        self.mark_fitted(np.asarray(X).shape[1])
        return self

    def held_out_validation(self) -> np.ndarray | None:
        """The early-stopped model's validation scores, when the served model was refit on those rows too."""
        return getattr(self, "validation_oof_", None)

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self.checked(X)
        if len(X) == 0:
            return np.zeros((0, 2))
        threads = {"thread_count": 1} if len(X) <= FEW_ROWS else {}  # a few rows: no thread pool to wake
        p = np.asarray(
            self.model_.predict(self._pool(X), prediction_type="Probability", **threads)[:, 1], dtype=np.float64
        )
        return np.column_stack([1.0 - p, p])

    def numpy_forward(self) -> Any:
        """The library's own predict on the compiled rows (CatBoost evaluates oblivious trees in C++)."""
        self.check_is_fitted()
        return lambda x: self.predict_proba(x)[:, 1]

    def refit_on(self, X: Any, y: Any, scale: float = 1.0) -> CatBoostClassifier:
        """As a stopped run grows its trees (its size and the patience), kept at this model's size."""
        rounds = max(1, int(round(self.refit_params()["iterations"] * scale)))
        model = clone(self).set_params(refit=False, learning_rate=self.learning_rate_)
        model.set_params(iterations=rounds + int(self.early_stopping_rounds))
        model.categorical_inputs_ = list(getattr(self, "categorical_inputs_", []))
        model.fit(X, y)
        model.model_.shrink(rounds)
        return model

    def hyperparameters(self) -> dict[str, Any]:
        out = dict(self.get_params(deep=False))
        if getattr(self, "refit_", None):
            out["refit"] = self.refit_
        return out

    def refit_params(self) -> dict[str, Any]:
        best = self.model_.get_best_iteration()
        return {
            "iterations": int(best) + 1 if best is not None else int(self.model_.tree_count_),
            "learning_rate": self.learning_rate_,
        }

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """CatBoost's SHAP values on the log-odds: one column per input, then the expected value."""
        X = self.checked(X)
        return np.asarray(self.model_.get_feature_importance(self._pool(X), type="ShapValues"))

    # ---- persistence ------------------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        self.model_.save_model(str(directory / MODEL_FILE), format="cbm")
        return {
            "params": self.get_params(),
            "n_features_in": self.n_features_in_,
            "categorical_inputs": list(getattr(self, "categorical_inputs_", [])),
            "best_iteration": self.model_.get_best_iteration(),
        }

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> CatBoostClassifier:
        model_file = directory / MODEL_FILE
        if not model_file.is_file():
            raise UptakeInputError(f"file '{model_file}' not found; the saved CatBoost model is incomplete")
        est = cls(**meta["params"])
        est.model_ = _CatBoost()
        try:
            est.model_.load_model(str(model_file), format="cbm")
        except CatBoostError as exc:
            raise UptakeInputError(f"file '{model_file}': not a readable CatBoost model ({exc})") from None
        est.categorical_inputs_ = [int(i) for i in meta["categorical_inputs"]]
        est.mark_fitted(meta["n_features_in"])
        if len(est.model_.feature_names_) != est.n_features_in_:
            raise UptakeInputError(
                f"file '{model_file}': the trees use {len(est.model_.feature_names_)} inputs but "
                f"the sidecar says {est.n_features_in_}"
            )
        return est


__all__ = ["CatBoostClassifier"]
