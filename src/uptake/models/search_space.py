"""What ``--model auto`` searches, and what each candidate is expected to cost.

The candidates are tried in order, strong and cheap ones first, so a short limit
still gets the best value for its time. A candidate is started only if its estimated
cost fits in the time left: from its family's folds measured earlier in the same
search, else from a per-family prior scaled by the data's size (2 cores).

The network member is the ``default`` preset, one seed per fold, on its own encoding
of auto's shared inputs (:class:`~uptake.models.coded_network.CodedNetwork`); it costs
about three times a LightGBM fold (more on small tables, where its epochs of patience dominate), so it joins where the limit allows (a big table's
holdout search with a limit of several minutes, or a small table's bagging with a
limit of a few minutes) and is skipped otherwise.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from uptake.models.base import Family

#: The candidates, in the order they are tried: (name, family, parameters).
CANDIDATES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("lightgbm", "lightgbm", {"native_categories": True}),
    ("catboost", "catboost", {}),
    ("network", "network", {"preset": "default", "n_models": 1}),
    ("random-forest", "forest", {"kind": "random-forest", "n_estimators": 150}),  # x k folds: plenty of trees
    ("extra-trees", "forest", {"kind": "extra-trees", "n_estimators": 150}),
    ("catboost-depth8", "catboost", {"depth": 8, "l2_leaf_reg": 5.0}),
    ("lightgbm-xt", "lightgbm", {"extra_trees": True, "learning_rate": 0.03, "num_leaves": 31,
                                 "colsample_bytree": 0.6, "native_categories": True}),
    ("catboost-depth4", "catboost", {"depth": 4, "learning_rate": 0.08}),
    ("lightgbm-large", "lightgbm", {"learning_rate": 0.03, "num_leaves": 63, "min_child_samples": 20,
                                    "colsample_bytree": 0.5, "reg_lambda": 5.0, "native_categories": True}),
)
#: Seconds one fold takes per 1,000 training rows before any has been measured (2 cores). The network's is
#: measured on the fraud table: one default network trained in 101 s on 182,000 rows (0.55 s per 1,000).
PRIOR_SECONDS_PER_1K_ROWS = {"lightgbm": 0.3, "catboost": 1.0, "forest": 0.4, "network": 0.6}
#: Families whose cost stops growing with the rows (a forest grows each tree on at most 20,000 rows).
PRIOR_ROWS_CAP = {"forest": 20_000}
#: Seconds a fold of a family takes at least, however few the rows (a network's epochs of patience).
PRIOR_SECONDS_FLOOR = {"network": 6.4}
#: Most rounds of bagging (each on new folds) while time is left; AutoGluon allows 20.
MAX_REPEATS = 5
#: Family name -> "module:Class" of the members auto trains and loads (not the combining families).
MEMBER_CLASSES = {
    "lightgbm": "uptake.models.gbm:LightGBMClassifier",
    "catboost": "uptake.models.catboost:CatBoostClassifier",
    "forest": "uptake.models.forest:ForestClassifier",
    "network": "uptake.models.coded_network:CodedNetwork",
}
MEMBER_FAMILIES = tuple(MEMBER_CLASSES)


def member_class(family: str) -> type[Family]:
    """The class auto trains for ``family`` (imported when first used: the network pulls in Keras)."""
    module, _, cls = MEMBER_CLASSES[family].partition(":")
    return getattr(importlib.import_module(module), cls)


def fold_cost(family: str, rows: int, measured: Mapping[str, list[float]]) -> float:
    """Estimated seconds of one fold of ``family`` on ``rows`` rows."""
    seen = measured.get(family)
    if seen:
        return float(np.mean(seen))
    rows = max(min(rows, PRIOR_ROWS_CAP.get(family, rows)), 1000)
    return max(PRIOR_SECONDS_PER_1K_ROWS.get(family, 1.0) * rows / 1000, PRIOR_SECONDS_FLOOR.get(family, 0.0))


def refit_cost(family: str, rows: int, k: int, measured: Mapping[str, list[float]]) -> float:
    """Estimated seconds of training ``family`` once on all rows after ``k``-fold bagging."""
    return fold_cost(family, rows, measured) * k / (k - 1)  # all rows, not k-1 folds of them


__all__ = ["CANDIDATES", "MAX_REPEATS", "MEMBER_CLASSES", "MEMBER_FAMILIES", "fold_cost", "member_class", "refit_cost"]
