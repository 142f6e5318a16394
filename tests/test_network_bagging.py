"""Cross-fitted network members (``NetworkConfig.bagging``): every labelled row trains some members,
and each validation row is scored, for the threshold and the blend weight, only by members that
never trained on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

import uptake  # noqa: F401  (conftest pins the JAX backend before anything loads Keras)
from uptake.models.ensemble import EnsembleClassifier
from uptake.models.network import PRESETS, NetworkClassifier

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

# Small and short: wiring, not accuracy (docs/networks.md has that). Early stopping is what bagging
# needs (each member stops on its own fold), so it stays on with a short patience.
TINY = dict(preset="default", hidden="16,8", epochs=4, batch_size=256, patience=2, bagging=True)


def make_data(n: int = 1500, d: int = 6, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.standard_normal(n) > 1.8).astype(np.int8)
    return X, y


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = make_data()
    return X[:1200], y[:1200], X[1200:], y[1200:]


@pytest.fixture(scope="module")
def bagged(split) -> NetworkClassifier:
    X, y, X_val, y_val = split
    return NetworkClassifier(**TINY, n_models=3, seed=5).fit(X, y, X_val=X_val, y_val=y_val)


def member_proba(net: NetworkClassifier, i: int, X: np.ndarray) -> np.ndarray:
    return np.asarray(net.models_[i].predict_on_batch(X), dtype=np.float64).mean(axis=-1)


def test_the_default_preset_cross_fits_its_members() -> None:
    assert PRESETS["default"].bagging
    for name in ("seed", "tutorial", "tabm"):
        assert not PRESETS[name].bagging, name  # the recipes we compare against stay as published


def test_each_validation_row_is_scored_by_the_member_that_stopped_on_it(bagged, split) -> None:
    _X, y, X_val, y_val = split
    held = bagged.held_out_validation()
    assert held is not None and held.shape == (len(y_val),) and np.isfinite(held).all()
    folds = bagged._bagging_folds(bagged.config_, y, y_val, None)
    assert len(folds) == 3
    n = len(y)
    seen = np.zeros(len(y_val), dtype=int)
    for i, (fit_rows, stop_rows) in enumerate(folds):
        assert not np.intersect1d(fit_rows, stop_rows).size  # a member never stops on rows it trained on
        assert len(fit_rows) + len(stop_rows) == n + len(y_val)
        mine = stop_rows[stop_rows >= n] - n
        seen[mine] += 1
        np.testing.assert_allclose(held[mine], member_proba(bagged, i, X_val[mine]), atol=1e-6)
    assert (seen == 1).all()  # every validation row held out by exactly one member
    # the whole ensemble's validation scores include members that trained on those rows
    assert not np.allclose(held, bagged.predict_proba(X_val)[:, 1], atol=1e-4)


def test_members_learn_from_validation_rows_too(split) -> None:
    """Together the cross-fitted members have trained on every validation row (plain members on none)."""
    _X, y, _X_val, y_val = split
    net = NetworkClassifier(**TINY, n_models=3, seed=5)
    folds = net._bagging_folds(net.resolved_config(), y, y_val, None)
    trained_on = np.zeros(len(y) + len(y_val), dtype=int)
    for fit_rows, _ in folds:
        trained_on[fit_rows] += 1
    assert (trained_on == 2).all()  # each row trains two of three members


def test_more_members_than_folds_repeat_on_new_folds(split) -> None:
    _X, y, _X_val, y_val = split
    net = NetworkClassifier(**TINY, n_models=7, seed=1)
    folds = net._bagging_folds(net.resolved_config(), y, y_val, None)
    assert len(folds) == 7
    first, second = folds[0][1], folds[5][1]
    assert len(first) != len(second) or not np.array_equal(first, second)  # the repeat's folds are new
    held = np.zeros(len(y) + len(y_val), dtype=int)
    for _, stop_rows in folds[:5]:
        held[stop_rows] += 1
    assert (held == 1).all()  # the first five are a partition: every row held out once


@pytest.mark.parametrize("case", ["one member", "no bagging", "sample weights", "own split"])
def test_plain_members_where_cross_fitting_does_not_apply(case: str, split) -> None:
    X, y, X_val, y_val = split
    params = dict(TINY, n_models=2, seed=0)
    kwargs: dict = {"X_val": X_val, "y_val": y_val}
    if case == "one member":
        params["n_models"] = 1
    elif case == "no bagging":
        params["bagging"] = False
    elif case == "sample weights":  # the validation rows have no weights to train with
        kwargs["sample_weight"] = np.ones(len(y))
    else:  # fit(X, y) inside scikit-learn: the network holds out its own validation rows
        kwargs = {}
    net = NetworkClassifier(**params).fit(X, y, **kwargs)
    assert net.held_out_validation() is None


def test_same_seed_same_members(split) -> None:
    X, y, X_val, y_val = split
    a = NetworkClassifier(**TINY, n_models=2, seed=9).fit(X, y, X_val=X_val, y_val=y_val)
    b = NetworkClassifier(**TINY, n_models=2, seed=9).fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(a.held_out_validation(), b.held_out_validation())
    np.testing.assert_array_equal(a.predict_proba(X_val), b.predict_proba(X_val))


def test_saved_and_loaded_with_its_configuration(bagged, split, tmp_path: Path) -> None:
    _X, _, X_val, _ = split
    bagged.save(tmp_path / "net")
    loaded = NetworkClassifier.load(tmp_path / "net")
    assert loaded.config_.bagging and loaded.bagging
    np.testing.assert_allclose(loaded.predict_proba(X_val), bagged.predict_proba(X_val), atol=1e-6)
    assert loaded.held_out_validation() is None  # a training-time figure, not part of the model


def test_a_network_saved_before_cross_fitting_loads_as_plain(bagged, tmp_path: Path) -> None:
    bagged.save(tmp_path / "net")
    sidecar = tmp_path / "net" / "network.json"
    meta = json.loads(sidecar.read_text())
    del meta["config"]["bagging"]
    sidecar.write_text(json.dumps(meta))
    loaded = NetworkClassifier.load(tmp_path / "net")
    assert not loaded.config_.bagging and not loaded.bagging


def test_the_ensemble_weighs_its_network_on_held_out_rows(split) -> None:
    X, y, X_val, y_val = split
    ens = EnsembleClassifier(network=dict(TINY, n_models=2, seed=0), gbm={"n_estimators": 20}).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    held = ens.network_.held_out_validation()
    assert held is not None
    want = ens.weight_ * held + (1 - ens.weight_) * ens.gbm_.predict_proba(X_val)[:, 1]
    np.testing.assert_allclose(ens.held_out_validation(), want)


@pytest.mark.parametrize(("rows", "members"), [(3_999, 10), (19_999, 10), (20_000, 5), (228_000, 5)])
def test_the_default_trains_ten_members_on_small_tables_and_five_on_big_ones(rows: int, members: int) -> None:
    from uptake.models.network.training import members_for

    assert members_for(NetworkClassifier().resolved_config(), rows).n_models == members
    # an explicit count holds at every size, and the other presets never change theirs
    assert members_for(NetworkClassifier(n_models=7).resolved_config(), rows).n_models == 7
    assert members_for(NetworkClassifier(preset="single-split").resolved_config(), rows).n_models == 5


def test_boosted_bins_find_thresholds_that_only_matter_together() -> None:
    """y = (x0 > 0.5) XOR (x1 > 0.5): neither column alone says anything, so a column's own tree puts
    its edges on noise; the boosted model over both columns splits each at 0.5."""
    from uptake.schema.encoders import PiecewiseLinear

    rng = np.random.default_rng(0)
    X = rng.random((4000, 3))
    y = ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)).astype(int)
    tree = PiecewiseLinear(bins="tree").fit(X, y)
    both = PiecewiseLinear(bins="tree+boost").fit(X, y)
    for j in (0, 1):
        assert set(tree.edges_[j]) <= set(both.edges_[j])  # the column's own edges stay
        assert len(both.edges_[j]) <= 2 * 16 + 1
        assert np.min(np.abs(tree.edges_[j] - 0.5)) > 0.05  # alone, the column shows no step at 0.5
        assert np.min(np.abs(both.edges_[j] - 0.5)) < 0.01
    assert both.transform(X).shape[1] == 3 + sum(len(e) - 1 for e in both.edges_)
    again = PiecewiseLinear(bins="tree+boost").fit(X, y)  # deterministic: the same edges every time
    for a, b in zip(both.edges_, again.edges_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_training_chooses_the_threshold_on_held_out_validation_scores(bank_df) -> None:
    """fit_split (train, train-stream's sibling, every compare fold) thresholds a cross-fitted network on
    each validation row's held-out score, and hands those scores on (compare's ensemble weighs on them)."""
    from uptake.train import TrainConfig, fit_split, prepare, split_indices

    prepared = prepare(bank_df, TrainConfig(seed=0))
    idx_train, idx_val, _ = split_indices(prepared.y, 0)
    bagged = fit_split(prepared, idx_train, idx_val, TrainConfig(preset="default", epochs=2, seed=0))
    held = bagged.estimator.held_out_validation()
    assert held is not None
    np.testing.assert_array_equal(bagged.p_validation, held)
    assert bagged.validation["pr_auc"] == pytest.approx(average_precision_score(prepared.y[idx_val], held))
    plain = fit_split(prepared, idx_train, idx_val, TrainConfig(model="logreg", seed=0))
    np.testing.assert_allclose(plain.p_validation, plain.pipeline.proba_clean(prepared.clean.iloc[idx_val]), atol=1e-9)
    # a small table's LightGBM trains on the validation rows too: its validation scores are cross-fitted
    small = fit_split(prepared, idx_train, idx_val, TrainConfig(model="lightgbm", seed=0))
    np.testing.assert_array_equal(small.p_validation, small.estimator.held_out_validation())
    assert not np.allclose(small.p_validation, small.pipeline.proba_clean(prepared.clean.iloc[idx_val]))
