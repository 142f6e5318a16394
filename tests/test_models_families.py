"""LightGBM, logistic regression and the ensemble: one artifact format, one scoring path.

Each family is trained on the real bank table through ``uptake.train``, saved, loaded
with ``Model.load`` and must score exactly as the in-memory model did, from files in
its own safe format (LightGBM text, JSON, .keras) -- no pickle anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from uptake.errors import UptakeInputError
from uptake.models.gbm import LightGBMClassifier
from uptake.models.linear import LogisticClassifier
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train

PICKLE_MAGIC = (b"\x80\x04", b"\x80\x05", b"\x80\x03")


def assert_no_pickle(path: Path) -> None:
    for f in path.rglob("*"):
        if f.is_file():
            assert f.suffix not in (".pkl", ".pickle", ".joblib"), f
            if f.suffix != ".keras":  # .keras is a zip of JSON and HDF5 weights
                assert f.read_bytes()[:2] not in PICKLE_MAGIC, f


@pytest.fixture(scope="module")
def families(bank_df, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, Path]]:
    """lightgbm, logreg and a small ensemble (seed network, 3 epochs), trained and saved once."""
    out = {}
    root = tmp_path_factory.mktemp("families")
    configs = {
        "lightgbm": TrainConfig(model="lightgbm", seed=0),
        "logreg": TrainConfig(model="logreg", seed=0),
        "ensemble": TrainConfig(model="ensemble", preset="seed", epochs=3, seed=0),
    }
    for name, cfg in configs.items():
        trained = train(bank_df, cfg, source=None)
        out[name] = (trained, save(trained, root / name))
    return out


@pytest.mark.parametrize("name", ["lightgbm", "logreg", "ensemble"])
def test_saved_model_scores_exactly_like_the_fitted_one(families, bank_df, name: str) -> None:
    trained, path = families[name]
    m = Model.load(path)
    assert m.card.to_json()["model_type"] == name
    scored = m.score(bank_df)
    np.testing.assert_allclose(
        scored.probability, trained.fitted.pipeline.proba_clean(trained.prepared.clean), rtol=1e-6, atol=1e-7
    )
    assert m.threshold == pytest.approx(trained.fitted.threshold)
    assert np.array_equal(scored.decision, (scored.probability >= m.threshold).astype(np.int8))
    assert_no_pickle(path)


@pytest.mark.parametrize(("name", "floor"), [("lightgbm", 0.9), ("logreg", 0.75), ("ensemble", 0.9)])
def test_each_family_ranks_the_rare_class_well_on_the_test_split(families, name: str, floor: float) -> None:
    trained, _ = families[name]
    assert trained.test["pr_auc"] > floor
    assert trained.test["roc_auc"] > 0.9


def test_lightgbm_is_saved_in_its_own_text_format(families) -> None:
    _, path = families["lightgbm"]
    text = (path / "estimator" / "model.txt").read_text()
    assert text.startswith("tree") and "Tree=0" in text
    meta = json.loads((path / "estimator" / "lightgbm.json").read_text())
    assert meta["format"] == "uptake-lightgbm" and meta["best_iteration"] >= 1


def test_logreg_is_saved_as_coefficients(families, tmp_path: Path) -> None:
    trained, path = families["logreg"]
    meta = json.loads((path / "estimator" / "logreg.json").read_text())
    n = trained.fitted.estimator.n_features_in_
    assert np.asarray(meta["coef"]).shape == (1, n)
    assert meta["C"] in (0.01, 0.1, 1.0, 10.0, 100.0)  # chosen on validation
    assert Model.load(path).card.to_json()["hyperparameters"]["C"] == meta["C"]  # the card says which
    # numeric columns on target-aware bins by default (a curve per column), saved with the mean input
    assert meta["params"]["encoding"] == "bins" and Model.load(path).card.to_json()["numeric_encoding"] == "ple-tree"
    assert len(meta["reference"]) == n
    del meta["reference"], meta["params"]["encoding"]  # as saved by releases before bins
    (tmp_path / "logreg.json").write_text(json.dumps(meta))
    old = LogisticClassifier.load(tmp_path)
    assert old.encoding == "standard" and not old.reference_.any()


def test_ensemble_members_live_in_subdirectories(families) -> None:
    trained, path = families["ensemble"]
    est = path / "estimator"
    assert (est / "network" / "network.json").is_file() and (est / "lightgbm" / "model.txt").is_file()
    meta = json.loads((est / "ensemble.json").read_text())
    assert 0.0 <= meta["weight"] <= 1.0
    assert meta["weight"] == trained.fitted.estimator.weight_
    # The ensemble is exactly the weighted mean of its loaded members.
    m = Model.load(path)
    x = m.features(trained.prepared.clean.iloc[:200])
    e = m.estimator
    expected = e.weight_ * e.network_.predict_proba(x)[:, 1] + (1 - e.weight_) * e.gbm_.predict_proba(x)[:, 1]
    np.testing.assert_allclose(e.predict_proba(x)[:, 1], expected)
    assert Model.load(path).card.to_json()["preset"] == "seed"


def test_get_params_round_trip_through_save(families, tmp_path: Path) -> None:
    for name, cls in (("lightgbm", LightGBMClassifier), ("logreg", LogisticClassifier)):
        est = families[name][0].fitted.estimator
        loaded = cls.load(est.save(tmp_path / name))
        assert loaded.get_params() == est.get_params()


def test_lightgbm_early_stopping_uses_validation_and_class_weight_changes_the_model(bank_df) -> None:
    from uptake.models.gbm import LightGBMClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    y = (x[:, 0] + 0.5 * rng.normal(size=600) > 1.3).astype(int)
    plain = LightGBMClassifier(n_estimators=400).fit(x[:400], y[:400], X_val=x[400:], y_val=y[400:])
    assert 1 <= plain.best_iteration_ < 400
    weighted = LightGBMClassifier(n_estimators=400, imbalance="class-weight").fit(
        x[:400], y[:400], X_val=x[400:], y_val=y[400:]
    )
    # Weighting the rare class pushes its probabilities up on average.
    assert weighted.predict_proba(x[400:])[:, 1].mean() > plain.predict_proba(x[400:])[:, 1].mean()
    assert average_precision_score(y[400:], plain.predict_proba(x[400:])[:, 1]) > 0.7


@pytest.mark.parametrize("family", ["lightgbm", "catboost"])
def test_the_default_learning_rate_follows_the_table_and_a_refit_keeps_it(family: str, tmp_path: Path) -> None:
    """0.05 below 50,000 training rows, 0.1 from there (0.05 ran into LightGBM's round cap on 182,000 fraud rows);
    auto's refit on all rows, which may cross that line, trains at the rate its fold models used."""
    from uptake.models.auto.candidates import refit_value
    from uptake.models.catboost import CatBoostClassifier

    cls = {"lightgbm": LightGBMClassifier, "catboost": CatBoostClassifier}[family]
    rounds = {"lightgbm": {"n_estimators": 3}, "catboost": {"iterations": 3}}[family]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50_000, 3))
    y = (x[:, 0] > 1.5).astype(int)
    small = cls(**rounds).fit(x[:49_999], y[:49_999])
    big = cls(**rounds).fit(x, y)
    assert small.refit_params()["learning_rate"] == pytest.approx(0.05)
    assert big.refit_params()["learning_rate"] == pytest.approx(0.1)
    assert cls(learning_rate=0.2, **rounds).fit(x[:1000], y[:1000]).refit_params()["learning_rate"] == pytest.approx(
        0.2
    )
    if family == "lightgbm":
        assert big.hyperparameters()["learning_rate"] == 0.1  # the card says the rate in use, not None
        assert LightGBMClassifier.load(big.save(tmp_path / "big")).hyperparameters()["learning_rate"] == 0.1
    # fold models of 45,000 rows each: their refit on 60,000 rows keeps 0.05 and takes the mean of the rounds
    sizes = [{"n_estimators": 100, "learning_rate": 0.05}, {"n_estimators": 121, "learning_rate": 0.05}]
    assert {k: refit_value([s[k] for s in sizes]) for k in sizes[0]} == {"n_estimators": 110, "learning_rate": 0.05}


