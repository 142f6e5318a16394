"""Tests for uptake.imbalance: weights, bias, resampling and balanced batches."""

from __future__ import annotations

import math

import numpy as np
import pytest

import uptake  # noqa: F401  (conftest pins the JAX backend before anything loads Keras)
from uptake.errors import UptakeInputError
from uptake.imbalance import (
    STRATEGIES,
    base_rate_entropy,
    class_weights,
    initial_bias,
    oversample,
    smote,
)
from uptake.imbalance.batches import BalancedBatches

# Keras 3.15 calls np.array() on its Variables/jax arrays (e.g. in EarlyStopping's
# get_weights), which NumPy 2.4 flags; the warning is upstream's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """3000 rows, about 10% positives from a logistic rule; column 0 is the row number."""
    rng = np.random.default_rng(0)
    n, d = 3000, 6
    X = rng.standard_normal((n, d)).astype(np.float32)
    logit = X[:, 1:] @ np.array([1.0, -0.8, 0.6, 0.0, 0.4]) - 2.6
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    X[:, 0] = np.arange(n)
    return X, y


def test_strategies() -> None:
    assert STRATEGIES == ("none", "class-weight", "oversample", "balanced-batches", "smote")


def test_class_weights_inverse_is_one_over_count() -> None:
    y = np.array([0] * 90 + [1] * 10)
    assert class_weights(y, "inverse") == {0: 1 / 90, 1: 1 / 10}


def test_class_weights_balanced_is_total_over_twice_count() -> None:
    y = np.array([0] * 90 + [1] * 10)
    weights = class_weights(y, "balanced")
    assert weights == {0: 100 / 180, 1: 100 / 20}
    # Both classes carry equal total weight and the mean row weight is 1.
    assert 90 * weights[0] == pytest.approx(10 * weights[1])
    assert (90 * weights[0] + 10 * weights[1]) / 100 == pytest.approx(1.0)


def test_class_weights_rejects_unknown_formula() -> None:
    with pytest.raises(UptakeInputError, match="class_weight_formula"):
        class_weights(np.array([0, 1]), "sqrt")  # type: ignore[arg-type]


def test_initial_bias_and_base_rate_entropy() -> None:
    y = np.array([0] * 90 + [1] * 10)
    assert initial_bias(y) == pytest.approx(math.log(10 / 90))
    # sigmoid(bias) is the base rate.
    assert 1 / (1 + math.exp(-initial_bias(y))) == pytest.approx(0.1)
    assert base_rate_entropy(y) == pytest.approx(-(0.1 * math.log(0.1) + 0.9 * math.log(0.9)))


@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1], [0, 2, 1], []])
def test_single_class_or_non_binary_labels_raise(labels: list[int]) -> None:
    with pytest.raises(UptakeInputError):
        initial_bias(np.array(labels))


def test_oversample_balances_by_repeating_rows(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    X_res, y_res = oversample(X, y, seed=1)
    neg = int((y == 0).sum())
    assert int((y_res == 1).sum()) == int((y_res == 0).sum()) == neg
    # Every resampled row is an original row with its original label.
    rows = X_res[:, 0].astype(int)
    np.testing.assert_array_equal(X_res, X[rows])
    np.testing.assert_array_equal(y_res, y[rows])
    X_again, _ = oversample(X, y, seed=1)
    np.testing.assert_array_equal(X_res, X_again)


def test_smote_balances_with_synthetic_positives(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    X_res, y_res = smote(X, y, seed=1)
    assert int((y_res == 1).sum()) == int((y_res == 0).sum()) == int((y == 0).sum())
    np.testing.assert_array_equal(X_res[: len(X)], X)
    assert X_res.shape[1] == X.shape[1]


class RecordingRows:
    """A row source that is not an array: it only answers index-array lookups."""

    def __init__(self, X: np.ndarray) -> None:
        self._X = X
        self.requests: list[np.ndarray] = []

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        self.requests.append(np.array(index))
        return self._X[index]


@pytest.mark.parametrize("batch_size", [64, 100, 257])
def test_balanced_batches_len_matches_tutorial_steps(data: tuple[np.ndarray, np.ndarray], batch_size: int) -> None:
    X, y = data
    neg = int((y == 0).sum())
    ds = BalancedBatches(X, y, batch_size=batch_size, seed=0)
    assert len(ds) == math.ceil(2.0 * neg / batch_size)


def test_balanced_batches_are_half_positive_and_aligned(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    ds = BalancedBatches(X, y, batch_size=128, seed=0)
    for i in (0, 1, len(ds) - 1):
        xb, yb = ds[i]
        assert xb.shape == (128, X.shape[1]) and xb.dtype == np.float32
        assert yb.shape == (128, 1)
        assert int(yb.sum()) == 64
        # Labels belong to the rows drawn (column 0 holds the row number).
        np.testing.assert_array_equal(yb[:, 0], y[xb[:, 0].astype(int)])
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_balanced_batches_deterministic_per_seed_and_epoch(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    a = BalancedBatches(X, y, batch_size=128, seed=3)
    b = BalancedBatches(X, y, batch_size=128, seed=3)
    # Order of requests does not matter (safe with parallel workers).
    later_first = b[5][0]
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[5][0], later_first)
    c = BalancedBatches(X, y, batch_size=128, seed=4)
    assert not np.array_equal(a[0][0], c[0][0])
    first_epoch = a[0][0]
    a.on_epoch_end()
    assert not np.array_equal(first_epoch, a[0][0])
    b.on_epoch_end()
    np.testing.assert_array_equal(a[0][0], b[0][0])


def test_balanced_batches_never_copy_the_rows(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    wide = np.repeat(X, 20, axis=1)  # 3000 x 120 floats
    source = RecordingRows(wide)
    ds = BalancedBatches(source, y, batch_size=100, seed=0)
    assert ds.X is source
    assert source.requests == []  # nothing drawn at construction
    held = sum(v.nbytes for v in vars(ds).values() if isinstance(v, np.ndarray))
    # Only per-row indices and labels are held: a few bytes per row, not the table.
    assert held <= 12 * len(y) < wide.nbytes / 10
    ds[0]
    ds[7]
    assert [len(r) for r in source.requests] == [100, 100]
    assert all(np.all(np.diff(r) >= 0) for r in source.requests)  # sorted, scan-friendly


def test_balanced_batches_getter_hook_and_sample_weight(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    seen: list[int] = []

    def getter(source: np.ndarray, rows: np.ndarray) -> np.ndarray:
        seen.append(len(rows))
        return source[rows]

    weights = np.arange(len(y), dtype=np.float32)
    ds = BalancedBatches(X, y, batch_size=50, seed=0, getter=getter, sample_weight=weights)
    xb, _yb, wb = ds[2]
    assert seen == [50]
    np.testing.assert_array_equal(wb, xb[:, 0])


def test_balanced_batches_feed_keras_fit(data: tuple[np.ndarray, np.ndarray]) -> None:
    import keras

    X, y = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    ds = BalancedBatches(X / 3000.0, y, batch_size=512, seed=0)
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert ds.epoch >= 2  # Keras called on_epoch_end, so epochs draw fresh batches
