"""Tree families explain each customer with the library's own exact contributions (TreeSHAP)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uptake.explain.reasons import exact_effects, groups_and_background, log_odds, reasons
from uptake.explain.shapley import _as_frame, shapley_effects
from uptake.features.groups import BACKGROUND_ROWS
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train


@pytest.fixture(scope="module", params=["lightgbm", "catboost", "logreg"])
def tree_model(
    request: pytest.FixtureRequest, bank_df: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Model:
    out = tmp_path_factory.mktemp(request.param) / "m"
    return Model.load(save(train(bank_df, TrainConfig(model=request.param, seed=0)), out))


def test_contributions_add_up_to_the_models_log_odds(tree_model: Model, bank_df: pd.DataFrame) -> None:
    clean = tree_model.validate(bank_df.head(300)).clean
    p, effects = exact_effects(tree_model, clean)
    np.testing.assert_allclose(p, tree_model.raw_proba_clean(clean), rtol=1e-6, atol=1e-9)
    assert effects.shape == (300, len(tree_model.schema.feature_names))
    # each raw column's share is the sum of its inputs' shares; with the bias they are the log-odds
    contrib = tree_model.estimator.contributions(tree_model.features(clean))
    np.testing.assert_allclose(effects.sum(axis=1) + contrib[:, -1], log_odds(p), atol=1e-6)


def test_exact_reasons_name_income_in_both_directions(tree_model: Model, bank_df: pd.DataFrame) -> None:
    clean = tree_model.validate(bank_df).clean
    rich = clean[clean["Income"] >= 180].head(20)
    poor = clean[(clean["Income"] <= 30) & (clean["CCAvg"] < 1)].head(20)
    for group, direction in ((rich, "raises"), (poor, "lowers")):
        found = [r for rs in reasons(tree_model, group, k=3) for r in rs if r["feature"] == "Income"]
        assert len(found) >= len(group) // 2, direction
        assert all(r["direction"] == direction for r in found), direction
        assert all((r["effect"] > 0) == (direction == "raises") for r in found)


def test_the_network_is_explained_by_shapley_values_that_add_up(quick_model: Path, bank_df: pd.DataFrame) -> None:
    model = Model.load(quick_model)
    clean = model.validate(bank_df.head(40)).clean
    assert exact_effects(model, clean) is None
    groups, background = groups_and_background(model)
    assert len(background) == BACKGROUND_ROWS
    assert sorted(c for g in groups for c in g) == sorted(model.schema.feature_names)
    z, effects = shapley_effects(model.raw_proba_clean, clean, groups, background)
    np.testing.assert_allclose(z, log_odds(model.raw_proba_clean(clean)), atol=1e-9)
    # efficiency: each customer's shares add up to their log-odds minus the background's average
    base = log_odds(model.raw_proba_clean(_as_frame(background, clean))).mean()
    np.testing.assert_allclose(effects.sum(axis=1), z - base, atol=1e-6)
    # the reasons are these shares, strongest first
    first = reasons(model, clean.head(5), k=1)
    for i, rs in enumerate(first):
        j = int(np.argmax(np.abs(effects[i])))
        assert rs[0]["features"] == groups[j] and rs[0]["effect"] == pytest.approx(effects[i, j])


def test_a_model_without_a_background_is_explained_against_the_typical_customer(
    quick_model: Path, bank_df: pd.DataFrame
) -> None:
    model = Model.load(quick_model)
    model.card = model.card.model_copy(update={"explanation": None})  # as saved before the card kept one
    groups, background = groups_and_background(model)
    assert groups == [[n] for n in model.schema.feature_names] and len(background) == 1
    rs = reasons(model, model.validate(bank_df.head(20)).clean)
    assert sum(len(r) for r in rs) > 20
