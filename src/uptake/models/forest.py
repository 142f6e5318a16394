"""Random forests and extremely randomised trees (scikit-learn) behind the uptake family contract.

Averaged deep trees make different mistakes from boosted ones, which is what a
weighted ensemble needs (``--model auto`` uses both), and on a few thousand rows a
plain forest ranks customers about as well as boosting. Defaults follow the data: on
more than 20,000 rows each tree grows on a bootstrap sample of 20,000. Below a 1% base
rate on more than 50,000 rows (card fraud) a uniform sample would give each tree a few
dozen positives, so a random forest grows each tree on every positive and as many
negatives drawn at random (imbalanced-learn's balanced random forest; Chen, Liaw and
Breiman, 2004); its scores are mapped back to the table's base rate (Dal Pozzolo et
al., 2015: ``p = r*s / (r*s - s + 1)``, ``r`` the share of negatives a tree saw over
the share of positives; on new rows their mean is the base rate again, tested). Which of
the two kinds fits a table is not known beforehand (on the loan table the random forest
ranks better, on the synthetic fraud table extremely randomised trees do: test PR-AUC
0.871 against 0.791), so by default (``kind="auto"``) both are grown and the one with
the better validation PR-AUC is kept, as the logistic regression picks its ``C``. Saved
with skops, loaded against an exact allow-list (the forest, its trees and the tree
structure; no pickle).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import skops.io as sio
from imblearn.ensemble import BalancedRandomForestClassifier
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.metrics import average_precision_score
from sklearn.utils._param_validation import Interval, StrOptions

from uptake.errors import UptakeInputError
from uptake.models.base import Family, refit_wanted
from uptake.models.flat_trees import FlatTrees

MODEL_FILE = "forest.skops"
KINDS = {"random-forest": RandomForestClassifier, "extra-trees": ExtraTreesClassifier}
#: Rows one tree is grown on at most (a bootstrap sample of bigger tables): the forest's cost stops growing.
MAX_TREE_ROWS = 20_000
#: The rare-event regime: a base rate below this on more than RARE_ROWS rows.
RARE_RATE, RARE_ROWS = 0.01, 50_000
#: What a fitted random forest carries over from imbalanced-learn's balanced one (the rest is its samplers).
FITTED = ("estimator_", "estimators_", "classes_", "n_classes_", "n_outputs_", "n_features_in_")
#: ``kind="auto"``: the kinds grown and compared on the validation rows (the first without validation rows).
AUTO_KINDS = ("random-forest", "extra-trees")
#: Up to this many rows, the trees are walked together (flat_trees: ~4x faster for one row, slower past ~8).
FLAT_ROWS = 4
#: The only type in a saved forest that skops does not trust by itself: the tree arrays' holder.
TRUSTED = frozenset({"sklearn.tree._tree.Tree"})


class ForestClassifier(Family):
    """A random forest or extremely randomised trees.

    Parameters:
        kind: ``random-forest`` (bootstrap rows, best split), ``extra-trees`` (all rows, random splits) or
            ``auto`` (both, keeping the better on validation PR-AUC; a random forest without validation rows).
        n_estimators, max_features, min_samples_leaf, criterion: scikit-learn's knobs.
        imbalance: ``none`` or ``class-weight`` (``class_weight="balanced_subsample"``).
        sampling: what each random-forest tree grows on: ``bootstrap`` (rows drawn uniformly),
            ``balanced`` (every positive and as many negatives) or ``auto`` (balanced in the rare-event
            regime, else bootstrap). Extra trees always use all rows (or a uniform sample of big tables).
        refit: with validation rows, grow the chosen kind once more on training and validation rows
            together (the validation rows' scores stay the first forest's); ``None`` does so below
            ``REFIT_ROWS`` training rows, ``False`` never (auto's members).
        seed, n_jobs: randomness and threads.
    """

    name = "forest"
    sidecar = "forest.json"
    format = "uptake-forest"
    label = "forest"
    library = "scikit-learn"
    auto_member = True
    cost_per_1k_rows = 0.4
    cost_rows_cap = 20_000  # each tree grows on at most 20,000 rows
    imbalance_options = ("none", "class-weight")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "kind": [StrOptions({*KINDS, "auto"})],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_features": [Interval(Real, 0, 1, closed="right"), StrOptions({"sqrt", "log2"})],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "criterion": [StrOptions({"gini", "entropy"})],
        "imbalance": [StrOptions({"none", "class-weight"})],
        "sampling": [StrOptions({"auto", "bootstrap", "balanced"})],
        "refit": ["boolean", None],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        kind: str = "auto",
        n_estimators: int = 300,
        max_features: float | str = "sqrt",
        min_samples_leaf: int = 1,
        criterion: str = "gini",
        imbalance: str = "none",
        sampling: str = "auto",
        refit: bool | None = None,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.refit = refit
        self.kind = kind
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.criterion = criterion
        self.imbalance = imbalance
        self.sampling = sampling
        self.seed = seed
        self.n_jobs = n_jobs

    @classmethod
    def from_options(cls, options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> ForestClassifier:
        return cls(seed=options.get("seed", 0), imbalance=options.get("imbalance") or "none")

    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> ForestClassifier:
        """Grow the trees on ``X, y``; validation rows only choose the kind when ``kind="auto"``."""
        self.check_params()
        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y).astype(int).reshape(-1)
        kinds = AUTO_KINDS if self.kind == "auto" else (self.kind,)
        if X_val is None:
            kinds = kinds[:1]
        self.validation_scores_: dict[str, float] = {}
        best: tuple[float, str, Any, float] | None = None
        for kind in kinds:
            model, odds = self._grow(kind, X, y)
            if len(kinds) == 1:
                best = (math.nan, kind, model, odds)
                break
            self.model_, self.odds_factor_ = model, odds
            self.flat_ = None
            score = float(
                average_precision_score(
                    np.asarray(y_val).astype(int).reshape(-1), self._proba(np.asarray(X_val, dtype=np.float32))
                )
            )
            self.validation_scores_[kind] = score
            if best is None or score > best[0]:
                best = (score, kind, model, odds)
        assert best is not None
        _, self.kind_, self.model_, self.odds_factor_ = best  # odds: the table's over those the trees were grown on
        self.flat_ = None  # the flat copy of the trees is built from these trees on first use
        self.validation_oof_ = None
        self.refit_: dict[str, Any] | None = None
        if X_val is not None and refit_wanted(self.refit, len(y)):
            X_val = np.asarray(X_val, dtype=np.float32)
            self.validation_oof_ = self._proba(X_val)
            X_all = np.vstack([X, X_val])
            self.model_, self.odds_factor_ = self._grow(
                self.kind_, X_all, np.concatenate([y, np.asarray(y_val).astype(int).reshape(-1)])
            )
            self.flat_ = None
            self.refit_ = {"rows": len(X_all)}
        self.mark_fitted(X.shape[1])
        return self

    def held_out_validation(self) -> np.ndarray | None:
        """The first forest's validation scores, when the served one was grown on those rows too."""
        return getattr(self, "validation_oof_", None)

    def numeric_encoding(self) -> str:
        """Numbers as they are: missing values stay missing (scikit-learn's trees learn where they go)."""
        return "native"

    def refit_params(self) -> dict[str, Any]:
        """The kind chosen on validation: grown again without validation rows, it is not chosen again."""
        return {"kind": self.kind_}

    def _grow(self, kind: str, X: np.ndarray, y: np.ndarray) -> tuple[Any, float]:
        """One forest of ``kind`` on ``X, y``, and the odds factor its scores are mapped back with."""
        rare = y.mean() < RARE_RATE and len(y) > RARE_ROWS
        if kind == "random-forest" and (self.sampling == "balanced" or (self.sampling == "auto" and rare)):
            return self._fit_balanced(X, y)
        # each tree sees at most MAX_TREE_ROWS rows (a bootstrap sample), so a tree costs the same on
        # 5,000 or 5,000,000 rows; below that, the usual full bootstrap (forest) or all rows (extra trees).
        # Single-row leaves are kept at any base rate: on the fraud table (0.17%) five-row leaves
        # ranked worse (test PR-AUC 0.827 against 0.871 for extra trees, 0.668 against 0.736 for a
        # uniformly sampled random forest).
        sample = min(1.0, MAX_TREE_ROWS / max(len(y), 1))
        model = KINDS[kind](
            n_estimators=int(self.n_estimators),
            max_features=self.max_features,
            min_samples_leaf=int(self.min_samples_leaf),
            criterion=self.criterion,
            class_weight=self._class_weight(),
            bootstrap=kind == "random-forest" or sample < 1.0,
            max_samples=sample if sample < 1.0 else None,
            random_state=int(self.seed),
            n_jobs=int(self.n_jobs),
        )
        model.fit(X, y)
        return model, 1.0

    def hyperparameters(self) -> dict[str, Any]:
        """The parameters, with the kind grown (and, when chosen, both kinds' validation PR-AUC) for the card."""
        params = self.get_params(deep=False)
        if getattr(self, "kind_", None) is not None:
            params["kind"] = self.kind_
            if getattr(self, "validation_scores_", None):
                params["kind_validation_pr_auc"] = dict(self.validation_scores_)
        if getattr(self, "refit_", None):
            params["refit"] = self.refit_
        return params

    def _class_weight(self) -> str | None:
        return "balanced_subsample" if self.imbalance == "class-weight" else None

    def _fit_balanced(self, X: np.ndarray, y: np.ndarray) -> tuple[RandomForestClassifier, float]:
        """Each tree on every positive and as many negatives (at most MAX_TREE_ROWS rows), kept as a plain forest."""
        positives = int(y.sum())
        if positives == 0 or positives == len(y):
            raise UptakeInputError("the training rows hold one class only: a balanced forest needs both")
        pairs = 2 * min(positives, len(y) - positives)
        balanced = BalancedRandomForestClassifier(
            n_estimators=int(self.n_estimators),
            max_features=self.max_features,
            min_samples_leaf=int(self.min_samples_leaf),
            criterion=self.criterion,
            class_weight=self._class_weight(),
            sampling_strategy="auto",
            replacement=False,
            bootstrap=True,
            max_samples=MAX_TREE_ROWS if pairs > MAX_TREE_ROWS else None,  # rows, of the balanced sample
            random_state=int(self.seed),
            n_jobs=int(self.n_jobs),
        )
        balanced.fit(X, y)
        # the same trees in scikit-learn's own forest: it predicts them alike and is what the allow-list trusts
        model = RandomForestClassifier(n_estimators=int(self.n_estimators), random_state=int(self.seed))
        for name in FITTED:
            setattr(model, name, getattr(balanced, name))
        # the trees saw even odds; the table's odds are positives / negatives
        return model, positives / (len(y) - positives)

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self.checked(X).astype(np.float32)
        if len(X) == 0:
            return np.zeros((0, 2))
        p = self._proba(X)
        return np.column_stack([1.0 - p, p])

    def _proba(self, X: np.ndarray) -> np.ndarray:
        """The positive class's probability of float32 rows, by the fastest walk for their number."""
        if len(X) <= FLAT_ROWS and not np.isnan(X).any():  # one customer: all trees walked together
            p = self._flat().positive_share(X)
        elif len(X) >= 10_000:
            p = np.asarray(self.model_.predict_proba(X)[:, 1], dtype=np.float64)
        else:  # a few customers: each tree's own traversal, without joblib's ~40 us per tree
            p = np.zeros(len(X))
            for tree in self.model_.estimators_:
                v = tree.tree_.predict(X)
                p += v[:, 1] / v.sum(axis=1)
            p /= len(self.model_.estimators_)
        r = float(getattr(self, "odds_factor_", 1.0))
        if r != 1.0:  # the balanced trees' scores, mapped back to the table's base rate
            p = r * p / (r * p - p + 1.0)
        return p

    def _flat(self) -> FlatTrees:
        flat = getattr(self, "flat_", None)
        if flat is None:  # built on first use (~10 ms for 150 deep trees), kept for the next customer
            flat = self.flat_ = FlatTrees([tree.tree_ for tree in self.model_.estimators_])
        return flat

    def numpy_forward(self) -> Any:
        """scikit-learn's own tree traversal on the compiled rows."""
        self.check_is_fitted()
        return lambda x: self.predict_proba(x)[:, 1]

    # ---- persistence ---------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        sio.dump(self.model_, directory / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)  # ~7x smaller
        return {
            "params": self.get_params(),
            "kind": self.kind_,
            "n_features_in": self.n_features_in_,
            "odds_factor": float(getattr(self, "odds_factor_", 1.0)),
        }

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> ForestClassifier:
        path = directory / MODEL_FILE
        est = cls(**meta["params"])
        est.kind_ = meta.get("kind", est.kind)  # saved before kind="auto": the parameter names the kind
        est.validation_scores_ = {}
        expected = KINDS.get(est.kind_)
        try:
            untrusted = sio.get_untrusted_types(file=path)
            refused = [t for t in untrusted if t not in TRUSTED]
            if refused:
                raise UptakeInputError(f"file '{path}': refuses to load untrusted type {refused[0]!r}")
            model = sio.load(path, trusted=list(untrusted))
        except UptakeInputError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged file is the user's input
            raise UptakeInputError(f"file '{path}': not a readable forest ({exc})") from None
        if type(model) is not expected:
            raise UptakeInputError(
                f"file '{path}': holds a {type(model).__name__}, not the {est.kind_} its sidecar names"
            )
        est.model_ = model
        est.odds_factor_ = float(meta.get("odds_factor", 1.0))  # saved before balanced forests: 1
        if not (np.isfinite(est.odds_factor_) and est.odds_factor_ > 0):
            raise UptakeInputError(
                f"file '{directory / cls.sidecar}': odds_factor {est.odds_factor_!r} is not a positive number"
            )
        est.mark_fitted(meta["n_features_in"])
        if int(model.n_features_in_) != est.n_features_in_:
            raise UptakeInputError(
                f"file '{path}': the trees use {model.n_features_in_} inputs but the sidecar says {est.n_features_in_}"
            )
        return est


__all__ = ["ForestClassifier"]
