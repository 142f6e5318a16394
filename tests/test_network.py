"""Tests for uptake.models.network.NetworkClassifier (Keras 3 on JAX, CPU)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jax
import keras
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import recall_score
from sklearn.model_selection import cross_val_score

import uptake  # noqa: F401  (conftest pins the JAX backend before anything loads Keras)
from uptake.errors import UptakeInputError
from uptake.imbalance import STRATEGIES, base_rate_entropy, initial_bias
from uptake.models.network import PRESETS, NetworkClassifier, NetworkConfig, build_model

# Keras 3.15 calls np.array() on its Variables/jax arrays (e.g. in EarlyStopping's
# get_weights), which NumPy 2.4 flags; the warning is upstream's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

# One training shape for most tests, so the persistent cache reuses compiled programs.
FAST = dict(preset="tutorial", batch_size=512, learning_rate=1e-2)

METRICS = ("cross_entropy", "tp", "fp", "tn", "fn", "accuracy", "precision", "recall", "roc_auc", "pr_auc")


@pytest.fixture(scope="module", autouse=True)
def jax_compilation_cache(tmp_path_factory: pytest.TempPathFactory):
    """Share compiled XLA programs between the many identically-shaped test networks.

    Each Keras model jits fresh train/test functions, and compiling them costs seconds
    on CPU; the persistent cache keys on the program, so the second network of the
    same architecture compiles in milliseconds. Results are unaffected.
    """
    saved = {
        name: getattr(jax.config, name)
        for name in ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    }
    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("jax-cache")))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    yield
    for name, value in saved.items():
        jax.config.update(name, value)


def make_data(n: int = 3000, d: int = 8, seed: int = 0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """About 10% positives from a logistic rule on standard-normal features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal(d)
    w *= 2.0 / np.linalg.norm(w)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w - 3.0)))).astype(np.int8)
    return (X * scale).astype(np.float32), y


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return make_data()


@pytest.fixture(scope="module")
def small_scale_data() -> tuple[np.ndarray, np.ndarray]:
    """Features shrunk so the random hidden layers add little to the initial logit.

    The start-of-training loss then shows the output bias alone: base-rate entropy
    with the ``log(pos/neg)`` bias, ``log 2`` without it.
    """
    return make_data(scale=0.25)


@pytest.fixture(scope="module")
def fitted(data: tuple[np.ndarray, np.ndarray]) -> NetworkClassifier:
    X, y = data
    return NetworkClassifier(**FAST, epochs=3, n_models=2, seed=5).fit(X, y)


# ---------------------------------------------------------------- config


def test_presets_follow_their_sources() -> None:
    seed = PRESETS["seed"]
    assert (seed.hidden, seed.dropout) == ((256, 256, 256), (0.0, 0.3, 0.3))
    assert (seed.learning_rate, seed.batch_size, seed.epochs) == (1e-2, 2048, 30)
    assert (seed.imbalance, seed.class_weight_formula, seed.initial_bias, seed.early_stopping) == (
        "class-weight",
        "inverse",
        False,
        False,
    )
    tutorial = PRESETS["tutorial"]
    assert (tutorial.hidden, tutorial.dropout) == ((16,), (0.5,))
    assert (tutorial.learning_rate, tutorial.batch_size, tutorial.epochs) == (1e-3, 2048, 100)
    assert (tutorial.class_weight_formula, tutorial.initial_bias, tutorial.early_stopping) == ("balanced", True, True)
    assert (tutorial.monitor, tutorial.monitor_mode, tutorial.patience) == ("val_roc_auc", "max", 10)
    default = PRESETS["default"]
    assert default.monitor == "val_pr_auc" and default.early_stopping and default.bagging
    assert (default.n_models, default.n_models_big) == (10, 5)
    previous = PRESETS["single-split"]  # the default until 2026-12, kept by name
    assert (previous.n_models, previous.bagging, previous.numeric_encoding) == (5, False, "ple-tree")


def test_seed_preset_layout_is_the_loan_example() -> None:
    model = build_model(PRESETS["seed"], 10)
    layout = [
        (type(layer).__name__, getattr(layer, "units", None) or getattr(layer, "rate", None)) for layer in model.layers
    ]
    assert layout == [
        ("Dense", 256),
        ("Dense", 256),
        ("Dropout", 0.3),
        ("Dense", 256),
        ("Dropout", 0.3),
        ("Dense", 1),
    ]
    assert model.layers[-1].activation.__name__ == "sigmoid"