def test_choose_weight_prefers_the_plain_average_on_ties_and_follows_the_better_member() -> None:
    from uptake.models.ensemble import choose_weight

    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7])
    assert choose_weight(y, p, p)[0] == 0.5
    noise = np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3])  # perfectly wrong
    assert choose_weight(y, noise, p)[0] < 0.5
    assert choose_weight(y, p, noise)[0] > 0.5


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (TrainConfig(model="lightgbm", hidden="8"), "--hidden: applies to networks"),
        (TrainConfig(model="logreg", learning_rate=0.1), "--learning-rate: applies to networks"),
        (TrainConfig(model="lightgbm", imbalance="smote"), "LightGBM supports none, class-weight"),
        (TrainConfig(model="logreg", imbalance="oversample"), "logistic regression supports"),
        (TrainConfig(model="jungle"), "choose one of"),
    ],
)
def test_bad_family_options_fail_with_one_clear_message(bank_df, cfg: TrainConfig, message: str) -> None:
    with pytest.raises(UptakeInputError, match=message):
        train(bank_df, cfg)


def test_tampered_sidecar_is_refused(families, tmp_path: Path) -> None:
    import shutil

    _, path = families["lightgbm"]
    copy = tmp_path / "m"
    shutil.copytree(path, copy)
    (copy / "estimator" / "lightgbm.json").write_text(json.dumps({"format": "something-else", "version": 1}))
    with pytest.raises(UptakeInputError, match=r"lightgbm.json': changed since the model was saved"):
        Model.load(copy)  # the card's checksum catches it first
    with pytest.raises(UptakeInputError, match="not a uptake-lightgbm version 1 file"):
        LightGBMClassifier.load(copy / "estimator")  # and the family's own sidecar check behind it


@pytest.mark.parametrize("name", ["lightgbm", "catboost", "forest"])
def test_small_tables_refit_on_validation_rows_and_keep_honest_validation_scores(name: str) -> None:
    """Below REFIT_ROWS the served model trains on training + validation rows at the early-stopped size, while
    the validation scores (threshold, calibration) stay those of the model that never saw them."""
    from uptake.models import family

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2400, 5))
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values, seen natively
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=2400) > 1.5).astype(int)
    cls = family(name)
    assert cls().numeric_encoding() == "native"
    kept = cls(refit=False, seed=0).fit(X[:2000], y[:2000], X_val=X[2000:], y_val=y[2000:])
    refit = cls(seed=0).fit(X[:2000], y[:2000], X_val=X[2000:], y_val=y[2000:])
    assert kept.held_out_validation() is None and refit.hyperparameters()["refit"]["rows"] == 2400
    held = refit.held_out_validation()  # from models that never trained on these rows
    assert len(held) == 400 and np.corrcoef(held, kept.predict_proba(X[2000:])[:, 1])[0, 1] > 0.8
    assert not np.allclose(held, refit.predict_proba(X[2000:])[:, 1])  # not the served model's in-sample ones
    assert np.isfinite(refit.predict_proba(X)).all()
    never = cls(refit=False, seed=0).fit(X[:2000], y[:2000])  # without validation rows there is nothing to add
    assert never.held_out_validation() is None
