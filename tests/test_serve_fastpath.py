"""The compiled numpy backend equals the scoring pipeline's reference path on the real table, or stands aside."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.features import build_preprocessor, transform
from uptake.pipeline import Model
from uptake.pipeline.fast import FastBackend, compile_fast, compile_preprocessor
from uptake.serve.models import form_defaults


@pytest.fixture(scope="module")
def model(quick_model: Path) -> Model:
    return Model.load(quick_model)


@pytest.fixture(scope="module")
def fast(model: Model):
    scorer = compile_fast(model)
    assert scorer is not None, "the seed-preset network must be replayable"
    return scorer


def rows_of(df: pd.DataFrame, model: Model) -> list[dict]:
    return json.loads(df[model.schema.feature_names].to_json(orient="records"))


def reference_proba(model: Model, rows: list[dict]) -> np.ndarray:
    """The reference path for request rows: the pipeline on a one-row-per-customer frame."""
    frame = pd.DataFrame(rows, columns=model.schema.feature_names)
    return model.score(frame, blank=np.zeros(len(frame), dtype=bool)).probability  # a request row is a customer


def fast_proba(model: Model, fast, rows: list[dict]) -> np.ndarray:
    return model.calibrate(fast.raw_proba(rows))


def test_equals_model_score_on_the_whole_real_table(model, fast, bank_df) -> None:
    ref = model.score(bank_df).probability
    got = fast_proba(model, fast, rows_of(bank_df, model))
    assert np.max(np.abs(got - ref)) <= 1e-6
    # and the decisions at the stored threshold agree, except for a tie within float noise
    near = np.abs(ref - model.threshold) <= 1e-6
    assert ((got >= model.threshold) == (ref >= model.threshold))[~near].all()


def test_features_equal_the_fitted_column_transformer(model, fast, bank_df) -> None:
    clean = model.validate(bank_df).clean
    np.testing.assert_array_equal(fast.features(rows_of(bank_df, model)), model.features(clean))


def test_one_customer_at_a_time_equals_reference(model, fast, bank_df) -> None:
    for row in rows_of(bank_df.sample(25, random_state=1), model):
        assert fast_proba(model, fast, [row])[0] == pytest.approx(reference_proba(model, [row])[0], abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_missing_values_are_imputed_exactly_like_the_reference(model, fast, bank_df, data) -> None:
    """Any pattern of unknowns (None), in a single row or among others, scores as Model.score does."""
    i = data.draw(st.integers(0, len(bank_df) - 1))
    row = rows_of(bank_df.iloc[[i]], model)[0]
    missing = data.draw(st.sets(st.sampled_from(model.schema.feature_names)))
    for name in missing:
        row[name] = None
    alone = reference_proba(model, [row])[0]
    among = reference_proba(model, [rows_of(bank_df.iloc[[0]], model)[0], row])[1]
    assert alone == pytest.approx(among, abs=1e-6)  # the reference itself does not depend on neighbours
    assert fast_proba(model, fast, [row])[0] == pytest.approx(alone, abs=1e-6)


def test_piecewise_linear_encoding_is_replayed(model, bank_df) -> None:
    clean = model.validate(bank_df).clean
    pre = build_preprocessor(model.schema, "ple").fit(clean)
    numeric, categorical, idx, blocks = compile_preprocessor(pre, model.schema)
    codes = [model.schema.column(c).dtype == "int" for c in categorical]
    scorer = FastBackend(model.schema, numeric, categorical, idx, codes, blocks, forward=lambda x: x[:, 0])
    np.testing.assert_allclose(scorer.features(rows_of(bank_df, model)), transform(pre, clean), atol=1e-6)


def test_other_model_families_fall_back_to_the_reference_path(model) -> None:
    from sklearn.linear_model import LogisticRegression

    from uptake.pipeline import ScoringPipeline

    other = ScoringPipeline(model.schema, model.preprocessor, LogisticRegression(), threshold=0.5)
    assert compile_fast(other) is None  # an estimator without a numpy forward pass


def test_a_copy_that_disagrees_is_refused(model) -> None:
    assert compile_fast(model, tolerance=-1.0) is None  # nothing can pass a negative tolerance


def test_form_defaults_are_typical_training_values(model, bank_df) -> None:
    d = form_defaults(model)
    assert d["Income"] == bank_df["Income"].median()
    assert d["Online"] == int(bank_df["Online"].mode()[0])
    assert d["Education"] == str(bank_df["Education"].mode()[0])


def test_default_preset_with_batch_norm_and_piecewise_linear_inputs(tmp_path, bank_df) -> None:
    """The default recipe is replayed exactly.

    PLE inputs, Dense -> BatchNorm -> Activation, 10 cross-fitted members.
    """
    from uptake.train import TrainConfig, save, train

    trained = train(bank_df, TrainConfig(preset="default", epochs=2, seed=0))
    model = Model.load(save(trained, tmp_path / "default"))
    layers = {type(layer).__name__ for layer in model.estimator.models_[0].layers}
    assert {"BatchNormalization", "Activation"} <= layers
    assert model.card.to_json()["numeric_encoding"] == "ple-tree+boost"
    assert len(model.estimator.models_) == 10
    ple = model.preprocessor.named_transformers_["numeric"].named_steps["ple"]
    assert ple.bins == "tree+boost"  # the edges come from the training rows' target
    fast = compile_fast(model)
    assert fast is not None
    got = fast_proba(model, fast, rows_of(bank_df, model))
    assert np.max(np.abs(got - model.score(bank_df).probability)) <= 1e-6
