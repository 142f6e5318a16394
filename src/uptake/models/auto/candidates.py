"""What ``--model auto`` searches, in the order it tries them.

The candidates are tried in order, strong and cheap ones first, so a short limit
still gets the best value for its time. What each candidate's family costs, where it
stops early and whether it is refit after bagging, the family declares itself
(:class:`~uptake.models.base.Family`'s class attributes); this module holds only the
search's own choices.

On one holdout (a table too big to bag within the limit) the search has no folds of
its own to average a network's draws over, so the network member is then the
``default`` preset's cross-fitted members themselves (its family's ``holdout_params``),
tried third (:data:`HOLDOUT_EARLY`); the validation rows, which none of them saw, are
scored by all of them averaged, as the network serves, and weight and threshold it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
    (
        "lightgbm-xt",
        "lightgbm",
        {
            "extra_trees": True,
            "learning_rate": 0.1,
            "num_leaves": 15,
            "colsample_bytree": 0.6,
            "native_categories": True,
        },
    ),
    ("catboost-depth4", "catboost", {"depth": 4, "learning_rate": 0.08}),
    (
        "lightgbm-small",
        "lightgbm",
        {"learning_rate": 0.08, "num_leaves": 7, "min_child_samples": 10, "native_categories": True},
    ),
    (
        "random-forest-leaf3",
        "forest",
        {"kind": "random-forest", "n_estimators": 150, "min_samples_leaf": 3, "max_features": 0.5},
    ),
    ("network", "network", {"preset": "default", "n_models": 1}),
    ("catboost-depth8", "catboost", {"depth": 8, "l2_leaf_reg": 5.0}),
)
#: Candidates tried right after the first two on one holdout (a big table): there the network is the
#: preset's cross-fitted members, the strongest single candidate on the fraud table, and it must not wait
#: behind trees the limit then has no room left for.
HOLDOUT_EARLY = ("network",)
#: Most rounds of bagging (each on new folds) while time is left; AutoGluon allows 20.
MAX_REPEATS = 5

Candidate = tuple[str, str, dict[str, Any]]


def in_order(candidates: list[Candidate], holdout: bool) -> list[Candidate]:
    """The candidates in the order they are tried (:data:`HOLDOUT_EARLY` moved up on one holdout)."""
    if not holdout:
        return candidates
    early = [c for c in candidates if c[0] in HOLDOUT_EARLY]
    rest = [c for c in candidates if c[0] not in HOLDOUT_EARLY]
    return rest[:2] + early + rest[2:]


def refit_value(values: list[Any]) -> Any:
    """One refit parameter from the fold models': the mean of counts (rounds, epochs), or the value all
    share (a learning rate the data's size chose: the refit's larger table must not choose another)."""
    if all(v == values[0] for v in values):
        return values[0]
    if all(isinstance(v, (int, np.integer)) for v in values):
        return int(round(float(np.mean(values))))
    return float(np.mean(values))


__all__ = ["CANDIDATES", "HOLDOUT_EARLY", "MAX_REPEATS", "Candidate", "in_order", "refit_value"]
