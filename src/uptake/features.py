"""Turning validated raw columns into the numbers a network eats.

Built from a ``Schema`` with scikit-learn (Keras' preprocessing layers need
TensorFlow, which uptake does not install) and fitted on the training split only,
so nothing about validation or test rows leaks into the scaling. It is saved with
skops against an explicit allow-list of types: loading a model never runs code
from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from uptake.errors import UptakeInputError
from uptake.schema import Schema

NumericEncoding = Literal["standard", "ple"]
CLIP = 5.0


class Clip(TransformerMixin, BaseEstimator):
    """Clip standardized values to +-limit, as the TF imbalanced-data tutorial does.

    Card amounts and incomes have long tails; one customer 40 standard deviations
    out would otherwise dominate a batch's gradient.
    """

    def __init__(self, limit: float = CLIP) -> None:
        self.limit = limit

    def fit(self, X, y=None):  # noqa: N803 - sklearn's argument name
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):  # noqa: N803
        return np.clip(np.asarray(X, dtype=np.float64), -self.limit, self.limit)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


class PiecewiseLinear(TransformerMixin, BaseEstimator):
    """Piecewise-linear encoding of numeric features (Gorishniy et al., 2022).

    Each value becomes ``n_bins`` numbers in [0, 1] that fill up bin by bin between
    quantile edges learnt on training data. An MLP then learns step-like effects
    (acceptance jumps once income passes ~100k) that a single standardized input
    makes it work hard for; this closes much of the gap to gradient boosting.
    The standardized value itself is kept alongside, so extrapolation stays linear.
    """

    def __init__(self, n_bins: int = 16) -> None:
        self.n_bins = n_bins

    def fit(self, X, y=None):  # noqa: N803
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        qs = np.linspace(0.0, 1.0, self.n_bins + 1)
        self.edges_ = [np.unique(np.quantile(X[:, j], qs)) for j in range(X.shape[1])]
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return self

    def transform(self, X):  # noqa: N803
        X = np.asarray(X, dtype=np.float64)
        blocks = [np.clip((X - self.mean_) / self.scale_, -CLIP, CLIP)]
        for j, edges in enumerate(self.edges_):
            if len(edges) < 2:
                continue
            lo, hi = edges[:-1], edges[1:]
            width = np.where(hi > lo, hi - lo, 1.0)
            blocks.append(np.clip((X[:, [j]] - lo) / width, 0.0, 1.0))
        return np.hstack(blocks)


def build_preprocessor(schema: Schema, numeric_encoding: NumericEncoding = "standard") -> ColumnTransformer:
    """A ColumnTransformer for the schema: impute, scale and clip numbers; one-hot the codes."""
    numeric, binary, categorical = schema.by_kind("numeric"), schema.by_kind("binary"), schema.by_kind("categorical")
    if numeric_encoding == "ple":
        num_steps = [("impute", SimpleImputer(strategy="median")), ("ple", PiecewiseLinear())]
    elif numeric_encoding == "standard":
        num_steps = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()), ("clip", Clip())]
    else:
        raise UptakeInputError(f"numeric encoding {numeric_encoding!r} is not one of standard, ple")
    parts = []
    if numeric:
        parts.append(("numeric", Pipeline(num_steps), numeric))
    if binary:
        parts.append(("binary", SimpleImputer(strategy="most_frequent"), binary))
    if categorical:
        cat = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("onehot", OneHotEncoder(
                    categories=[schema.column(c).categories for c in categorical],
                    handle_unknown="ignore",
                    sparse_output=False,
                    dtype=np.float64,
                )),
            ]
        )
        parts.append(("categorical", cat, categorical))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)


def transform(pre: ColumnTransformer, clean: pd.DataFrame) -> np.ndarray:
    """Apply a fitted preprocessor to a validated frame; float32 is what the network wants."""
    return np.ascontiguousarray(pre.transform(clean), dtype=np.float32)


# ---- persistence (skops, allow-listed) ------------------------------------------------
#: Types beyond skops' own trusted set (scikit-learn estimators, plain containers) that a
#: saved preprocessor may contain, by exact name. A prefix rule ("builtins.", "numpy.")
#: would trust functions such as ``builtins.eval`` inside a FunctionTransformer, which
#: would then run on every row scored; anything not named here is refused before a
#: single object is built from the file.
ALLOWED_TYPES = frozenset({"numpy.dtype"})


def _allowed(type_name: str) -> bool:
    """Exact allow-list, plus the transformer classes this module itself defines."""
    if type_name in ALLOWED_TYPES:
        return True
    module, _, name = type_name.rpartition(".")
    obj = globals().get(name) if module == __name__ else None
    return isinstance(obj, type) and issubclass(obj, BaseEstimator)


def save_preprocessor(pre: ColumnTransformer, path: Path) -> None:
    import skops.io as sio

    sio.dump(pre, path)


def load_preprocessor(path: Path) -> ColumnTransformer:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise UptakeInputError(f"file '{path}': not a readable preprocessor ({exc})") from None
    refused = [t for t in untrusted if not _allowed(t)]
    if refused:
        raise UptakeInputError(f"file '{path}': refuses to load untrusted type {refused[0]!r}")
    return sio.load(path, trusted=untrusted)
