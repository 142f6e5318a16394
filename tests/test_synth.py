"""Tests for uptake.synth: the synthetic loan / fraud tables and the atomic table writer."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uptake.errors import UptakeInputError
from uptake.synth import (
    BLOCK_ROWS,
    FRAUD_COLUMNS,
    LOAN_COLUMNS,
    iter_table_chunks,
    make_fraud,
    make_loan,
    make_table,
    write_table,
)

REAL_NAME = "Bank_Personal_Loan_Modelling.csv"


def _data_dir() -> Path:
    env = os.environ.get("UPTAKE_DATA_DIR")
    if env:
        return Path(env)
    return (Path(__file__).parents[1] / "../shared/data").resolve()


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    path = _data_dir() / REAL_NAME
    if not path.is_file():
        pytest.skip(f"real table not found at {path} (set UPTAKE_DATA_DIR)")
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def loan() -> pd.DataFrame:
    return make_loan(20_000, seed=0)


# ------------------------------------------------------------------------- loan


def test_loan_columns_dtypes_and_rate_match_real_csv(real: pd.DataFrame, loan: pd.DataFrame) -> None:
    synth = make_loan(500, seed=3)
    assert list(synth.columns) == list(real.columns)
    assert synth.dtypes.to_dict() == real.dtypes.to_dict()
    assert abs(loan["Personal Loan"].mean() - real["Personal Loan"].mean()) < 0.015


def test_loan_columns_and_dtypes_without_real_csv() -> None:
    synth = make_loan(200, seed=1)
    assert list(synth.columns) == LOAN_COLUMNS
    expected = {c: np.dtype("float64") if c == "CCAvg" else np.dtype("int64") for c in LOAN_COLUMNS}
    assert synth.dtypes.to_dict() == expected


def test_loan_positive_rate_near_real(loan: pd.DataFrame) -> None:
    assert abs(loan["Personal Loan"].mean() - 0.096) < 0.01
    for seed in (1, 2):
        rate = make_loan(5000, seed=seed)["Personal Loan"].mean()
        assert abs(rate - 0.096) < 0.015, (seed, rate)


def test_loan_marginals_and_quirks(loan: pd.DataFrame) -> None:
    n = len(loan)
    assert loan["ID"].tolist() == list(range(1, n + 1))
    experience_gap = loan["Experience"] - (loan["Age"] - 25)
    assert experience_gap.between(-3, 2).all()
    negative = (loan["Experience"] < 0).mean()
    assert 0.003 < negative < 0.03
    assert loan["Age"].between(23, 67).all()
    assert loan["Income"].between(8, 224).all()
    assert 60 < loan["Income"].median() < 75
    assert loan["ZIP Code"].between(90_000, 99_999).all()
    assert set(loan["Family"].unique()) == {1, 2, 3, 4}
    assert set(loan["Education"].unique()) == {1, 2, 3}
    assert loan["CCAvg"].between(0, 10).all()
    assert (np.round(loan["CCAvg"], 1) == loan["CCAvg"]).mean() > 0.9  # mostly one decimal
    mortgage = loan["Mortgage"]
    assert 0.64 < (mortgage == 0).mean() < 0.74
    assert mortgage[mortgage > 0].between(75, 635).all()
    for column, rate in {
        "Securities Account": 0.104,
        "CD Account": 0.060,
        "Online": 0.597,
        "CreditCard": 0.294,
    }.items():
        assert abs(loan[column].mean() - rate) < 0.025, column
        assert set(loan[column].unique()) <= {0, 1}


def test_loan_acceptance_follows_the_real_drivers(loan: pd.DataFrame) -> None:
    accepted = loan["Personal Loan"] == 1
    assert accepted[loan["Income"] < 60].mean() < 0.005
    assert (loan.loc[accepted, "Income"] > 100).mean() > 0.75
    by_education = loan.groupby("Education")["Personal Loan"].mean()
    assert by_education[2] > 2 * by_education[1] and by_education[3] > 2 * by_education[1]
    by_family = loan.groupby("Family")["Personal Loan"].mean()
    assert min(by_family[3], by_family[4]) > max(by_family[1], by_family[2])
    by_cd = loan.groupby("CD Account")["Personal Loan"].mean()
    assert by_cd[1] > 3 * by_cd[0]
    assert loan.loc[accepted, "CCAvg"].mean() > 1.5 * loan.loc[~accepted, "CCAvg"].mean()
    # The interaction a linear model misses: high income alone is not enough.
    rich = loan["Income"] > 130
    eligible = (loan["Education"] > 1) | (loan["Family"] >= 3)
    assert loan.loc[rich & eligible, "Personal Loan"].mean() > 0.6
    assert loan.loc[rich & ~eligible & (loan["CD Account"] == 0), "Personal Loan"].mean() < 0.05


# ----------------------------------------------------------------- determinism


@pytest.mark.parametrize("kind", ["loan", "fraud"])
def test_same_seed_same_frame_different_seed_different_frame(kind: str) -> None:
    a = make_table(kind, 3000, seed=7)
    b = make_table(kind, 3000, seed=7)
    c = make_table(kind, 3000, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    column = "Income" if kind == "loan" else "V1"
    assert (a[column] != c[column]).mean() > 0.5


@pytest.mark.parametrize("kind", ["loan", "fraud"])
def test_chunks_concatenate_to_the_whole_table(kind: str) -> None:
    rows = BLOCK_ROWS + 12_345  # spans a block boundary, chunks don't divide blocks
    whole = make_table(kind, rows, seed=5)
    chunks = list(iter_table_chunks(kind, rows, seed=5, chunk_rows=40_000))
    assert [len(c) for c in chunks] == [40_000, 40_000, 40_000, rows - 120_000]
    joined = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)
    if kind == "loan":
        assert chunks[1]["ID"].iloc[0] == 40_001
    else:
        assert joined["Time"].is_monotonic_increasing


def test_zero_rows_and_bad_arguments() -> None:
    empty = make_loan(0)
    assert list(empty.columns) == LOAN_COLUMNS and len(empty) == 0
    assert empty.dtypes["CCAvg"] == np.float64 and empty.dtypes["ID"] == np.int64
    with pytest.raises(UptakeInputError, match="rows"):
        make_loan(-1)
    with pytest.raises(UptakeInputError, match="chunk_rows"):
        iter_table_chunks("loan", 10, 0, chunk_rows=0)


def test_unknown_kind_is_an_input_error() -> None:
    with pytest.raises(UptakeInputError) as info:
        make_table("x", 10)
    assert str(info.value) == "unknown synthetic kind 'x': choose loan or fraud"
    with pytest.raises(UptakeInputError, match="unknown synthetic kind 'Loan'"):
        iter_table_chunks("Loan", 10)


# ----------------------------------------------------------------------- fraud


def test_fraud_shape_dtypes_and_rate() -> None:
    rows = 200_000
    fraud = make_fraud(rows, seed=0)
    assert list(fraud.columns) == FRAUD_COLUMNS
    assert fraud.shape == (rows, 31)
    assert fraud["Class"].dtype == np.int64
    assert all(fraud[c].dtype == np.float64 for c in FRAUD_COLUMNS[:-1])
    assert set(fraud["Class"].unique()) == {0, 1}
    assert fraud["Class"].sum() == round(rows * 0.00173) == 346
    time = fraud["Time"]
    assert time.is_monotonic_increasing and time.min() >= 0 and time.max() <= 172_792
    assert time.max() > 170_000
    assert (fraud["Amount"] >= 0).all()
    assert fraud["Amount"].max() > 20 * fraud["Amount"].median()  # heavy tail
    v = fraud[[f"V{i}" for i in range(1, 29)]]
    assert v.mean().abs().max() < 0.1
    assert v.std().between(0.25, 2.2).all()
    positive = fraud["Class"] == 1
    shift = v[positive].mean() - v[~positive].mean()
    assert shift["V4"] > 0.5 and shift["V11"] > 0.3
    for name in ("V10", "V12", "V14", "V17"):
        assert shift[name] < -0.3, name
    assert abs(shift["V28"]) < 0.2


@pytest.mark.parametrize(("rows", "positives"), [(50, 0), (100, 1), (577, 1), (1000, 2), (10_000, 17)])
def test_fraud_exact_positive_count(rows: int, positives: int) -> None:
    assert make_fraud(rows, seed=rows)["Class"].sum() == positives


# --------------------------------------------------------------------- writing


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_excel(path, sheet_name="Data", engine="openpyxl")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_write_table_round_trip(tmp_path: Path, suffix: str) -> None:
    frame = make_loan(300, seed=2)
    path = tmp_path / f"loan{suffix}"
    write_table(frame, path)
    back = _read(path)
    pd.testing.assert_frame_equal(back, frame, check_exact=False, rtol=1e-12)
    assert os.listdir(tmp_path) == [path.name]  # no temp file left behind
    if suffix == ".xlsx":
        import openpyxl

        assert openpyxl.load_workbook(path, read_only=True).sheetnames == ["Data"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_write_table_in_chunks(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"fraud{suffix}"
    write_table(iter_table_chunks("fraud", 1_000, seed=4, chunk_rows=300), path)
    back = _read(path)
    # Excel keeps no int/float distinction for whole numbers (Time), so compare values there.
    pd.testing.assert_frame_equal(
        back,
        make_fraud(1_000, seed=4),
        check_exact=False,
        rtol=1e-12,
        check_dtype=suffix != ".xlsx",
    )
    assert os.listdir(tmp_path) == [path.name]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        assert pq.ParquetFile(path).num_row_groups == 4  # really written chunk by chunk


def test_write_table_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("old\n")
    write_table(make_loan(10), path)
    assert len(pd.read_csv(path)) == 10


def _failing_chunks():
    yield make_loan(100, seed=1)
    yield make_loan(100, seed=2)
    raise RuntimeError("source went away")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_failed_write_leaves_no_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    with pytest.raises(RuntimeError, match="source went away"):
        write_table(_failing_chunks(), path)
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    original = make_loan(50, seed=9)
    write_table(original, path)
    with pytest.raises(RuntimeError):
        write_table(_failing_chunks(), path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), original)
    assert os.listdir(tmp_path) == ["out.parquet"]


def test_unknown_extension_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    with pytest.raises(UptakeInputError) as info:
        write_table(make_loan(5), path)
    assert str(path) in str(info.value) and ".json" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_bad_inputs_to_write_table(tmp_path: Path) -> None:
    with pytest.raises(UptakeInputError, match="does not exist"):
        write_table(make_loan(5), tmp_path / "missing" / "t.csv")
    with pytest.raises(UptakeInputError, match="no tables"):
        write_table(iter([]), tmp_path / "t.csv")
    with pytest.raises(UptakeInputError, match="DataFrame"):
        write_table(iter([make_loan(5), "not a frame"]), tmp_path / "t.parquet")
    assert os.listdir(tmp_path) == []
