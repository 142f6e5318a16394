"""Tools for training on a rare positive class.

About one customer in ten takes up the offer (9.6% positives in the bank table). A
network trained on such data by plain cross-entropy learns the base rate quickly and
the minority class slowly, so the two reference recipes we follow each add something:

* the Keras structured-data loan example weights each class by ``1 / count``;
* the TensorFlow "Classification on imbalanced data" tutorial initialises the output
  bias to ``log(pos / neg)``, weights classes by ``total / (2 * count)``, and shows
  oversampling with ``tf.data.Dataset.sample_from_datasets`` at weights ``[0.5, 0.5]``.

This module holds those pieces as plain functions over already-preprocessed numpy
arrays, plus :class:`BalancedBatches`, a ``keras.utils.PyDataset`` that draws 50/50
batches from index arrays so that balanced training never materialises a resampled
copy of a large table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, Protocol

import uptake  # noqa: F401  (pins KERAS_BACKEND before keras is imported)

import keras
import numpy as np

from uptake.errors import UptakeInputError

STRATEGIES: tuple[str, ...] = ("none", "class-weight", "oversample", "balanced-batches", "smote")
"""Imbalance strategies understood by :class:`uptake.models.network.NetworkClassifier`."""

CLASS_WEIGHT_FORMULAS: tuple[str, ...] = ("inverse", "balanced")


class RowSource(Protocol):
    """Anything rows can be drawn from by an integer index array (a numpy array qualifies)."""

    def __getitem__(self, index: np.ndarray, /) -> Any: ...


def _binary_labels(y: Any) -> np.ndarray:
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


def _counts(y: Any) -> tuple[int, int]:
    """(negatives, positives), both required to be non-zero."""
    labels = _binary_labels(y)
    pos = int(labels.sum())
    neg = int(labels.size - pos)
    if pos == 0 or neg == 0:
        raise UptakeInputError(
            f"labels need both classes, got {neg} negatives and {pos} positives"
        )
    return neg, pos


def class_weights(
    y: Any, formula: Literal["inverse", "balanced"] = "balanced"
) -> dict[int, float]:
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
            f"class_weight_formula must be one of {', '.join(CLASS_WEIGHT_FORMULAS)}, "
            f"got {formula!r}"
        )
    neg, pos = _counts(y)
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
    neg, pos = _counts(y)
    return math.log(pos / neg)


def base_rate_entropy(y: Any) -> float:
    """``-p log p - (1 - p) log(1 - p)`` in nats, for the positive rate ``p`` of ``y``.

    This is the cross-entropy of a model that knows only the base rate: the loss a
    well-initialised network starts from and the floor any useful model must beat.
    """
    neg, pos = _counts(y)
    p = pos / (pos + neg)
    return float(-p * math.log(p) - (1.0 - p) * math.log(1.0 - p))


def oversample(X: Any, y: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Randomly repeat positive rows until the classes are 50/50 (imbalanced-learn).

    Materialises the resampled table (about ``2 * neg`` rows); for large tables prefer
    :class:`BalancedBatches`, which draws the same distribution batch by batch.
    """
    from imblearn.over_sampling import RandomOverSampler

    labels = _binary_labels(y)
    _counts(labels)
    sampler = RandomOverSampler(sampling_strategy=1.0, random_state=seed)
    X_res, y_res = sampler.fit_resample(np.asarray(X), labels)
    return np.asarray(X_res), np.asarray(y_res)


def smote(X: Any, y: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Add synthetic positives interpolated between positive neighbours (SMOTE) to 50/50.

    Interpolation assumes a meaningful Euclidean geometry, so apply it to scaled
    numeric features; on one-hot columns it produces fractional categories.
    """
    from imblearn.over_sampling import SMOTE

    labels = _binary_labels(y)
    _, pos = _counts(labels)
    k = min(5, pos - 1)
    if k < 1:
        raise UptakeInputError(f"SMOTE needs at least 2 positive rows, got {pos}")
    sampler = SMOTE(sampling_strategy=1.0, k_neighbors=k, random_state=seed)
    X_res, y_res = sampler.fit_resample(np.asarray(X), labels)
    return np.asarray(X_res), np.asarray(y_res)


def _take(source: Any, index: np.ndarray) -> Any:
    return source[index]


class BalancedBatches(keras.utils.PyDataset):
    """Batches that are half positives, half negatives, drawn with replacement.

    The equivalent of the TF tutorial's ``sample_from_datasets([pos, neg], [0.5, 0.5])``
    without a resampled copy of the data: the dataset keeps only the positive and the
    negative row indices, and each batch gathers ``batch_size`` rows from ``X`` by an
    index array. ``len`` is ``ceil(2 * neg / batch_size)``, the tutorial's
    ``resampled_steps_per_epoch``: one epoch shows about every negative once.

    ``X`` is any row source with ``__getitem__(index_array) -> array`` (a numpy array,
    a memory map, or a Parquet-backed reader). ``getter(X, index_array)`` overrides how
    rows are fetched; indices passed to it are sorted ascending, which suits readers
    that scan row groups. ``y`` must be an in-memory label array.

    Batches depend only on ``(seed, epoch, batch index)``, so they are identical across
    runs and independent of the order in which Keras workers request them.
    """

    def __init__(
        self,
        X: RowSource,
        y: Any,
        batch_size: int,
        seed: int,
        getter: Callable[[Any, np.ndarray], Any] | None = None,
        sample_weight: Any | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(batch_size) < 2:
            raise UptakeInputError(f"batch_size must be at least 2, got {batch_size!r}")
        labels = _binary_labels(y)
        _counts(labels)
        index_dtype = np.int32 if labels.size < 2**31 else np.int64
        self.X = X
        self.getter = getter if getter is not None else _take
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.epoch = 0
        # (n, 1) so batches match the (batch, 1) output of a Dense(1) network.
        self._labels = labels.astype(np.float32).reshape(-1, 1)
        self._sample_weight = (
            None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        )
        self.pos_index = np.flatnonzero(labels == 1).astype(index_dtype)
        self.neg_index = np.flatnonzero(labels == 0).astype(index_dtype)
        self.n_pos_per_batch = self.batch_size // 2
        self.n_neg_per_batch = self.batch_size - self.n_pos_per_batch

    def __len__(self) -> int:
        return math.ceil(2 * self.neg_index.size / self.batch_size)

    def batch_indices(self, index: int) -> np.ndarray:
        """The sorted row indices of batch ``index`` in the current epoch."""
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        pos = self.pos_index[rng.integers(0, self.pos_index.size, self.n_pos_per_batch)]
        neg = self.neg_index[rng.integers(0, self.neg_index.size, self.n_neg_per_batch)]
        rows = np.concatenate([pos, neg])
        rows.sort()
        return rows

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if index < 0 or index >= len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        rows = self.batch_indices(index)
        x = np.asarray(self.getter(self.X, rows), dtype=np.float32)
        y = self._labels[rows]
        if self._sample_weight is None:
            return x, y
        return x, y, self._sample_weight[rows]

    def on_epoch_end(self) -> None:
        """Advance the epoch so the next epoch draws fresh (but reproducible) batches."""
        self.epoch += 1


__all__ = [
    "CLASS_WEIGHT_FORMULAS",
    "STRATEGIES",
    "BalancedBatches",
    "RowSource",
    "base_rate_entropy",
    "class_weights",
    "initial_bias",
    "oversample",
    "smote",
]
