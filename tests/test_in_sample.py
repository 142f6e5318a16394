"""Figures on rows a model learnt from are called in-sample, whatever the file's format or row order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli
from uptake.pipeline import Model, fingerprint
from uptake.synth.tables import make_table


@pytest.fixture(scope="module")
def model(quick_model: Path) -> Model:
    return Model.load(quick_model)


def test_the_card_says_what_the_fingerprint_holds(model: Model, quick_model: Path) -> None:
    fp = model.card.fingerprint
    split = model.card.data.split_rows
    assert fp["of"] == "the training and validation rows"
    # distinct feature rows of train + validation (identical customers count once)
    assert split["train"] + split["validation"] - 20 <= fp["rows"] <= split["train"] + split["validation"]
    assert fp["bytes"] == 8 * fp["rows"] == (quick_model / fingerprint.FINGERPRINT).stat().st_size
    assert model.fingerprint is not None and len(model.fingerprint) == fp["rows"]


def test_the_same_rows_as_excel_reordered_are_counted(model: Model, bank_df: pd.DataFrame, tmp_path: Path) -> None:
    shuffled = bank_df.sample(frac=1.0, random_state=3)
    path = tmp_path / "same.xlsx"
    shuffled.to_excel(path, index=False)
    from uptake.pipeline.rows import score_table

    table = score_table(model, path)
    split = model.card.data.split_rows
    assert table.rows_seen >= split["train"] + split["validation"]
    assert table.rows_seen < len(bank_df)  # the test split was never seen
    assert any("were used to train or validate this model" in n for n in table.notes())


def test_evaluate_plan_and_tune_threshold_say_so(
    quick_model: Path, bank_df: pd.DataFrame, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "copy.csv"
    bank_df.sample(frac=1.0, random_state=1).to_csv(path, index=False)
    code, out, err = run_cli(["evaluate", str(quick_model), str(path), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["rows"]["in_sample_rows"] >= 3900
    code, out, err = run_cli(["evaluate", str(quick_model), str(path)], capsys)
    assert "in-sample" in err
    code, out, err = run_cli(
        [
            "plan",
            str(quick_model),
            str(path),
            "--contact-cost",
            "5",
            "--accept-value",
            "100",
            "--out",
            str(tmp_path / "p.csv"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "in-sample" in err
    code, out, err = run_cli(["tune-threshold", str(quick_model), str(path), "--out", str(tmp_path / "tuned")], capsys)
    assert code == 0, err
    assert "a threshold chosen on them is optimistic" in err


def test_new_rows_are_not_in_sample(model: Model, tmp_path: Path, capsys) -> None:
    new = make_table("loan", 2000, seed=7)
    clean = model.validate(new, skip_invalid=True).clean
    assert fingerprint.seen(model.fingerprint, model.schema, clean) <= 2  # synthetic rows: no real customer's twin
    path = tmp_path / "new.csv"
    new.to_csv(path, index=False)
    code, out, err = run_cli(["evaluate", str(model.path), str(path), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["rows"]["in_sample_rows"] <= 2


def test_hashes_ignore_format_but_not_values(model: Model, bank_df: pd.DataFrame) -> None:
    a = model.validate(bank_df.head(50)).clean
    b = model.validate(bank_df.head(50).astype(str)).clean  # every cell as text, as a CSV reader may give
    np.testing.assert_array_equal(fingerprint.row_hashes(model.schema, a), fingerprint.row_hashes(model.schema, b))
    c = bank_df.head(50).copy()
    c["Income"] = c["Income"] + 1
    moved = fingerprint.row_hashes(model.schema, model.validate(c).clean)
    assert not np.isin(moved, fingerprint.row_hashes(model.schema, a)).any()
