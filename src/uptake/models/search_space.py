"""What ``--model auto`` searches, and what each candidate is expected to cost.

The candidates are tried in order, strong and cheap ones first, so a short limit
still gets the best value for its time. A candidate is started only if its estimated
cost fits in the time left: from its family's folds measured earlier in the same
search, else from a per-family prior scaled by the data's size (2 cores).

The network member is the ``default`` preset, one seed per fold, on its own encoding
of auto's shared inputs (:class:`~uptake.models.coded_network.CodedNetwork`); a fold
costs about 3 s on the bank's 4,375 rows (its epochs of patience dominate) and about
0.55 s per 1,000 rows on big tables, so it joins where the limit leaves room for all
its folds after the eight tree configurations (on the bank table from about 90 s; at
the default 60 s the trees use the time, which the bank screens showed better spent)
and is skipped otherwise. It stops early on its own rows and is not refit
(:data:`OWN_STOPPING_FAMILIES`, :data:`REFIT_FAMILIES`).

On one holdout (a table too big to bag within the limit) the search has no folds of its
own to average a network's draws over, so the network member is then the ``default``
preset's cross-fitted members themselves (:data:`HOLDOUT_PARAMS`: five on a big table,
each trained on four fifths of the training rows and stopped on the rest), tried third
(:data:`HOLDOUT_EARLY`); the validation rows, which none of them saw, are scored by all
of them averaged, as the network serves, and weight and threshold it. It costs one
fold per member.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from uptake.models.base import Family

#: The candidates, in the order they are tried: (name, family, parameters). Eight cheap tree configurations
#: first: on the bank table they are bagged within the default 60 s, and the stacker draws on all of them
#: (the weak ones take negative weights that cancel errors they share with the strong). The network and the
#: deep CatBoost come after them, where a longer limit leaves room. Each configuration earned its place in
#: the bank screens (docs/models.md), and the LightGBMs' learning rates keep a refit model to a few hundred
#: trees, so a file scores at 50,000 rows/s with all of them.
CANDIDATES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("lightgbm", "lightgbm", {"native_categories": True}),
    ("catboost", "catboost", {}),
    ("random-forest", "forest", {"kind": "random-forest", "n_estimators": 150}),  # x k folds: plenty of trees
    ("extra-trees", "forest", {"kind": "extra-trees", "n_estimators": 150}),
    ("lightgbm-xt", "lightgbm", {"extra_trees": True, "learning_rate": 0.1, "num_leaves": 15,
                                 "colsample_bytree": 0.6, "native_categories": True}),
    ("catboost-depth4", "catboost", {"depth": 4, "learning_rate": 0.08}),
    ("lightgbm-small", "lightgbm", {"learning_rate": 0.08, "num_leaves": 7, "min_child_samples": 10,
                                    "native_categories": True}),
    ("random-forest-leaf3", "forest", {"kind": "random-forest", "n_estimators": 150, "min_samples_leaf": 3,
                                       "max_features": 0.5}),
    ("network", "network", {"preset": "default", "n_models": 1}),
    ("catboost-depth8", "catboost", {"depth": 8, "l2_leaf_reg": 5.0}),
)
#: Candidates tried right after the first two on one holdout (a big table): there the network is the
#: preset's cross-fitted members, the strongest single candidate on the fraud table, and it must not wait
#: behind trees the limit then has no room left for.
HOLDOUT_EARLY = ("network",)
#: Families whose chosen candidate is refit on all rows (``refit_full``). A network keeps its fold models:
#: they are ``k`` draws of a noisy learner averaged, which is what its out-of-fold score and weight
#: measured; one refit draw varies more (docs/models.md has the bank screens).
REFIT_FAMILIES = frozenset({"lightgbm", "catboost", "forest"})
#: Families whose fold models stop early on a fifth of their own training rows rather than on the held-out
#: fold (or, on one holdout, the validation rows): a network picks its best of tens of noisy epochs, and
#: picked on the held-out rows that choice flatters the score the weights are chosen on.
OWN_STOPPING_FAMILIES = frozenset({"network"})
#: Parameters a candidate's family takes instead on one holdout (see the module docstring).
HOLDOUT_PARAMS: dict[str, dict[str, Any]] = {"network": {"n_models": None}}
#: Seconds one fold takes per 1,000 training rows before any has been measured (2 cores). The network's is
#: measured on the fraud table: one default network trained in 101 s on 182,000 rows (0.55 s per 1,000).
PRIOR_SECONDS_PER_1K_ROWS = {"lightgbm": 0.3, "catboost": 1.0, "forest": 0.4, "network": 0.6}
#: Families whose cost stops growing with the rows (a forest grows each tree on at most 20,000 rows).
PRIOR_ROWS_CAP = {"forest": 20_000}
#: Seconds a fold of a family takes at least, however few the rows (a network's epochs of patience).
PRIOR_SECONDS_FLOOR = {"network": 3.5}
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


def in_order(candidates: list[tuple[str, str, dict[str, Any]]], holdout: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """The candidates in the order they are tried (:data:`HOLDOUT_EARLY` moved up on one holdout)."""
    if not holdout:
        return candidates
    early = [c for c in candidates if c[0] in HOLDOUT_EARLY]
    rest = [c for c in candidates if c[0] not in HOLDOUT_EARLY]
    return rest[:2] + early + rest[2:]


def fold_cost(family: str, rows: int, measured: Mapping[str, list[float]]) -> float:
    """Estimated seconds of one fold of ``family`` on ``rows`` rows."""
    seen = measured.get(family)
    if seen:
        return float(np.mean(seen))
    rows = max(min(rows, PRIOR_ROWS_CAP.get(family, rows)), 1000)
    return max(PRIOR_SECONDS_PER_1K_ROWS.get(family, 1.0) * rows / 1000, PRIOR_SECONDS_FLOOR.get(family, 0.0))


def members(family: str, params: Mapping[str, Any], rows: int) -> int:
    """Models one fit of a candidate trains, each costing a fold: a network preset's own members where its
    ``n_models`` is left to the preset, counted from the ``rows`` that fit trains on."""
    if family != "network" or params.get("n_models") is not None:
        return 1
    from uptake.models.network.config import PRESETS, members_for  # Keras is imported only where a network is

    return int(members_for(PRESETS[str(params.get("preset", "default"))], rows).n_models)


def refit_value(values: list[Any]) -> Any:
    """One refit parameter from the fold models': the mean of counts (rounds, epochs), or the value all
    share (a learning rate the data's size chose: the refit's larger table must not choose another)."""
    if all(v == values[0] for v in values):
        return values[0]
    if all(isinstance(v, (int, np.integer)) for v in values):
        return int(round(float(np.mean(values))))
    return float(np.mean(values))


def refit_cost(family: str, rows: int, k: int, measured: Mapping[str, list[float]]) -> float:
    """Estimated seconds of training ``family`` once on all rows after ``k``-fold bagging."""
    return fold_cost(family, rows, measured) * k / (k - 1)  # all rows, not k-1 folds of them


__all__ = ["CANDIDATES", "HOLDOUT_EARLY", "HOLDOUT_PARAMS", "in_order", "MAX_REPEATS", "OWN_STOPPING_FAMILIES", "REFIT_FAMILIES", "MEMBER_CLASSES", "MEMBER_FAMILIES", "fold_cost", "member_class", "members",
           "refit_cost", "refit_value"]
