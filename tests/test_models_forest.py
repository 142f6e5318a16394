"""The forest family: scikit-learn forests saved with skops against an exact allow-list."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from uptake.errors import UptakeInputError
from uptake.models.forest import MODEL_FILE, ForestClassifier
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train


@pytest.fixture(scope="module")
def forest_model(bank_df, tmp_path_factory) -> tuple[object, Path]:
    trained = train(bank_df, TrainConfig(model="forest", seed=0))
    return trained, save(trained, tmp_path_factory.mktemp("forest") / "m")


def test_scores_identically_after_loading_and_through_the_fast_path(forest_model, bank_df) -> None:
    trained, path = forest_model
    m = Model.load(path)
    np.testing.assert_allclose(
        m.score(bank_df).probability, trained.fitted.pipeline.proba_clean(trained.prepared.clean), rtol=0, atol=1e-12
    )
    assert trained.test["pr_auc"] > 0.95
    assert m.compile_fast() is not None
    rows = json.loads(bank_df[m.schema.feature_names].head(100).to_json(orient="records"))
    np.testing.assert_allclose(m.score_rows(rows)[0], m.score(bank_df.head(100)).probability, atol=1e-9)


def test_a_file_naming_another_type_is_refused_before_anything_is_built(forest_model, tmp_path) -> None:
    est_dir = tmp_path / "estimator"
    est_dir.mkdir()
    src = forest_model[1] / "estimator"
    (est_dir / "forest.json").write_text((src / "forest.json").read_text())
    # the same archive with its tree type renamed to a function skops would otherwise build
    with zipfile.ZipFile(src / MODEL_FILE) as zin, zipfile.ZipFile(est_dir / MODEL_FILE, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "schema.json":
                data = data.replace(b'"sklearn.tree._tree"', b'"builtins"').replace(b'"Tree"', b'"eval"')
            zout.writestr(item, data)
    with pytest.raises(UptakeInputError, match=r"untrusted type|not a readable forest"):
        ForestClassifier.load(est_dir)


def test_extra_trees_and_bad_parameters(bank_df) -> None:
    with pytest.raises(UptakeInputError, match="kind"):
        ForestClassifier(kind="jungle").check_params()
    X = np.random.default_rng(0).random((200, 4))
    y = (X[:, 0] > 0.7).astype(int)
    est = ForestClassifier(kind="extra-trees", n_estimators=20).fit(X, y)
    assert type(est.model_).__name__ == "ExtraTreesClassifier" and est.predict_proba(X).shape == (200, 2)


def test_big_tables_grow_each_tree_on_a_bounded_sample() -> None:
    rng = np.random.default_rng(1)
    X = rng.random((30_000, 3))
    y = (rng.random(30_000) < 0.005).astype(int)
    est = ForestClassifier(kind="extra-trees", n_estimators=3).fit(X, y)
    assert est.model_.bootstrap and est.model_.max_samples == pytest.approx(20_000 / 30_000)
    small = ForestClassifier(n_estimators=3).fit(X[:2000], y[:2000])
    assert small.model_.max_samples is None


@pytest.mark.parametrize("kind", ["random-forest", "extra-trees"])
def test_one_customer_walks_all_trees_together_with_the_same_scores(kind) -> None:
    """The flat walk (one or a few customers) gives scikit-learn's probabilities bit for bit, also after a refit."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + rng.normal(size=600) > 1.2).astype(int)
    est = ForestClassifier(kind=kind, n_estimators=25).fit(X, y)
    for i in range(40):
        one = est.predict_proba(X[i : i + 1])[:, 1]  # the flat path
        x = X[i : i + 1].astype(np.float32)
        tree_by_tree = 0.0
        for tree in est.model_.estimators_:  # scikit-learn's own walk, tree after tree
            v = tree.tree_.predict(x)
            tree_by_tree += v[0, 1] / v[0].sum()
        assert one[0] == tree_by_tree / len(est.model_.estimators_)
        np.testing.assert_allclose(one, est.model_.predict_proba(x)[:, 1], rtol=0, atol=1e-12)
    assert est.flat_ is not None
    four = est.predict_proba(X[:4])[:, 1]  # a few rows walk together; the walk ends when the last one lands
    np.testing.assert_array_equal(four, [est.predict_proba(X[i : i + 1])[0, 1] for i in range(4)])
    est.fit(X, 1 - y)  # a refit must not keep the old trees' flat copy
    assert est.predict_proba(X[:1])[0, 1] == pytest.approx(est.model_.predict_proba(X[:1].astype(np.float32))[0, 1])
    with_nan = X[:1].copy()
    with_nan[0, 2] = np.nan  # missing values: scikit-learn's own walk, which knows where they go
    assert np.isfinite(est.predict_proba(with_nan)).all()


def _rare(rows: int, rate: float, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 4))
    score = X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=rows)
    return X, (score > np.quantile(score, 1 - rate)).astype(int)


