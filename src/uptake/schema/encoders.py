"""The numeric and date kinds' encoders: clipping after standardising, piecewise-linear encoding, date parts.

They are scikit-learn transformers saved inside the model's preprocessor (skops,
allow-listed by exact class, see ``uptake.features.persist``). Models saved by
release 0.1.0 name them ``uptake.features.Clip`` and ``uptake.features.PiecewiseLinear``,
which ``uptake.features`` still re-exports, so those files load unchanged.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.tree import DecisionTreeClassifier

CLIP = 5.0


class Clip(TransformerMixin, BaseEstimator):
    """Clip standardized values to +-limit, as the TF imbalanced-data tutorial does.

    Card amounts and incomes have long tails; one customer 40 standard deviations
    out would otherwise dominate a batch's gradient.
    """

    def __init__(self, limit: float = CLIP) -> None:
        self.limit = limit

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=np.float64), -self.limit, self.limit)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


class DateParts(TransformerMixin, BaseEstimator):
    """Day numbers (days since 1970-01-01) as four numbers: the day number, the year, the month and the day of
    the week (0 = Monday). Plain numpy, so the fast path replays it as it is."""

    PARTS = 4

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        days = np.asarray(X, dtype=np.float64)
        missing = np.isnan(days)
        whole = np.floor(np.where(missing, 0.0, days))
        dates = whole.astype("int64").astype("datetime64[D]")
        years = dates.astype("datetime64[Y]")
        year = years.astype(np.int64) + 1970.0
        month = (dates.astype("datetime64[M]") - years).astype(np.int64) + 1.0
        weekday = np.mod(whole + 3, 7)  # 1970-01-01 was a Thursday
        out = np.stack([days, year, month, weekday], axis=2)
        out[np.broadcast_to(missing[:, :, None], out.shape)] = np.nan  # a missing date stays missing in every part
        return out.reshape(days.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        names = list(input_features) if input_features is not None else [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray([f"{n}_{p}" for n in names for p in ("day", "year", "month", "weekday")], dtype=object)


class PiecewiseLinear(TransformerMixin, BaseEstimator):
    """Piecewise-linear encoding of numeric features (Gorishniy et al., 2022).

    Each value becomes one number in [0, 1] per bin, filling up bin by bin between
    edges learnt on training data. An MLP then learns step-like effects (acceptance
    jumps once income passes ~100k) that a single standardized input makes it work
    hard for; this closes much of the gap to gradient boosting. The standardized
    value itself is kept alongside, so extrapolation stays linear.

    ``bins="quantile"``: ``n_bins`` equal-count bins. ``bins="tree"`` (the paper's
    target-aware bins): the thresholds of a classification tree of at most ``n_bins``
    leaves of at least ``min_leaf`` rows, grown on that column alone against the
    target, so the edges sit where the outcome changes; fitting needs ``y``.
    ``bins="tree+boost"``: those edges and, per column, the ``n_bins - 1`` thresholds a
    small boosted model over all the numeric columns together gains most from (100
    LightGBM rounds of 8 leaves of at least ``min_leaf`` rows): where the outcome
    changes given the other columns too (a middling income matters when card spending
    is high), which a column's own tree cannot see.
    """

    #: models saved before tree bins existed hold no ``bins`` or ``min_leaf``: they were quantile bins
    bins = "quantile"
    min_leaf = 32

    def __init__(self, n_bins: int = 16, bins: str = "quantile", min_leaf: int = 32) -> None:
        self.n_bins = n_bins
        self.bins = bins
        self.min_leaf = min_leaf

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        if self.bins in ("tree", "tree+boost"):
            if y is None:
                raise ValueError("tree bins are learnt from the target: fit(X, y)")
            y = np.asarray(y).reshape(-1)
            self.edges_ = [self._tree_edges(X[:, j], y) for j in range(X.shape[1])]
            if self.bins == "tree+boost":
                self.edges_ = [
                    np.unique(np.concatenate([a, b])) for a, b in zip(self.edges_, self._boosted_edges(X, y))
                ]
        elif self.bins == "quantile":
            qs = np.linspace(0.0, 1.0, self.n_bins + 1)
            self.edges_ = [np.unique(np.quantile(X[:, j], qs)) for j in range(X.shape[1])]
        else:
            raise ValueError(f"bins must be 'quantile', 'tree' or 'tree+boost', got {self.bins!r}")
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return self

    def _tree_edges(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        tree = (
            DecisionTreeClassifier(
                max_leaf_nodes=max(int(self.n_bins), 2), min_samples_leaf=int(self.min_leaf), random_state=0
            )
            .fit(x.reshape(-1, 1), y)
            .tree_
        )
        return np.unique(np.concatenate([[x.min(), x.max()], tree.threshold[tree.feature >= 0]]))

    def _boosted_edges(self, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Per column, the thresholds a small boosted model over all the numeric columns splits on most
        (by gain): where the outcome changes given the other columns, not only on the column alone."""
        import lightgbm as lgb  # only where such bins are fitted: LightGBM is a heavy import

        params = dict(
            objective="binary",
            num_leaves=8,
            learning_rate=0.1,
            min_data_in_leaf=int(self.min_leaf),
            num_threads=1,
            seed=0,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        booster = lgb.train(params, lgb.Dataset(X, y.astype(np.float64), params={"verbose": -1}), num_boost_round=100)
        gains: list[dict[float, float]] = [{} for _ in range(X.shape[1])]
        stack = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
        while stack:
            node = stack.pop()
            if "split_feature" in node:
                g = gains[int(node["split_feature"])]
                g[float(node["threshold"])] = g.get(float(node["threshold"]), 0.0) + float(node["split_gain"])
                stack += [node["left_child"], node["right_child"]]
        out = []
        for j, g in enumerate(gains):
            top = sorted(g, key=lambda t: -g[t])[: max(int(self.n_bins) - 1, 1)]
            out.append(np.unique(np.concatenate([[X[:, j].min(), X[:, j].max()], top])))
        return out

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        blocks = [np.clip((X - self.mean_) / self.scale_, -CLIP, CLIP)]
        for j, edges in enumerate(self.edges_):
            if len(edges) < 2:
                continue
            lo, hi = edges[:-1], edges[1:]
            width = np.where(hi > lo, hi - lo, 1.0)
            blocks.append(np.clip((X[:, [j]] - lo) / width, 0.0, 1.0))
        return np.hstack(blocks)


__all__ = ["CLIP", "Clip", "PiecewiseLinear"]
