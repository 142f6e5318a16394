"""The CatBoost family: native categories, its own file format, exact reasons, and every command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli
from uptake.features import layout
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train


@pytest.fixture(scope="module")
def catboost_model(bank_df, tmp_path_factory) -> tuple[object, Path]:
    trained = train(bank_df, TrainConfig(model="catboost", seed=0))
    return trained, save(trained, tmp_path_factory.mktemp("catboost") / "m")


def test_categories_reach_catboost_as_codes(catboost_model) -> None:
    trained, path = catboost_model
    est = trained.fitted.estimator
    kinds = [kind for _, kind in layout(trained.fitted.preprocessor, trained.prepared.schema)]
    assert [i for i, k in enumerate(kinds) if k == "categorical"] == est.categorical_inputs_
    assert len(est.categorical_inputs_) == 2  # Family and Education, one code each (not one-hot)
    assert len(kinds) == len(trained.prepared.schema.columns)
    assert Model.load(path).card.categorical_encoding == "ordinal"


def test_saved_in_its_own_format_and_scores_identically(catboost_model, bank_df) -> None:
    trained, path = catboost_model
    files = sorted(p.name for p in (path / "estimator").iterdir())
    assert files == ["catboost.json", "model.cbm"]
    assert (path / "estimator" / "model.cbm").read_bytes()[:4] != b"\x80\x04\x95"  # not a pickle
    m = Model.load(path)
    np.testing.assert_allclose(
        m.score(bank_df).probability, trained.fitted.pipeline.proba_clean(trained.prepared.clean), rtol=0, atol=1e-12
    )
    assert trained.test["pr_auc"] > 0.9


def test_early_stopping_watches_validation_pr_auc(catboost_model) -> None:
    trained = catboost_model[0]
    est = trained.fitted.estimator
    assert est.model_.get_params()["eval_metric"] == "PRAUC"
    # a small table: sized by early stopping cross-fitted over training + validation rows, measured on the test
    # split, then refit on every labelled row at that size (scaled by the rows)
    final = trained.final_refit
    assert final["rows"] == 5000 and 1 <= final["size"]["iterations"] < 3000
    assert est.model_.tree_count_ == final["size"]["iterations"]


def test_fast_path_replays_it_exactly(catboost_model, bank_df) -> None:
    m = Model.load(catboost_model[1])
    assert m.compile_fast() is not None
    rows = json.loads(bank_df[m.schema.feature_names].head(300).to_json(orient="records"))
    p, _ = m.score_rows(rows)
    np.testing.assert_allclose(p, m.score(bank_df.head(300)).probability, atol=1e-9)


def test_a_few_rows_score_exactly_as_in_a_batch(catboost_model, bank_df) -> None:
    m = Model.load(catboost_model[1])
    x = m.features(m.validate(bank_df.head(300)).clean)
    batch = m.estimator.predict_proba(x)[:, 1]  # through a DataFrame
    one_by_one = [m.estimator.predict_proba(x[i : i + 1])[0, 1] for i in range(40)]  # through lists (serving)
    np.testing.assert_array_equal(one_by_one, batch[:40])
    np.testing.assert_array_equal(m.estimator.predict_proba(x[:16])[:, 1], batch[:16])


def test_shap_values_add_up_to_the_log_odds(catboost_model, bank_df) -> None:
    m = Model.load(catboost_model[1])
    x = m.features(m.validate(bank_df.head(200)).clean)
    contrib = m.estimator.contributions(x)
    p = m.raw_from_features(x)
    np.testing.assert_allclose(contrib.sum(axis=1), np.log(p / (1 - p)), atol=1e-6)


def test_every_command_works_with_catboost(catboost_model, bank_csv: Path, tmp_path: Path, capsys) -> None:
    _, path = catboost_model
    out = tmp_path / "scored.csv"
    assert run_cli(["predict", path, bank_csv, "--out", out], capsys)[0] == 0
    assert len(pd.read_csv(out)) == 5000
    assert run_cli(["predict", path, bank_csv, "--out", tmp_path / "why.csv", "--explain"], capsys)[0] == 0
    code, stdout, _ = run_cli(["evaluate", path, bank_csv, "--json"], capsys)
    assert code == 0 and json.loads(stdout)["pr_auc"] > 0.9
    code, _, err = run_cli(
        [
            "plan",
            path,
            bank_csv,
            "--contact-cost",
            5,
            "--accept-value",
            100,
            "--top",
            "10%",
            "--out",
            tmp_path / "calls.csv",
        ],
        capsys,
    )
    assert code == 0, err
    code, _, err = run_cli(["report", path, "--data", bank_csv, "--out", tmp_path / "r.html"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["tune-threshold", path, bank_csv, "--min-recall", 0.9, "--out", tmp_path / "tuned"], capsys)
    assert code == 0, err