def test_rare_events_grow_each_tree_on_every_positive_and_as_many_negatives(tmp_path: Path) -> None:
    X, y = _rare(80_000, 0.004)
    X, y, X_new, y_new = X[:60_000], y[:60_000], X[60_000:], y[60_000:]  # under 1% on more than 50,000 rows
    est = ForestClassifier(n_estimators=100).fit(X, y)
    positives = int(y.sum())
    for tree in est.model_.estimators_:  # a bootstrap of the balanced sample: 2 x positives rows in all
        assert tree.tree_.weighted_n_node_samples[0] == 2 * positives
    assert type(est.model_).__name__ == "RandomForestClassifier" and est.kind_ == "random-forest"  # no validation rows
    assert est.odds_factor_ == pytest.approx(positives / (len(y) - positives))
    # on new rows the scores are probabilities again: their mean is near the base rate, not the balanced trees'
    p = est.predict_proba(X_new)[:, 1]
    assert 0.7 * y_new.mean() < p.mean() < 1.4 * y_new.mean()
    raw = est.model_.predict_proba(X_new.astype(np.float32))[:, 1]
    assert raw.mean() > 5 * y_new.mean() and np.array_equal(
        np.argsort(p, kind="stable"), np.argsort(raw, kind="stable")
    )
    np.testing.assert_allclose(est.predict_proba(X_new[:1])[:, 1], p[:1], rtol=0, atol=1e-12)  # the flat walk too
    est.save(tmp_path / "est")
    back = ForestClassifier.load(tmp_path / "est")
    np.testing.assert_array_equal(back.predict_proba(X[:500]), est.predict_proba(X[:500]))
    meta = json.loads((tmp_path / "est" / "forest.json").read_text())
    meta["odds_factor"] = -1
    (tmp_path / "est" / "forest.json").write_text(json.dumps(meta))
    with pytest.raises(UptakeInputError, match="odds_factor"):
        ForestClassifier.load(tmp_path / "est")


def test_common_events_and_extra_trees_keep_the_uniform_sample() -> None:
    X, y = _rare(60_000, 0.05)
    assert ForestClassifier(n_estimators=3).fit(X, y).odds_factor_ == 1.0
    X, y = _rare(60_000, 0.004)
    extra = ForestClassifier(kind="extra-trees", n_estimators=3).fit(X, y)
    assert extra.odds_factor_ == 1.0 and type(extra.model_).__name__ == "ExtraTreesClassifier"
    bootstrap = ForestClassifier(n_estimators=3, sampling="bootstrap").fit(X, y)
    assert bootstrap.odds_factor_ == 1.0 and bootstrap.model_.min_samples_leaf == 1  # no floor: measured worse
    small = ForestClassifier(n_estimators=3, sampling="balanced").fit(X[:3000], y[:3000])  # asked for by name
    assert small.odds_factor_ < 0.01


def test_auto_grows_both_kinds_and_keeps_the_one_validation_ranks_better(tmp_path: Path) -> None:
    """Where extremely randomised trees rank the validation rows better they are kept, and say so once saved."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] + X[:, 1] + rng.normal(scale=0.7, size=3000) > 1.5).astype(int)  # a smooth, oblique boundary
    est = ForestClassifier(n_estimators=60, refit=False).fit(X[:2000], y[:2000], X_val=X[2000:], y_val=y[2000:])
    assert set(est.validation_scores_) == {"random-forest", "extra-trees"}
    winner = max(est.validation_scores_, key=est.validation_scores_.get)
    assert (
        est.kind_ == winner
        and type(est.model_).__name__
        == {"random-forest": "RandomForestClassifier", "extra-trees": "ExtraTreesClassifier"}[winner]
    )
    from sklearn.metrics import average_precision_score

    assert average_precision_score(y[2000:], est.predict_proba(X[2000:])[:, 1]) == est.validation_scores_[winner]
    assert (
        est.hyperparameters()["kind"] == winner
        and est.hyperparameters()["kind_validation_pr_auc"] == est.validation_scores_
    )
    est.save(tmp_path / "est")
    back = ForestClassifier.load(tmp_path / "est")
    assert back.kind == "auto" and back.kind_ == winner
    np.testing.assert_array_equal(back.predict_proba(X[:300]), est.predict_proba(X[:300]))
    with pytest.raises(UptakeInputError, match="together"):
        ForestClassifier().fit(X, y, X_val=X)


def test_a_sidecar_naming_another_kind_than_its_trees_is_refused(forest_model, tmp_path) -> None:
    import shutil

    shutil.copytree(forest_model[1] / "estimator", tmp_path / "est")
    meta = json.loads((tmp_path / "est" / "forest.json").read_text())
    grown = meta["kind"]
    meta["kind"] = "extra-trees" if grown == "random-forest" else "random-forest"
    (tmp_path / "est" / "forest.json").write_text(json.dumps(meta))
    with pytest.raises(UptakeInputError, match="not the"):
        ForestClassifier.load(tmp_path / "est")
    del meta["kind"]  # as saved before kind="auto": the parameter names the kind
    meta["params"]["kind"] = grown
    (tmp_path / "est" / "forest.json").write_text(json.dumps(meta))
    assert ForestClassifier.load(tmp_path / "est").kind_ == grown
