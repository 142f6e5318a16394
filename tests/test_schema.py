"""The input schema: inference on the real table, validation, and JSON round-trips.

Property tests (hypothesis) pin the contract every consumer relies on: valid rows
never raise errors, one bad cell yields exactly one error pointing at it, and a
schema survives JSON unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.errors import UptakeInputError
from uptake.schema import Column, Schema, infer_schema


# ---- inference on the real table ------------------------------------------------------------
@pytest.fixture(scope="module")
def bank_schema(bank_df: pd.DataFrame) -> Schema:
    return infer_schema(bank_df, "Personal Loan", source="bank.csv")


def test_real_table_kinds(bank_schema: Schema) -> None:
    kinds = {c.name: c.kind for c in bank_schema.columns}
    assert kinds["Education"] == "categorical"
    assert bank_schema.column("Education").categories == ["1", "2", "3"]
    for flag in ("Securities Account", "CD Account", "Online", "CreditCard"):
        assert kinds[flag] == "binary"
    for number in ("Age", "Experience", "Income", "CCAvg", "Mortgage"):
        assert kinds[number] == "numeric"
    assert "Personal Loan" not in kinds


def test_id_and_zip_dropped_and_reported(bank_schema: Schema) -> None:
    dropped = {d["column"]: d["reason"] for d in bank_schema.dropped}
    assert set(dropped) == {"ID", "ZIP Code"}
    assert dropped["ID"].startswith("identifier")
    assert "ZIP" in dropped["ZIP Code"]
    assert "ID" not in bank_schema.feature_names and "ZIP Code" not in bank_schema.feature_names


def test_ranges_and_medians_recorded(bank_schema: Schema, bank_df: pd.DataFrame) -> None:
    exp = bank_schema.column("Experience")
    assert exp.min == bank_df["Experience"].min() == -3
    assert exp.max == bank_df["Experience"].max()
    assert exp.median == pytest.approx(bank_df["Experience"].median())
    assert exp.dtype == "int" and bank_schema.column("CCAvg").dtype == "float"


def test_drop_and_kind_overrides(bank_df: pd.DataFrame) -> None:
    schema = infer_schema(
        bank_df,
        "Personal Loan",
        drop=["Mortgage"],
        kinds={"Education": "numeric", "Income": "categorical", "ID": "numeric"},
    )
    assert "Mortgage" not in schema.feature_names
    assert {"column": "Mortgage", "reason": "dropped on request"} in schema.dropped
    assert schema.column("Education").kind == "numeric"
    assert schema.column("Income").kind == "categorical"
    # An explicit kind keeps a column the ID rule would have dropped.
    assert schema.column("ID").kind == "numeric"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"drop": ["Nope"]}, "column 'Nope'"),
        ({"drop": ["Personal Loan"]}, "cannot drop the target"),
        ({"kinds": {"Income": "fancy"}}, "not one of numeric, binary, categorical"),
        ({"kinds": {"Nope": "numeric"}}, "column 'Nope'"),
        ({"kinds": {"Income": "binary"}}, "binary column must hold 0/1"),
    ],
)
def test_bad_overrides_are_user_errors(bank_df: pd.DataFrame, kwargs: dict, fragment: str) -> None:
    with pytest.raises(UptakeInputError, match=fragment):
        infer_schema(bank_df, "Personal Loan", source="bank.csv", **kwargs)


def test_text_in_numeric_column_names_file_column_row_value(bank_df: pd.DataFrame) -> None:
    df = bank_df.copy()
    df["Income"] = df["Income"].astype(object)
    df.loc[41, "Income"] = "n/a?"
    with pytest.raises(UptakeInputError) as info:
        infer_schema(df, "Personal Loan", source="bank.csv")
    # Header is row 1 in CSV/Excel, so frame index 41 is row 43 as Excel shows it.
    assert str(info.value) == (
        "file 'bank.csv', column 'Income', row 43, value 'n/a?': text in a numeric column; mark such cells empty, "
        "or --kind 'Income=categorical' to read the column as categories"
    )


def test_text_column_is_categorical_with_categories() -> None:
    df = pd.DataFrame({"city": ["Oslo", "Bergen", " Oslo", "Tromsø"] * 10, "y": [0, 1] * 20})
    schema = infer_schema(df, "y")
    col = schema.column("city")
    assert col.kind == "categorical" and col.dtype == "str"
    assert col.categories == ["Bergen", "Oslo", "Tromsø"]


def test_missing_values_counted() -> None:
    df = pd.DataFrame({"a": [1.5, np.nan, 3.0, 4.0] * 10, "b": [0, 1, np.nan, 1] * 10, "y": [0, 1] * 20})
    schema = infer_schema(df, "y")
    assert schema.column("a").missing == 10
    assert schema.column("b").missing == 10 and schema.column("b").kind == "binary"


# ---- validation ---------------------------------------------------------------------------------
def test_validate_real_table_clean(bank_schema: Schema, bank_df: pd.DataFrame) -> None:
    clean, errors = bank_schema.validate(bank_df)
    assert errors == []
    assert list(clean.columns) == bank_schema.feature_names
    assert clean["Education"].iloc[0] == str(bank_df["Education"].iloc[0])


def test_validate_reports_every_bad_cell_with_excel_rows(bank_schema: Schema, bank_df: pd.DataFrame) -> None:
    df = bank_df.head(10).copy()
    df.attrs["row_offset"] = 2
    df["Income"] = df["Income"].astype(object)
    df["Online"] = df["Online"].astype(object)
    df.loc[3, "Income"] = "lots"
    df.loc[3, "Online"] = 7
    df.loc[0, "Online"] = "maybe"
    _, errors = bank_schema.validate(df, source="x.csv")
    assert [(e.row, e.column, e.value, e.reason) for e in errors] == [
        (2, "Online", "maybe", "not a number"),
        (5, "Income", "lots", "not a number"),
        (5, "Online", 7, "expected 0 or 1"),
    ]
    assert errors[1].message("x.csv") == "file 'x.csv', column 'Income', row 5, value 'lots': not a number"


def test_validate_missing_column(bank_schema: Schema, bank_df: pd.DataFrame) -> None:
    with pytest.raises(UptakeInputError, match=r"file 'new.csv', column 'Income': required feature column is missing"):
        bank_schema.validate(bank_df.drop(columns=["Income"]), source="new.csv")


def test_validate_infinity_is_invalid(bank_schema: Schema, bank_df: pd.DataFrame) -> None:
    df = bank_df.head(3).copy()
    df["CCAvg"] = [1.0, np.inf, 2.0]
    _, errors = bank_schema.validate(df, row_offset=2)
    assert [(e.row, e.column, e.reason) for e in errors] == [(3, "CCAvg", "not a finite number")]


# ---- properties ---------------------------------------------------------------------------------
SCHEMA = Schema(
    columns=[
        Column("num", "numeric", "float", min=-10.0, max=10.0, median=0.0),
        Column("flag", "binary", "int", min=0.0, max=1.0, categories=["0", "1"], median=0.0),
        Column("code", "categorical", "int", categories=["1", "2", "3"]),
        Column("city", "categorical", "str", categories=["Bergen", "Oslo"]),
    ],
    target="y",
)

# The accepted range of "num": its training range -10..10 widened by 25% of the span.
numbers = st.one_of(
    st.floats(-15, 15, allow_nan=False, allow_infinity=False, width=32),
    st.integers(-15, 15),
    st.none(),
)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "num": numbers,
            "flag": st.sampled_from([0, 1, 0.0, 1.0, "0", "1", " 1 ", None]),
            "code": st.sampled_from([1, 2, 3, "2", "2.0", " 3 ", 1.0, None]),  # codes compare as numbers
            "city": st.sampled_from(["Bergen", "Oslo", " Oslo ", "", None]),
        }
    ),
    min_size=1,
    max_size=30,
)
not_a_number = st.text(alphabet="abcdfghjklmopqrsuvwxyz?/-#", min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_property_valid_values_validate_without_errors(records: list[dict]) -> None:
    df = pd.DataFrame(records, dtype=object)
    clean, errors = SCHEMA.validate(df, row_offset=2)
    assert errors == []
    assert len(clean) == len(df) and list(clean.columns) == SCHEMA.feature_names
    assert clean["flag"].dropna().isin([0.0, 1.0]).all()


@settings(max_examples=150, deadline=None)
@given(rows, st.data(), not_a_number, st.sampled_from(["num", "flag"]), st.integers(1, 5))
def test_property_one_bad_cell_one_error(records: list[dict], data, word: str, column: str, offset: int) -> None:
    df = pd.DataFrame(records, dtype=object)
    i = data.draw(st.integers(0, len(df) - 1))
    df.loc[i, column] = word
    _, errors = SCHEMA.validate(df, row_offset=offset)
    assert len(errors) == 1
    assert (errors[0].row, errors[0].column, errors[0].value) == (i + offset, column, word)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            Column,
            name=st.text(min_size=1, max_size=12),
            kind=st.sampled_from(["numeric", "binary", "categorical"]),
            dtype=st.sampled_from(["int", "float", "str"]),
            min=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
            max=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
            categories=st.lists(st.text(max_size=6), max_size=5),
            missing=st.integers(0, 10**6),
            median=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
            description=st.text(max_size=20),
        ),
        min_size=1,
        max_size=6,
    ),
    st.text(min_size=1, max_size=12),
    st.text(min_size=1, max_size=6),
)
def test_property_schema_json_round_trip(columns: list[Column], target: str, positive: str) -> None:
    schema = Schema(
        columns=columns,
        target=target,
        positive_label=positive,
        negative_label="no",
        dropped=[{"column": "ID", "reason": "ID-like"}],
    )
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema
