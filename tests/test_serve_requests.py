"""Request models generated from the stored Schema agree with the Schema's own validation."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from uptake.schema import infer_schema
from uptake.serve.requests import bounds, build_request_models, error_details, error_message


@pytest.fixture(scope="module")
def schema(bank_df):
    return infer_schema(bank_df, "Personal Loan")


@pytest.fixture(scope="module")
def models(schema):
    return build_request_models(schema, margin=0.25, max_rows=50)


@pytest.fixture(scope="module")
def strict_models(schema):
    return build_request_models(schema, margin=0.25, max_rows=50, strict=True)


def customers(schema, models):
    """Valid customers: numbers inside the accepted ranges, known categories, some unknowns."""
    fields = {}
    for spec in models.fields:
        if spec.kind == "numeric":
            lo, hi = bounds(schema.column(spec.name), 0.25)
            value = st.floats(lo, hi, allow_nan=False)
            if spec.dtype == "int":
                value = st.integers(int(lo), int(hi))
        else:
            value = st.sampled_from(spec.categories)
        fields[spec.name] = st.one_of(st.none(), value)
    return st.fixed_dictionaries(fields)


def test_fields_follow_the_schema(schema, models) -> None:
    assert [f.name for f in models.fields] == schema.feature_names
    edu = next(f for f in models.fields if f.name == "Education")
    assert edu.kind == "categorical" and edu.categories == [1, 2, 3]
    cc = next(f for f in models.fields if f.name == "CCAvg")
    assert "credit-card" in cc.description


def test_ranges_widen_the_training_range_but_not_below_zero(schema) -> None:
    for col in schema.columns:
        if col.kind != "numeric":
            continue
        lo, hi = bounds(col, 0.25)
        assert lo <= col.min and hi >= col.max
        if col.min >= 0:
            assert lo >= 0
    income = schema.column("Income")
    assert bounds(income, 0.25) == (0.0, 278.0)
    assert bounds(schema.column("Experience"), 0.25)[0] < 0  # the table itself has negative years


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_what_the_api_accepts_the_schema_accepts(schema, models, data) -> None:
    row = data.draw(customers(schema, models))
    [parsed] = models.parse(json.dumps(row).encode())
    _clean, errors = schema.validate(pd.DataFrame([parsed], columns=schema.feature_names))
    assert errors == []


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_out_of_range_numbers_are_flagged_or_under_strict_refused_naming_the_field(
    schema, models, strict_models, data
) -> None:
    row = data.draw(customers(schema, models))
    spec = data.draw(st.sampled_from([f for f in models.fields if f.kind == "numeric"]))
    above = data.draw(st.booleans())
    lo, hi = bounds(schema.column(spec.name), 0.25)
    row[spec.name] = hi + data.draw(st.floats(0.5, 1e9)) if above else lo - data.draw(st.floats(0.5, 1e9))
    [parsed] = models.parse(json.dumps(row).encode())  # scored: the answer flags it
    [flags] = schema.flag_records([parsed])
    assert f"{spec.name} {'above' if above else 'below'} the training range" in flags
    checked = schema.check(pd.DataFrame([parsed], columns=schema.feature_names))
    assert checked.errors == [] and checked.flags.lists() == [flags]  # a file's row gets the same words
    with pytest.raises(ValidationError) as info:
        strict_models.parse(json.dumps(row).encode())
    details = error_details(info.value)
    assert [d["loc"] for d in details] == [["body", spec.name]]
    assert error_message(details).startswith(spec.name)


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_junk_values_are_refused_not_crashed(schema, models, data) -> None:
    row = data.draw(customers(schema, models))
    name = data.draw(st.sampled_from(schema.feature_names))
    junk = data.draw(
        st.one_of(
            st.text(max_size=5),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
            st.just(True),
        )
    )
    row[name] = junk
    try:
        models.parse(json.dumps(row).encode())
    except ValidationError as exc:
        assert error_details(exc)[0]["loc"][1] == name
    else:  # a boolean for a 0/1 flag (JSON true is 1), or text a file's cell would pass as well ('', 'NA', '7')
        if isinstance(junk, str):
            cell = pd.DataFrame([{**row, name: junk}], columns=schema.feature_names, dtype=object)
            assert schema.validate(cell)[1] == []
        else:
            assert junk is True and schema.column(name).kind == "binary"


def test_booleans_are_not_categories_or_numbers(models) -> None:
    row = {f.name: None for f in models.fields}
    for name in ("Education", "Family", "Income"):
        with pytest.raises(ValidationError) as info:
            models.parse(json.dumps({**row, name: True}).encode())
        assert error_details(info.value)[0]["loc"] == ["body", name]
    assert models.parse(json.dumps({**row, "Online": True}).encode())[0]["Online"] == 1


def test_list_shape_and_limits(models) -> None:
    row = {f.name: None for f in models.fields}
    assert len(models.parse(json.dumps([row] * 50).encode())) == 50
    with pytest.raises(ValidationError):
        models.parse(json.dumps([row] * 51).encode())
    with pytest.raises(ValidationError):
        models.parse(b"[]")
    with pytest.raises(ValidationError) as info:
        models.parse(json.dumps([row, {**row, "Family": "zero"}]).encode())
    assert error_message(error_details(info.value)).startswith("row 2, Family")


def test_extra_columns_such_as_id_are_ignored(models) -> None:
    row = {f.name: None for f in models.fields} | {"ID": 7, "ZIP Code": 90210, "Personal Loan": 1}
    [parsed] = models.parse(json.dumps(row).encode())
    assert set(parsed) == {f.name for f in models.fields}
