"""The numpy fast path equals the reference path (``Model.score``) on the real table, or stands aside."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.features import build_preprocessor, transform
from uptake.predict import Model
from uptake.serve.fastpath import compile_fast, compile_preprocessor, reference_proba, training_defaults


@pytest.fixture(scope="module")
def model(quick_model: Path) -> Model:
    return Model.load(quick_model)


@pytest.fixture(scope="module")
def fast(model: Model):  # noqa: ANN201
    scorer = compile_fast(model)
    assert scorer is not None, "the seed-preset network must be replayable"
    return scorer


def rows_of(df: pd.DataFrame, model: Model) -> list[dict]:
    return json.loads(df[model.schema.feature_names].to_json(orient="records"))


def test_equals_model_score_on_the_whole_real_table(model, fast, bank_df) -> None:  # noqa: ANN001
    ref = model.score(bank_df).probability
    got = fast.proba(rows_of(bank_df, model))
    assert np.max(np.abs(got - ref)) <= 1e-6
    # and the decisions at the stored threshold agree, except for a tie within float noise
    near = np.abs(ref - model.threshold) <= 1e-6
    assert ((got >= model.threshold) == (ref >= model.threshold))[~near].all()


def test_features_equal_the_fitted_column_transformer(model, fast, bank_df) -> None:  # noqa: ANN001
    clean, _ = model.schema.validate(bank_df)
    np.testing.assert_array_equal(fast.features(rows_of(bank_df, model)), model.features(clean))


def test_one_customer_at_a_time_equals_reference(model, fast, bank_df) -> None:  # noqa: ANN001
    for row in rows_of(bank_df.sample(25, random_state=1), model):
        assert fast.proba([row])[0] == pytest.approx(reference_proba(model, [row])[0], abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_missing_values_are_imputed_exactly_like_the_reference(model, fast, bank_df, data) -> None:  # noqa: ANN001
    """Any pattern of unknowns (None), in a single row or among others, scores as Model.score does."""
    i = data.draw(st.integers(0, len(bank_df) - 1))
    row = rows_of(bank_df.iloc[[i]], model)[0]
    missing = data.draw(st.sets(st.sampled_from(model.schema.feature_names)))
    for name in missing:
        row[name] = None
    alone = reference_proba(model, [row])[0]
    among = reference_proba(model, [rows_of(bank_df.iloc[[0]], model)[0], row])[1]
    assert alone == pytest.approx(among, abs=1e-6)  # the reference itself does not depend on neighbours
    assert fast.proba([row])[0] == pytest.approx(alone, abs=1e-6)


def test_piecewise_linear_encoding_is_replayed(model, bank_df) -> None:  # noqa: ANN001
    clean, _ = model.schema.validate(bank_df)
    pre = build_preprocessor(model.schema, "ple").fit(clean)
    _, _, _, blocks = compile_preprocessor(pre, model.schema)
    from uptake.serve.fastpath import FastScorer

    numeric = [c.name for c in model.schema.columns if c.kind != "categorical"]
    categorical = [c.name for c in model.schema.columns if c.kind == "categorical"]
    idx = [{t: i for i, t in enumerate(model.schema.column(c).categories)} for c in categorical]
    scorer = FastScorer(model.schema, numeric, categorical, idx, blocks, layers=[])
    np.testing.assert_allclose(scorer.features(rows_of(bank_df, model)), transform(pre, clean), atol=1e-6)


def test_other_model_families_fall_back_to_the_reference_path(model) -> None:  # noqa: ANN001
    from sklearn.linear_model import LogisticRegression

    class NotANetwork(Model):
        pass

    other = NotANetwork(model.path, model.metadata, model.preprocessor, LogisticRegression())
    assert compile_fast(other) is None


def test_a_copy_that_disagrees_is_refused(model) -> None:  # noqa: ANN001
    assert compile_fast(model, tolerance=-1.0) is None  # nothing can pass a negative tolerance


def test_form_defaults_are_typical_training_values(model, bank_df) -> None:  # noqa: ANN001
    d = training_defaults(model)
    assert d["Income"] == bank_df["Income"].median()
    assert d["Online"] == int(bank_df["Online"].mode()[0])
    assert d["Education"] == str(bank_df["Education"].mode()[0])


def test_default_preset_with_batch_norm_and_piecewise_linear_inputs(tmp_path, bank_df) -> None:  # noqa: ANN001
    """The default recipe (PLE inputs, Dense -> BatchNorm -> Activation, 5 members) is replayed exactly."""
    from uptake.train import TrainConfig, save, train

    trained = train(bank_df, TrainConfig(preset="default", epochs=2, seed=0))
    model = Model.load(save(trained, tmp_path / "default"))
    layers = {type(layer).__name__ for layer in model.estimator.models_[0].layers}
    assert {"BatchNormalization", "Activation"} <= layers
    assert model.metadata["numeric_encoding"] == "ple"
    fast = compile_fast(model)
    assert fast is not None
    got = fast.proba(rows_of(bank_df, model))
    assert np.max(np.abs(got - model.score(bank_df).probability)) <= 1e-6
