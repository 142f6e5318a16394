"""One validation policy: files (``Schema.validate``) and the JSON API (the request models) accept and
refuse the same values, in the same words (property-based, over the real table's schema)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from uptake.schema import infer_schema
from uptake.serve.requests import build_request_models, error_details


@pytest.fixture(scope="module")
def schema(bank_df):
    return infer_schema(bank_df, "Personal Loan")


@pytest.fixture(scope="module")
def models(schema):
    return build_request_models(schema, margin=0.25, max_rows=10)


def file_verdict(schema, column: str, value) -> str | None:
    row = dict.fromkeys(schema.feature_names) | {column: value}
    _, errors = schema.validate(pd.DataFrame([row], columns=schema.feature_names, dtype=object))
    return errors[0].reason if errors else None


def api_verdict(models, schema, column: str, value) -> str | None:
    row = dict.fromkeys(schema.feature_names) | {column: value}
    try:
        models.parse(json.dumps(row).encode())
    except ValidationError as exc:
        return error_details(exc)[0]["msg"]
    return None


json_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.floats(-300, 300),
    st.integers(-5, 300),
    st.sampled_from([0, 1, 2, 3, 4, 7, 0.5, 1.0, 2.0, -1, 1e9, -500]),
)


@settings(max_examples=300, deadline=None)
@given(
    column=st.sampled_from(
        ["Income", "Age", "Mortgage", "CCAvg", "Experience", "Education", "Family", "Online", "CD Account"]
    ),
    value=json_numbers,
)
def test_files_and_the_api_agree_on_every_number(schema, models, column: str, value) -> None:
    file_reason = file_verdict(schema, column, value)
    api_reason = api_verdict(models, schema, column, value)
    if isinstance(value, float) and math.isnan(value):
        # A file cannot tell NaN from an empty cell (missing, imputed); JSON's NaN is a value, and not finite.
        assert file_reason is None and api_reason == "not a finite number"
        return
    if isinstance(value, float) and math.isinf(value):
        assert file_reason == api_reason == "not a finite number"
        return
    assert file_reason == api_reason, (column, value)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.sampled_from(["1", "2", "3", " 2 ", "2.0", "4", "graduate", "", "x"]), st.text(max_size=6)))
def test_text_in_a_code_column_is_judged_alike(schema, models, value: str) -> None:
    """Education's codes given as text: the same verdict and words from a file and from the API."""
    file_reason = file_verdict(schema, "Education", value)
    api_reason = api_verdict(models, schema, "Education", value)
    if value.strip() == "":
        assert file_reason is None  # blank is missing, imputed as in training
        return
    assert file_reason == api_reason, value
