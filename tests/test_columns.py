"""The columns real exports carry, decided by rule at training: identifiers, names, dates, numbers written
as text, mostly-missing and near-constant columns; each decision said, stored and overridable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from uptake.errors import UptakeInputError
from uptake.pipeline import Model
from uptake.schema import infer_schema
from uptake.schema.infer import decide
from uptake.train import TrainConfig, save, train

N = 600


def export(seed: int = 0, n: int = N) -> pd.DataFrame:
    """A lender's export: the columns a real one carries around a learnable signal."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(3.8, 0.6, n).round(1)
    region = rng.choice(["North", "South", "East", "West"], n)
    opened = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    y = (income + 40 * (region == "North") + rng.normal(0, 20, n) > 90).astype(int)
    surnames = [f"Name{int(v)}" for v in rng.zipf(1.3, n)]
    ids = np.arange(10_000, 10_000 + n)
    ids[5] = ids[4]  # an identifier with one repeated value is still an identifier
    return pd.DataFrame(
        {
            "RowNumber": np.arange(1, n + 1),
            "CustomerId": ids,
            "Surname": surnames,
            "Email": [f"c{i}@bank.example" for i in range(n)],
            "Income": [f"${v:,.1f}" for v in income],  # written as text, with currency and grouping
            "Region": region,
            "Opened": opened.strftime("%Y-%m-%d"),
            "Contacted": opened.strftime("%m/%d/%Y"),  # month-first: 13+ in the second field somewhere
            "Mostly empty": ["x" if i % 50 == 0 else "" for i in range(n)],
            "Branch": ["A"] * (n - 2) + ["B", "B"],
            "Accepted": y,
        }
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return export()


def test_each_rule_decides_and_says_why(table) -> None:
    schema = infer_schema(table, "Accepted")
    reasons = {d["column"]: d["reason"] for d in schema.dropped}
    assert reasons["RowNumber"].startswith("identifier: one distinct value per row")
    assert reasons["CustomerId"].startswith("identifier: almost one distinct value per row")
    assert reasons["Surname"].startswith("a person's name") and "proxy for ethnicity and sex" in reasons["Surname"]
    assert reasons["Email"].startswith("identifier: one distinct value per row")
    assert reasons["Mostly empty"].startswith("mostly missing: empty in 98% of rows")
    assert reasons["Branch"].startswith("near-constant: only 2 of 600 rows differ")
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {"Income": "numeric", "Region": "categorical", "Opened": "date", "Contacted": "date"}
    assert schema.column("Opened").date_format == "ISO8601" and schema.column("Contacted").date_format == "%m/%d/%Y"
    income = schema.column("Income")
    assert income.min == pytest.approx(min(float(v.strip("$").replace(",", "")) for v in table["Income"]))


def test_keep_kind_and_drop_override_the_rules(table) -> None:
    schema = infer_schema(table, "Accepted", keep=["Branch"], kinds={"RowNumber": "numeric"}, drop=["Region"])
    names = [c.name for c in schema.columns]
    assert "Branch" in names and "RowNumber" in names and "Region" not in names
    assert {"column": "Region", "reason": "dropped on request"} in schema.dropped
    with pytest.raises(UptakeInputError, match="--keep names a column the table does not have"):
        infer_schema(table, "Accepted", keep=["Nope"])


def test_day_and_month_that_cannot_be_told_apart_are_not_guessed() -> None:
    dates = pd.Series([f"0{d}/0{m}/2026" for d, m in zip([1, 2, 3, 4] * 10, [5, 6, 7, 8] * 10)])
    assert decide("When", dates).reason.startswith("dates whose day and month cannot be told apart")


def test_a_numeric_column_with_text_is_refused_naming_the_first_cell_and_counting() -> None:
    values = [str(v % 40) for v in range(100)]
    values[3], values[50] = "n/a?", "high"
    df = pd.DataFrame({"Income": values, "y": [0, 1] * 50})
    df.attrs.update(row_offset=2, source="x.csv")
    with pytest.raises(UptakeInputError, match=r"row 5, value 'n/a\?': text in a numeric column \(2 such cells"):
        infer_schema(df, "y", source="x.csv")
    mostly_text = pd.DataFrame({"Band": ["low", "mid", "high", "5"] * 25, "y": [0, 1] * 50})
    assert infer_schema(mostly_text, "y").column("Band").kind == "categorical"


def test_a_model_with_a_date_scores_and_flags_dates_beyond_training(table, tmp_path) -> None:
    trained = train(table, TrainConfig(target="Accepted", model="logreg", seed=0))
    path = save(trained, tmp_path / "m")
    m = Model.load(path)
    new = table.head(5).copy()
    new.loc[new.index[0], "Opened"] = "2031-06-30"
    new.loc[new.index[1], "Opened"] = "30/06/2031"  # not the column's format
    scored = m.score(new, skip_invalid=True)
    assert scored.invalid_rows == [2] and "not a date written as the training dates are" in scored.errors[0].reason
    assert scored.flag_texts()[0] == "Opened after the training dates"
    assert m.compile_fast() is not None  # the date parts replay exactly on the fast path
    from uptake.serve.requests import build_request_models

    requests = build_request_models(m.schema)
    body = new.iloc[[0, 2]][m.schema.feature_names].to_json(orient="records").encode()
    rows = requests.parse(body)  # dates and "$84.0" as text, read as files read them
    fast, _ = m.score_rows(rows)
    np.testing.assert_allclose(fast, m.score(new.iloc[[0, 2]]).probability, atol=1e-6)
    assert m.schema.flag_records(rows)[0] == ["Opened after the training dates"]


# ---- what a table means ------------------------------------------------------------------------------------
def test_a_copy_of_the_target_is_warned_about_and_kept(table) -> None:
    leaky = table.copy()
    leaky["Status"] = np.where(leaky["Accepted"] == 1, "accepted", "declined")
    trained = train(leaky, TrainConfig(target="Accepted", model="logreg", seed=0))
    warnings = trained.prepared.summary.warnings
    assert any(w.startswith("'Status' alone separates the target almost perfectly") for w in warnings)
    assert "Status" in trained.prepared.schema.feature_names  # the user decides
    assert not any("'Income'" in w for w in warnings)


def test_duplicated_rows_stay_on_one_side_of_every_split(table) -> None:
    doubled = pd.concat([table, table], ignore_index=True)
    trained = train(doubled, TrainConfig(target="Accepted", model="logreg", seed=0))
    assert trained.prepared.summary.duplicate_rows == len(table)
    from uptake.train.prepare import split_indices

    parts = split_indices(trained.prepared.y, 0, groups=trained.prepared.groups)
    key = pd.util.hash_pandas_object(trained.prepared.clean, index=False).to_numpy()
    seen = [set(key[p]) for p in parts]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])


def test_isotonic_on_a_handful_of_positives_falls_back_to_a_sigmoid_and_says_so() -> None:
    from uptake.decide.calibration import fit_calibrator

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(8), np.zeros(800)].astype(int)
    p = np.clip(rng.random(len(y)) * 0.3 + 0.4 * y, 0, 1)
    cal = fit_calibrator("isotonic", y, p)
    assert cal.method == "sigmoid" and "fewer than 30" in cal.note
    assert ((cal(p) == 0) | (cal(p) == 1)).mean() < 0.01  # not 99% of customers at exactly 0 or 1
    with pytest.raises(UptakeInputError, match="holds 2 rows of the rarer class"):
        fit_calibrator("sigmoid", np.r_[np.ones(2), np.zeros(100)].astype(int), np.linspace(0, 1, 102))


def test_test_figures_on_a_handful_of_positives_say_so() -> None:
    from uptake.train.sanity import few_positives

    assert few_positives({"positives": 12}, "frauds").startswith("only 12 frauds in the test split: too few")
    assert few_positives({"positives": 99}) is None
