"""Tests for what the tuned ``default`` network preset adds: piecewise-linear inputs,
batch norm, and ensemble members trained on one shared compiled network."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import uptake  # noqa: F401  (conftest pins the JAX backend before anything loads Keras)
from uptake.models.network import PRESETS, NetworkClassifier, build_model

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

# Small and short: these tests check wiring, not accuracy (docs/networks.md has that).
TINY = dict(preset="default", hidden="16,8", epochs=3, batch_size=256, early_stopping=False)


def make_data(n: int = 1200, d: int = 6, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.standard_normal(n) > 1.8).astype(np.int8)
    return X, y


def test_default_asks_for_ple_and_batch_norm_while_the_others_stay_plain() -> None:
    assert PRESETS["default"].numeric_encoding == "ple-tree+boost" and PRESETS["default"].batch_norm
    for name in ("seed", "tutorial"):
        assert PRESETS[name].numeric_encoding == "standard" and not PRESETS[name].batch_norm
    assert NetworkClassifier().numeric_encoding() == "ple-tree+boost"
    assert NetworkClassifier(preset="seed").numeric_encoding() == "standard"


def test_batch_norm_sits_between_dense_and_activation() -> None:
    model = build_model(PRESETS["default"], 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
    ]
    assert model.get_layer("hidden1").activation.__name__ == "linear"


def test_ensemble_members_match_networks_trained_alone() -> None:
    """The shared compiled trainer must not leak state (weights, optimizer moments,
    batch-norm statistics, dropout seeds) from one member into the next."""
    X, y = make_data()
    # Explicit validation rows: the automatic split is seeded by ``seed`` too.
    X_tr, y_tr, X_val, y_val = X[:900], y[:900], X[900:], y[900:]
    ensemble = NetworkClassifier(**TINY, n_models=2, seed=3).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    alone = [NetworkClassifier(**TINY, n_models=1, seed=s).fit(X_tr, y_tr, X_val=X_val, y_val=y_val) for s in (3, 4)]
    for member, single in zip(ensemble.models_, alone, strict=True):
        got = np.asarray(member.predict_on_batch(X[:300]))
        want = np.asarray(single.models_[0].predict_on_batch(X[:300]))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    for h_ens, h_one in zip(ensemble.history_, [a.history_[0] for a in alone], strict=True):
        np.testing.assert_allclose(h_ens["loss"], h_one["loss"], rtol=1e-6)
    assert ensemble.first_epoch_loss_ == pytest.approx([a.first_epoch_loss_[0] for a in alone], rel=1e-6)


def test_batch_norm_ensemble_survives_save_and_load(tmp_path: Path) -> None:
    X, y = make_data()
    fitted = NetworkClassifier(**TINY, n_models=2, seed=0).fit(X, y)
    fitted.save(tmp_path / "net")
    loaded = NetworkClassifier.load(tmp_path / "net")
    assert (
        loaded.config_.batch_norm and loaded.numeric_encoding() == loaded.config_.numeric_encoding == "ple-tree+boost"
    )
    # a network saved before tree bins says what it was trained on, not what the preset asks today
    loaded.config_ = dataclasses.replace(loaded.config_, numeric_encoding="ple")
    assert loaded.numeric_encoding() == "ple"
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X), atol=1e-6)