def test_tutorial_layout_and_constant_output_bias() -> None:
    model = build_model(PRESETS["tutorial"], 10, output_bias=-2.5)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.layers[0].units == 16 and model.layers[1].rate == 0.5
    np.testing.assert_allclose(np.asarray(model.layers[-1].bias), [-2.5])


def test_overrides_merge_with_preset() -> None:
    config = NetworkClassifier(preset="seed", hidden="64, 32", learning_rate=0.5).resolved_config()
    assert isinstance(config, NetworkConfig)
    assert config.hidden == (64, 32)
    assert config.dropout == (0.0, 0.3)  # the loan example's pattern, truncated
    assert config.learning_rate == 0.5 and config.batch_size == 2048
    config = NetworkClassifier(hidden=(32, 16, 8), dropout=0.15).resolved_config()
    assert config.dropout == (0.15, 0.15, 0.15)
    config = NetworkClassifier(hidden=(32, 16), dropout=(0.0, 0.4)).resolved_config()
    assert config.dropout == (0.0, 0.4)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"preset": "huge"}, "preset"),
        ({"hidden": "256,abc"}, "hidden"),
        ({"hidden": "64,0"}, "hidden"),
        ({"hidden": 64}, "hidden"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"hidden": (8, 8), "dropout": (0.1, 0.2, 0.3)}, "dropout"),
        ({"imbalance": "undersample"}, "imbalance"),
        ({"class_weight_formula": "sqrt"}, "class_weight_formula"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 2.5}, "epochs"),
        ({"n_models": 0}, "n_models"),
        ({"initial_bias": "yes"}, "initial_bias"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_params_raise_one_line_error(params: dict, name: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    clf = NetworkClassifier(**params)  # sklearn style: the constructor never validates
    with pytest.raises(UptakeInputError) as info:
        clf.resolved_config()
    message = str(info.value)
    assert message.startswith(name) and "\n" not in message
    with pytest.raises(UptakeInputError):
        clf.fit(*data)


def test_bad_inputs_raise(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(UptakeInputError, match="labels"):
        NetworkClassifier(epochs=1).fit(X, y * 2)
    with pytest.raises(UptakeInputError, match="rows"):
        NetworkClassifier(epochs=1).fit(X, y[:-1])
    with pytest.raises(UptakeInputError, match="early_stopping"):
        NetworkClassifier(preset="tutorial", validation_fraction=0.0).fit(X, y)
    with pytest.raises(NotFittedError):
        NetworkClassifier().predict_proba(X)


# -------------------------------------------------------------- training


def test_initial_bias_starts_at_base_rate_entropy(small_scale_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = small_scale_data
    with_bias = NetworkClassifier(**FAST, epochs=1).fit(X, y)
    without = NetworkClassifier(**FAST, epochs=1, initial_bias=False).fit(X, y)
    # The bias is computed on the training split, whose base rate matches y (stratified).
    assert with_bias.initial_bias_ == pytest.approx(initial_bias(y), abs=0.01)
    assert without.initial_bias_ == 0.0
    assert abs(with_bias.first_epoch_loss_[0] - base_rate_entropy(y)) < 0.05
    assert abs(without.first_epoch_loss_[0] - math.log(2)) < 0.1


def test_class_weights_raise_recall(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    plain = NetworkClassifier(**FAST, epochs=8, imbalance="none").fit(X, y)
    weighted = NetworkClassifier(**FAST, epochs=8, imbalance="class-weight").fit(X, y)
    recall_plain = recall_score(y, plain.predict(X))
    recall_weighted = recall_score(y, weighted.predict(X))
    assert recall_weighted > recall_plain + 0.2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_trains(strategy: str, small_scale_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = small_scale_data
    clf = NetworkClassifier(**FAST, imbalance=strategy, initial_bias=True, epochs=2).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    history = clf.history_[0]
    for name in METRICS + ("loss",):
        assert len(history[name]) == 2 and len(history[f"val_{name}"]) == 2
    json.dumps(clf.history_)  # plain floats
    if strategy in ("none", "class-weight"):
        assert clf.initial_bias_ == pytest.approx(initial_bias(y), abs=0.01)
    else:
        # Resampled training sees 50/50 classes, so the bias is reset to log(1) = 0
        # and the untrained network starts at log 2 (as the tutorial does).
        assert clf.initial_bias_ == 0.0
        assert abs(clf.first_epoch_loss_[0] - math.log(2)) < 0.1


def test_training_arrays_carry_sample_weights(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    sw = np.linspace(0.5, 1.5, len(y)).astype(np.float32)
    config = NetworkClassifier(preset="tutorial").resolved_config()
    _, ys, ws = NetworkClassifier._training_arrays(config, X, y, sw, 0)
    n, pos = len(y), int(y.sum())
    expected = np.where(y == 1, n / (2 * pos), n / (2 * (n - pos))) * sw
    np.testing.assert_allclose(ws, expected, rtol=1e-6)
    assert ys.shape == (n, 1)
    over = NetworkClassifier(preset="tutorial", imbalance="oversample").resolved_config()
    xs, ys, ws = NetworkClassifier._training_arrays(over, X, y, sw, 0)
    assert int(ys.sum()) == len(ys) // 2
    rows = np.array([np.flatnonzero((row == X).all(axis=1))[0] for row in xs[-5:]])
    np.testing.assert_array_equal(ws[-5:], sw[rows])


def test_same_seed_gives_identical_predictions(fitted: NetworkClassifier, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    again = NetworkClassifier(**FAST, epochs=3, n_models=2, seed=5).fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X), fitted.predict_proba(X), atol=1e-6, rtol=0)
    assert again.history_ == fitted.history_
    assert len(fitted.models_) == 2
    # The members differ (seed + i), and the ensemble is their mean.
    a, b = (m.predict_on_batch(X[:256])[:, 0] for m in fitted.models_)
    assert not np.allclose(a, b)
    np.testing.assert_allclose(fitted.predict_proba(X[:256])[:, 1], (a + b) / 2, atol=1e-6)


def test_restores_best_weights_with_given_validation(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    # 2400/600 rows: the shapes of the default 20% split, so compiled programs are reused.
    X_train, y_train, X_val, y_val = X[:2400], y[:2400], X[2400:], y[2400:]
    clf = NetworkClassifier(**{**FAST, "learning_rate": 0.05}, epochs=6, patience=100)
    clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    history = clf.history_[0]
    assert len(history["val_roc_auc"]) == 6
    model = clf.models_[0]
    model.compile(metrics=[keras.metrics.AUC(name="roc_auc")], loss="binary_crossentropy")
    result = model.evaluate(X_val, y_val.reshape(-1, 1).astype(np.float32), verbose=0, return_dict=True)
    assert result["roc_auc"] == pytest.approx(max(history["val_roc_auc"]), abs=1e-5)


def test_checkpoints_and_extra_callbacks(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data

    class CountEpochs(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epochs = 0

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.epochs += 1

    counter = CountEpochs()
    clf = NetworkClassifier(**FAST, epochs=2, checkpoint_dir=tmp_path / "ckpt", callbacks=[counter])
    clf.fit(X, y)
    assert counter.epochs == 2
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "member0-epoch001.keras",
        "member0-epoch002.keras",
    ]


# ------------------------------------------------------- sklearn and I/O


def test_sklearn_compatibility(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    clf = NetworkClassifier(preset="tutorial", epochs=3, hidden="8,4")
    assert is_classifier(clf)
    params = clf.get_params()
    assert params["preset"] == "tutorial" and params["hidden"] == "8,4" and params["dropout"] is None
    copy = clone(clf)
    assert copy.get_params() == params
    copy.set_params(epochs=5)
    assert copy.epochs == 5 and clf.epochs == 3
    scores = cross_val_score(NetworkClassifier(preset="tutorial", epochs=3), X, y, cv=3, scoring="average_precision")
    assert scores.shape == (3,) and np.all((scores > 0) & (scores <= 1))


def test_save_load_round_trip(
    fitted: NetworkClassifier,
    data: tuple[np.ndarray, np.ndarray],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, _ = data
    fitted.save(tmp_path / "net")
    assert sorted(p.name for p in (tmp_path / "net").iterdir()) == ["member0.keras", "member1.keras", "network.json"]

    calls: list[dict] = []
    real_load = keras.saving.load_model

    def spy(path, **kwargs):
        calls.append(kwargs)
        return real_load(path, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    loaded = NetworkClassifier.load(tmp_path / "net")
    assert calls == [{"safe_mode": True, "compile": False}] * 2
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.history_ == fitted.history_
    assert loaded.resolved_config() == fitted.config_ == loaded.config_
    assert loaded.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(loaded.classes_, [0, 1])
    with pytest.raises(UptakeInputError, match=r"network.json"):
        NetworkClassifier.load(tmp_path / "missing")
