"""Imbalance strategies over already-preprocessed arrays: class weights, the initial bias, resampling.

About one customer in ten takes up the offer (9.6% positives in the bank table). A
network trained on such data by plain cross-entropy learns the base rate quickly and
the minority class slowly, so the two reference recipes we follow each add something:

* the Keras structured-data loan example weights each class by ``1 / count``;
* the TensorFlow "Classification on imbalanced data" tutorial initialises the output
  bias to ``log(pos / neg)``, weights classes by ``total / (2 * count)``, and shows
  oversampling with ``tf.data.Dataset.sample_from_datasets`` at weights ``[0.5, 0.5]``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler

from uptake.errors import UptakeInputError

STRATEGIES: tuple[str, ...] = ("none", "class-weight", "oversample", "balanced-batches", "smote")
"""Imbalance strategies understood by :class:`uptake.models.network.NetworkClassifier`."""

CLASS_WEIGHT_FORMULAS: tuple[str, ...] = ("inverse", "balanced")


def binary_labels(y: Any) -> np.ndarray:
    """Return ``y`` as a 1-d int8 array of 0/1, or raise UptakeInputError."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise UptakeInputError(f"labels must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise UptakeInputError("labels are empty")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.number):
        raise UptakeInputError(f"labels must be 0/1, got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise UptakeInputError(f"labels must be 0/1, got value {arr[np.argmax(bad)]!r}")
    return arr.astype(np.int8)


def class_counts(y: Any) -> tuple[int, int]:
    """(negatives, positives), both required to be non-zero."""
    labels = binary_labels(y)
    pos = int(labels.sum())
    neg = int(labels.size - pos)
    if pos == 0 or neg == 0:
        raise UptakeInputError(f"labels need both classes, got {neg} negatives and {pos} positives")
    return neg, pos


def class_weights(y: Any, formula: Literal["inverse", "balanced"] = "balanced") -> dict[int, float]:
    """Per-class loss weights that make both classes count equally in the loss.

    ``"inverse"`` is the Keras loan example's ``1 / count``: weights are tiny (about
    ``1e-4`` on a 30k-row table), so the effective learning rate of the weighted loss
    shrinks with the table size; the example compensates with a large Adam rate (1e-2).

    ``"balanced"`` is the TF imbalanced-data tutorial's ``total / (2 * count)`` (the same
    as scikit-learn's ``class_weight="balanced"``): both classes still sum to equal
    weight, but the mean weight over the table is 1, so the loss keeps the scale of
    plain cross-entropy and the usual learning rates still apply.
    """
    if formula not in CLASS_WEIGHT_FORMULAS:
        raise UptakeInputError(
            f"class_weight_formula must be one of {', '.join(CLASS_WEIGHT_FORMULAS)}, got {formula!r}"
        )
    neg, pos = class_counts(y)
    if formula == "inverse":
        return {0: 1.0 / neg, 1: 1.0 / pos}
    total = neg + pos
    return {0: total / (2.0 * neg), 1: total / (2.0 * pos)}


def initial_bias(y: Any) -> float:
    """The output-layer bias ``log(pos / neg)`` whose sigmoid is the base rate.

    With this bias the untrained network already predicts the positive rate, so the
    first epochs are not spent learning it: the initial loss is the base-rate entropy
    (about 0.31 nats at 9.6%) instead of ``log 2 = 0.69`` (TF imbalanced-data tutorial,
    "Optional: Set the correct initial bias").
    """
    neg, pos = class_counts(y)
    return math.log(pos / neg)


def base_rate_entropy(y: Any) -> float:
    """``-p log p - (1 - p) log(1 - p)`` in nats, for the positive rate ``p`` of ``y``.

    This is the cross-entropy of a model that knows only the base rate: the loss a
    well-initialised network starts from and the floor any useful model must beat.
    """
    neg, pos = class_counts(y)
    p = pos / (pos + neg)
    return float(-p * math.log(p) - (1.0 - p) * math.log(1.0 - p))


def oversample(X: Any, y: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Randomly repeat positive rows until the classes are 50/50 (imbalanced-learn).

    Materialises the resampled table (about ``2 * neg`` rows); for large tables prefer
    :class:`BalancedBatches`, which draws the same distribution batch by batch.
    """
    labels = binary_labels(y)
    class_counts(labels)
    sampler = RandomOverSampler(sampling_strategy=1.0, random_state=seed)
    X_res, y_res = sampler.fit_resample(np.asarray(X), labels)
    return np.asarray(X_res), np.asarray(y_res)


def smote(X: Any, y: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Add synthetic positives interpolated between positive neighbours (SMOTE) to 50/50.

    Interpolation assumes a meaningful Euclidean geometry, so apply it to scaled
    numeric features; on one-hot columns it produces fractional categories.
    """
    labels = binary_labels(y)
    _, pos = class_counts(labels)
    k = min(5, pos - 1)
    if k < 1:
        raise UptakeInputError(f"SMOTE needs at least 2 positive rows, got {pos}")
    sampler = SMOTE(sampling_strategy=1.0, k_neighbors=k, random_state=seed)
    X_res, y_res = sampler.fit_resample(np.asarray(X), labels)
    return np.asarray(X_res), np.asarray(y_res)


__all__ = [
    "CLASS_WEIGHT_FORMULAS",
    "STRATEGIES",
    "base_rate_entropy",
    "binary_labels",
    "class_counts",
    "class_weights",
    "initial_bias",
    "oversample",
    "smote",
]
