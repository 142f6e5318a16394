"""Tools for training on a rare positive class: weights, the initial bias and resampling (``strategies``),
and balanced batches (``batches``, which imports Keras and is imported only where a network trains)."""

from __future__ import annotations

from uptake.imbalance.strategies import (
    CLASS_WEIGHT_FORMULAS,
    STRATEGIES,
    base_rate_entropy,
    binary_labels,
    class_counts,
    class_weights,
    initial_bias,
    oversample,
    smote,
)

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
