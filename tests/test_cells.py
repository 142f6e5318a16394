"""One reader of cells: numbers written as text, missing-value texts, ids carried as written, blank rows,
Excel's structure, and one verdict per cell whatever the path and the chunk size."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli
from uptake.apply.stream import stream_predict
from uptake.errors import UptakeInputError
from uptake.io.cells import MISSING_TOKENS, decimal_mark, settle_column
from uptake.io.tables import read_table
from uptake.pipeline import Model
from uptake.pipeline.rows import score_table
from uptake.schema import Policy
from uptake.schema.kinds import bounds
from uptake.schema.values import is_missing, parse_number, to_number


# ---- numbers as text ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("5e+05", ".", 500_000.0),
        ("1,234.5", ".", 1234.5),
        ("1,234,567", ".", 1_234_567.0),
        ("12%", ".", 0.12),
        ("$120", ".", 120.0),
        ("120 €", ".", 120.0),
        ("-$5", ".", -5.0),
        ("(1,234.50)", ".", -1234.5),
        ("TRUE", ".", 1.0),
        ("false", ".", 0.0),
        ("1.234,5", ",", 1234.5),
        ("1.000", ",", 1000.0),
        ("1,5", ",", 1.5),
        ("7", ",", 7.0),
    ],
)
def test_numbers_as_spreadsheets_and_r_write_them(text: str, decimal: str, value: float) -> None:
    assert to_number(pd.Series([text]), decimal).iloc[0] == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "decimal"),
    [("0x31", "."), ("1_000", "."), ("1,23", "."), ("1.5", ","), ("abc", "."), ("12,3,4", "."), ("١٢", ".")],
)
def test_texts_that_are_not_numbers_stay_not_numbers(text: str, decimal: str) -> None:
    """Never a silent change of meaning: ambiguous or foreign spellings are not read as some number."""
    assert math.isnan(to_number(pd.Series([text]), decimal).iloc[0])
    assert not is_missing(pd.Series([text]))[0]  # ... and not missing either: validation names the cell


@settings(max_examples=300, deadline=None)
@given(
    value=st.floats(-1e12, 1e12, allow_nan=False).map(lambda v: round(v, 2)),
    grouped=st.booleans(),
    currency=st.sampled_from(["", "$", "€"]),
)
def test_property_grouped_and_currency_numbers_read_back(value: float, grouped: bool, currency: str) -> None:
    body = f"{abs(value):,.2f}" if grouped else f"{abs(value):.2f}"
    text = ("-" if value < 0 else "") + currency + body
    assert parse_number(text) == pytest.approx(value, abs=1e-6)
    comma = body.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_number(("-" if value < 0 else "") + comma, ",") == pytest.approx(value, abs=1e-6)


def test_missing_texts_are_missing_everywhere() -> None:
    cells = pd.Series(sorted(MISSING_TOKENS) + ["  ", "x"], dtype=object)
    assert is_missing(cells).tolist() == [True] * (len(MISSING_TOKENS) + 1) + [False]
    assert to_number(cells).isna().all()


def test_a_files_decimal_mark_is_decided_from_the_whole_sample() -> None:
    assert decimal_mark("a;b\n1,5;2\n3;4,25\n", ";") == ","
    assert decimal_mark("a;b\n1,5;2\n3.5;4\n", ";") == "."  # both marks: the point wins, commas are refused
    assert decimal_mark("a,b\n1,5\n", ",") == "."


def test_excel_cells_keep_their_types_and_integers_stay_integers() -> None:
    ints = settle_column(pd.Series([39, None, 40], dtype=object))
    assert str(ints.dtype) == "Int64" and ints.tolist()[0] == 39
    mixed = settle_column(pd.Series([1.5, "x"], dtype=object))
    assert mixed.tolist() == [1.5, "x"]


# ---- one verdict per cell, whatever the path and the chunk size ---------------------------------------
CELLS = ["0", "1", "TRUE", "false", "0x31", "None", "<NA>", "", "2", "1.0", " 1 "]


@pytest.fixture(scope="module")
def model(quick_model: Path) -> Model:
    return Model.load(quick_model)


@settings(max_examples=25, deadline=None)
@given(cells=st.lists(st.sampled_from(CELLS), min_size=8, max_size=40), chunk=st.integers(1, 9))
def test_property_one_verdict_whatever_the_path_and_the_chunk_size(
    model, bank_df, tmp_path_factory, cells: list[str], chunk: int
) -> None:
    folder = tmp_path_factory.mktemp("verdict")
    df = bank_df.head(len(cells)).astype(object).copy()
    df["Online"] = cells
    src = folder / "in.csv"
    df.to_csv(src, index=False)
    whole = score_table(model, src, skip_invalid=True)
    streamed = stream_predict(model, src, folder / "out.csv", chunk_rows=chunk, skip_invalid=True)
    assert streamed.invalid == len(whole.scored.invalid_rows)
    assert streamed.rows_scored == len(whole.scored.probability)
    if streamed.rows_scored:
        got = pd.read_csv(folder / "out.csv")
        np.testing.assert_allclose(np.sort(got["probability"]), np.sort(whole.scored.probability), atol=1e-9)


# ---- ids and other columns leave as they came in ------------------------------------------------------
def _ids_file(bank_df: pd.DataFrame, path: Path) -> list[str]:
    ids = ["007", "9007199254740995", "0042", "", "12"] + [str(i) for i in range(5, 30)]
    df = bank_df.head(len(ids)).copy()
    df.insert(0, "Account", ids)
    df["Branch"] = ["39"] * 3 + [""] + ["41"] * (len(ids) - 4)  # an integer column with an empty cell
    df["Note"] = ["=HYPERLINK(1)", "-12", "  ok"] + ["x"] * (len(ids) - 3)
    df.to_csv(path, index=False)
    return ids


@pytest.mark.parametrize("explain", [False, True])
def test_ids_and_unused_columns_leave_exactly_as_they_came_in(model, bank_df, tmp_path, explain, capsys) -> None:
    """Streamed (no --explain) and whole-table (--explain) alike."""
    src = tmp_path / "ids.csv"
    ids = _ids_file(bank_df, src)
    out = tmp_path / "out.csv"
    argv = ["predict", model.path, src, "--out", out] + (["--explain"] if explain else [])
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got["Account"].tolist() == ids
    assert got["Branch"].tolist()[:5] == ["39", "39", "39", "", "41"]
    assert got["Note"].tolist()[:3] == ["'=HYPERLINK(1)", "-12", "ok"]  # formulas neutralised, numbers not


def test_a_scored_file_scored_again_keeps_no_column_of_the_earlier_run(model, bank_df, tmp_path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    src = tmp_path / "in.csv"
    bank_df.head(40).to_csv(src, index=False)
    for path in (first,):
        frame = Model.frame(bank_df.head(40), model.score(bank_df.head(40)))
        frame["expected_value"] = 1.0
        frame["reason_1"] = "old"
        frame.to_csv(path, index=False)
    stream_predict(model, first, second, chunk_rows=7)
    got = pd.read_csv(second)
    assert "expected_value" not in got.columns and "reason_1" not in got.columns
    assert list(got.columns).count("rank") == 1
    table = score_table(model, first)
    assert "Replaced the columns of an earlier scoring run: probability, decision, rank, flags" in " ".join(
        table.notes()
    )


# ---- rows that are not customers; Excel's structure ----------------------------------------------------
def test_blank_rows_are_not_customers(model, bank_df, tmp_path) -> None:
    src = tmp_path / "tail.csv"
    bank_df.head(50).to_csv(src, index=False)
    with open(src, "a") as fh:
        fh.write("," * 13 + "\n" + " ," * 13 + " \n" + "\n")
    whole = score_table(model, src)
    assert len(whole.scored.probability) == 50 and whole.scored.blank_rows == 2
    summary = stream_predict(model, src, tmp_path / "o.csv", chunk_rows=11)
    assert summary.rows_scored == 50 and summary.blank == 2


def test_excel_hidden_sheets_merged_cells_and_the_sheet_read_are_said(model, bank_df, tmp_path) -> None:
    path = tmp_path / "book.xlsx"
    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old copy"
    old.append(list(bank_df.columns))
    old.append([1] * len(bank_df.columns))
    old.sheet_state = "hidden"
    ws = book.create_sheet("Current")
    ws.append(list(bank_df.columns))
    for row in bank_df.head(20).itertuples(index=False):
        ws.append(list(row))
    ws.append([" "] * len(bank_df.columns))  # a row of one space: not a customer
    col = list(bank_df.columns).index("Education") + 1
    ws.merge_cells(start_row=2, end_row=4, start_column=col, end_column=col)
    book.active = 1
    book.save(path)
    table = score_table(model, path)
    assert table.df.attrs["sheet"] == "Current" and len(table.scored.probability) == 20
    assert table.rows["Education"].tolist()[:3] == [bank_df["Education"].iloc[0]] * 3
    notes = " | ".join(table.notes())
    assert "Read sheet 'Current'" in notes and "hidden sheets not read: Old copy" in notes
    assert "2 cells of merged ranges" in notes and "Left out 1 blank rows" in notes
    with pytest.raises(UptakeInputError, match="no sheet named 'Nope'"):
        read_table(path, sheet="Nope")


# ---- the policy: score every row that can be scored, flag the unusual -------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    number=st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False),
    text=st.text(min_size=1, max_size=12),
    column=st.sampled_from(["Income", "CCAvg", "Mortgage", "Age"]),
)
def test_property_any_finite_number_and_any_category_text_scores(model, bank_df, number, text, column) -> None:
    """Nothing valid is refused: a finite number anywhere scores (flagged when beyond the training range),
    and under --strict what lies beyond the widened range is refused, in the same words on every path."""
    row = bank_df.head(1).copy()
    row[column] = number
    scored = model.score(row)
    assert len(scored.probability) == 1 and np.isfinite(scored.probability).all()
    col = model.schema.column(column)
    outside = number > col.max or number < col.min
    assert bool(scored.flag_texts()[0]) == outside
    strict = Model.load(model.path, policy=Policy(strict=True))
    lo, hi = bounds(col, strict.policy.range_margin)
    if not lo <= number <= hi:
        with pytest.raises(UptakeInputError, match="outside the accepted range"):
            strict.score(row)
    else:
        assert strict.score(row).probability[0] == pytest.approx(scored.probability[0])


def test_a_decimal_comma_file_reads_a_thousands_group_as_a_thousand(model, bank_df, tmp_path) -> None:
    """Mortgage 1.000 beside CCAvg 1,6 in a semicolon file is one thousand: read so, flagged, written back as is."""
    df = bank_df.head(30).copy()
    src = tmp_path / "de.csv"
    df.to_csv(src, sep=";", decimal=",", index=False)
    lines = src.read_text().splitlines()
    cells = lines[1].split(";")
    cells[list(df.columns).index("Mortgage")] = "1.000"
    lines[1] = ";".join(cells)
    src.write_text("\n".join(lines) + "\n")
    whole = score_table(model, src)
    assert whole.scored.clean["Mortgage"].iloc[0] == 1000.0
    assert whole.scored.flag_texts()[0] == "Mortgage above the training range"
    out = tmp_path / "o.csv"
    stream_predict(model, src, out, chunk_rows=4)
    assert pd.read_csv(out, dtype=str)["Mortgage"].iloc[0] == "1.000"
