"""Streaming scoring: chunked reading, exact ranks, bad rows in the middle of a file, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.apply.ranks import ExactRanks
from uptake.apply.stream import stream_predict
from uptake.decide import rank_desc
from uptake.errors import UptakeInputError
from uptake.io.chunks import iter_chunks
from uptake.io.tables import read_table
from uptake.pipeline import Model
from uptake.synth import iter_table_chunks, write_table

ROWS = 20_000


@pytest.fixture(scope="module")
def loan_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("loan")
    files = {"csv": d / "loan.csv", "parquet": d / "loan.parquet"}
    for path in files.values():
        write_table(iter_table_chunks("loan", ROWS, seed=5, chunk_rows=4_000), path)
    return files


@pytest.fixture(scope="module")
def model(quick_model: Path) -> Model:
    return Model.load(quick_model)


@pytest.fixture(scope="module")
def reference(model: Model, loan_files: dict[str, Path]) -> pd.DataFrame:
    """The whole-file path: read everything, Model.score, scored_frame."""
    df = read_table(loan_files["parquet"])
    return Model.frame(df, model.score(df))


def _bad_csv(src: Path, dst: Path, bad: dict[int, str]) -> None:
    """Copy ``src`` replacing the given (1-based) lines."""
    lines = src.read_text().splitlines()
    for number, text in bad.items():
        lines[number - 1] = text
    dst.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("src", ["csv", "parquet"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_streamed_output_equals_whole_file_scoring(model, loan_files, reference, tmp_path, src, suffix):
    out = tmp_path / f"scored{suffix}"
    # Small chunks and ranking runs, so several of each meet in one file.
    summary = stream_predict(model, loan_files[src], out, chunk_rows=3_000, run_rows=7_000)
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert summary.rows_read == summary.rows_scored == ROWS
    assert list(got.columns) == list(reference.columns)
    # Columns leave as they came in: a CSV's ids are its text, a Parquet file's its integers.
    np.testing.assert_array_equal(got["ID"].astype(str).to_numpy(), reference["ID"].astype(str).to_numpy())
    np.testing.assert_allclose(got["probability"].to_numpy(), reference["probability"].to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(got["decision"].to_numpy(), reference["decision"].to_numpy())
    np.testing.assert_array_equal(got["rank"].to_numpy(), reference["rank"].to_numpy())
    assert summary.positives == int(reference["decision"].sum())
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temp or scratch files left


def test_no_rank_writes_one_pass_without_rank(model, loan_files, reference, tmp_path):
    out = tmp_path / "scored.parquet"
    summary = stream_predict(model, loan_files["csv"], out, chunk_rows=5_000, rank=False)
    got = pd.read_parquet(out)
    assert not summary.ranked and "rank" not in got.columns
    np.testing.assert_allclose(got["probability"].to_numpy(), reference["probability"].to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("src", ["csv", "parquet"])
def test_chunks_are_bounded_and_cover_the_file(loan_files, src):
    sizes, starts = [], []
    for chunk in iter_chunks(loan_files[src], chunk_rows=3_000):
        sizes.append(chunk.table.num_rows)
        starts.append(chunk.start)
    assert max(sizes) <= 3_000
    assert sum(sizes) == ROWS
    assert starts == list(np.cumsum([0, *sizes[:-1]]))


class CountingModel(Model):
    """A real model that records how many rows each ``score`` call got."""

    calls: list[int]

    def score(self, df, source=None, skip_invalid=False, row_offset=None, **options):
        self.calls.append(len(df))
        return super().score(df, source, skip_invalid, row_offset, **options)


def test_scoring_never_sees_more_than_a_chunk(quick_model, loan_files, tmp_path):
    m = CountingModel.load(quick_model)
    m.calls = []
    stream_predict(m, loan_files["parquet"], tmp_path / "o.csv", chunk_rows=2_500)
    assert m.calls and max(m.calls) <= 2_500 and sum(m.calls) == ROWS


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.1, 0.5, 0.5, 0.9, 0.25, np.nan, 0.75, 0.5]), min_size=1, max_size=60),
    run_rows=st.integers(1, 25),
)
def test_exact_ranks_over_runs_match_a_global_sort(tmp_path_factory, values, run_rows):
    p = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(p)
    ranks = ExactRanks(p, tmp_path_factory.mktemp("runs"), run_rows=run_rows)
    got = ranks.ranks(np.flatnonzero(ok), p[ok])
    np.testing.assert_array_equal(got, rank_desc(p[ok]))


def test_wrong_type_in_the_middle_names_its_line_and_writes_nothing(model, loan_files, tmp_path):
    bad = tmp_path / "bad.csv"
    _bad_csv(loan_files["csv"], bad, {12_345: "12344,40,15,lots,91000,2,1.5,2,0,0,0,0,1,0"})
    out = tmp_path / "out.csv"
    with pytest.raises(UptakeInputError, match=r"column 'Income', row 12345, value 'lots': not a number"):
        stream_predict(model, bad, out, chunk_rows=3_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_short_row_in_the_middle_names_its_line(model, loan_files, tmp_path):
    bad = tmp_path / "short.csv"
    _bad_csv(loan_files["csv"], bad, {9_001: "9000,40,15"})
    with pytest.raises(UptakeInputError, match=r"row 9001: 3 fields where the header has 14"):
        stream_predict(model, bad, tmp_path / "out.parquet", chunk_rows=3_000)
    assert not (tmp_path / "out.parquet").exists()


def test_skip_invalid_drops_bad_rows_and_keeps_line_numbers_true(model, loan_files, tmp_path):
    bad = tmp_path / "bad.csv"
    # A short row first, then a wrong type further down the same chunk: its line must still be 7002.
    _bad_csv(
        loan_files["csv"],
        bad,
        {
            6_500: "6499,40,15",
            7_002: "7001,40,15,abc,91000,2,1.5,2,0,0,0,0,1,0",
            15_000: "14999,40,15,90,91000,2,1.5,2,0,0,0,7,1,0",  # binary flag 7: invalid
        },
    )
    out = tmp_path / "out.csv"
    summary = stream_predict(model, bad, out, chunk_rows=3_000, skip_invalid=True, run_rows=4_000)
    got = pd.read_csv(out)
    assert summary.invalid == 3 and summary.rows_scored == ROWS - 3 == len(got)
    assert not set(got["ID"]) & {6_499, 7_001, 14_999}
    assert sorted(got["rank"]) == list(range(1, ROWS - 2))
    text = " | ".join(summary.errors)
    assert "row 7002, value 'abc': not a number" in text
    assert "row 6500: 3 fields" in text
    assert "column 'CD Account', row 15000, value '7': expected 0 or 1" in text  # the cell as written


def test_missing_feature_column_fails_before_scoring(model, tmp_path):
    df = pd.DataFrame({"Age": [30, 40], "Income": [50, 60]})
    src = tmp_path / "few.parquet"
    df.to_parquet(src)
    with pytest.raises(UptakeInputError, match="required feature column is missing"):
        stream_predict(model, src, tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


def test_parquet_dataset_directory_streams_in_file_order(model, tmp_path):
    d = tmp_path / "dataset"
    d.mkdir()
    parts = list(iter_table_chunks("loan", 9_000, seed=3, chunk_rows=3_000))
    for i, part in enumerate(parts):
        part.to_parquet(d / f"part-{i:03d}.parquet", index=False)
    (d / "_SUCCESS").write_text("")
    out = tmp_path / "o.parquet"
    stream_predict(model, d, out, chunk_rows=2_000)
    got = pq.read_table(out).to_pandas()
    whole = pd.concat(parts, ignore_index=True)
    np.testing.assert_array_equal(got["ID"].to_numpy(), whole["ID"].to_numpy())
    np.testing.assert_array_equal(got["rank"].to_numpy(), rank_desc(model.score(whole).probability))


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from uptake.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_cli_streams_with_progress_and_reports_bad_lines(quick_model, loan_files, tmp_path):
    bad = tmp_path / "bad.csv"
    _bad_csv(loan_files["csv"], bad, {4_321: "4320,40,15,abc,91000,2,1.5,2,0,0,0,0,1,0"})
    out = tmp_path / "out.csv"
    r = _cli("predict", str(quick_model), str(bad), "--out", str(out), "--chunk-rows", "2000")
    assert r.returncode == 2, r.stderr
    assert "row 4321, value 'abc'" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()

    r = _cli(
        "predict",
        str(quick_model),
        str(bad),
        "--out",
        str(out),
        "--chunk-rows",
        "2000",
        "--skip-invalid",
        "--no-rank",
        env={"UPTAKE_PROGRESS": "1"},
    )
    assert r.returncode == 0, r.stderr
    assert f"Scored {ROWS - 1:,} rows" in r.stdout and "skipped 1 invalid rows" in r.stdout
    assert "rows/s" in r.stderr and "skipped invalid row: file" in r.stderr
    got = pd.read_csv(out)
    assert len(got) == ROWS - 1 and "rank" not in got.columns


def test_cli_rejects_dask_for_csv(quick_model, loan_files, tmp_path):
    r = _cli("predict", str(quick_model), str(loan_files["csv"]), "--out", str(tmp_path / "o.csv"), "--engine", "dask")
    assert r.returncode == 2 and "--engine dask scores Parquet" in r.stderr


def test_true_false_flags_in_csv_read_like_pandas(model, loan_files, tmp_path):
    df = pd.read_csv(loan_files["csv"]).head(300)
    flags = df.astype({"Online": bool, "CreditCard": bool})
    src = tmp_path / "flags.csv"
    flags.to_csv(src, index=False)  # writes True/False
    out = tmp_path / "o.csv"
    stream_predict(model, src, out, chunk_rows=100)
    np.testing.assert_allclose(pd.read_csv(out)["probability"], model.score(df).probability, rtol=1e-6)


def test_semicolon_csv_with_decimal_commas_reads_like_read_table(model, loan_files, tmp_path):
    df = pd.read_csv(loan_files["csv"]).head(400)
    src = tmp_path / "de.csv"
    df.to_csv(src, sep=";", decimal=",", index=False)  # CCAvg as 1,7
    out = tmp_path / "o.csv"
    stream_predict(model, src, out, chunk_rows=150)
    whole = read_table(src)
    np.testing.assert_allclose(pd.read_csv(out)["probability"], model.score(whole).probability, rtol=1e-6)
    # the column leaves as it came in: decimal commas and all
    assert pd.read_csv(out, dtype=str)["CCAvg"].tolist() == pd.read_csv(src, sep=";", dtype=str)["CCAvg"].tolist()
