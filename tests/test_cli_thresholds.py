"""`uptake train` with business thresholds and calibration, and `uptake tune-threshold`.

Bad input must give exit code 2, one line on stderr, no traceback and nothing written;
the shared ``quick_model`` is never modified (tuning writes to a copy).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli
from uptake.pipeline import Model


def digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def one_line_error(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def holdout(bank_df, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The last 1500 rows of the real table as their own labelled file."""
    path = tmp_path_factory.mktemp("holdout") / "holdout.csv"
    bank_df.iloc[3500:].to_csv(path, index=False)
    return path


def test_train_lightgbm_with_profit_rule_stores_rule_and_expected_figures(
    bank_csv: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "gbm"
    code, stdout, err = run_cli(
        ["train", bank_csv, "--model", "lightgbm", "--out", out, "--contact-cost", 5, "--accept-value", 100], capsys
    )
    assert code == 0, err
    assert "maximum profit" in stdout and "profit on these rows' outcomes" in stdout and "expected profit" not in stdout
    meta = json.loads((out / "metadata.json").read_text())
    rule = meta["threshold_rule"]
    assert rule["rule"] == "max-profit" and rule["contact_cost"] == 5 and rule["accept_value"] == 100
    e = rule["expected"]
    assert e["profit"] == pytest.approx(100 * e["tp"] - 5 * e["calls"])
    assert e["profit"] >= e["profit_if_calling_everyone"] and e["profit"] >= 0
    assert meta["threshold"] == pytest.approx(e["threshold"])
    code, stdout, err = run_cli(["evaluate", out, bank_csv, "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["threshold"] == pytest.approx(meta["threshold"])


def test_train_min_recall_meets_it_on_validation_and_calibration_reports_brier(
    bank_csv: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "lr"
    code, stdout, err = run_cli(
        [
            "train",
            bank_csv,
            "--model",
            "logreg",
            "--imbalance",
            "class-weight",
            "--out",
            out,
            "--min-recall",
            0.9,
            "--calibrate",
            "sigmoid",
        ],
        capsys,
    )
    assert code == 0, err
    assert "Brier score on the test split" in stdout
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["threshold_rule"]["rule"] == "min-recall"
    assert meta["threshold_rule"]["expected"]["recall"] >= 0.9
    assert meta["calibration"]["method"] == "sigmoid" and (out / "calibration.json").is_file()
    assert meta["metrics"]["validation"]["recall"] >= 0.9


def test_tune_threshold_writes_a_copy_and_leaves_the_model_alone(
    quick_model: Path, holdout: Path, tmp_path: Path, capsys
) -> None:
    before = digest(quick_model)
    out = tmp_path / "tuned"
    code, _stdout, err = run_cli(["tune-threshold", quick_model, holdout, "--min-recall", 0.95, "--out", out], capsys)
    assert code == 0, err
    assert digest(quick_model) == before
    m = Model.load(out)
    rule = m.card.to_json()["threshold_rule"]
    assert rule["rule"] == "min-recall" and rule["min_recall"] == 0.95 and "holdout.csv" in rule["chosen_on"]
    assert m.card.to_json()["previous_threshold_rule"]["threshold"] == pytest.approx(Model.load(quick_model).threshold)
    # On the rows it was tuned on, the stored threshold really finds 95% of acceptors.
    import pandas as pd

    df = pd.read_csv(holdout)
    y = df["Personal Loan"].to_numpy()
    decision = m.score(df).decision
    assert decision[y == 1].mean() >= 0.95
    assert rule["expected"]["recall"] == pytest.approx(decision[y == 1].mean())


def test_tune_threshold_in_place_rewrites_only_the_metadata(
    quick_model: Path, holdout: Path, tmp_path: Path, capsys
) -> None:
    copy = tmp_path / "m"
    shutil.copytree(quick_model, copy)
    before = digest(copy)
    code, stdout, err = run_cli(
        ["tune-threshold", copy, holdout, "--contact-cost", 4, "--accept-value", 90, "--json"], capsys
    )
    assert code == 0, err
    entry = json.loads(stdout)
    assert entry.pop("rows")["rows_scored"] > 0  # what was scored is said, not stored
    after = digest(copy)
    assert {k for k in before if before[k] != after.get(k)} == {"metadata.json"}
    meta = json.loads((copy / "metadata.json").read_text())
    assert meta["threshold_rule"] == entry and meta["threshold"] == pytest.approx(entry["expected"]["threshold"])
    assert not [p for p in copy.iterdir() if p.name.startswith(".")]


def test_tuning_on_the_training_file_is_flagged(quick_model: Path, bank_csv: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["tune-threshold", quick_model, bank_csv, "--out", tmp_path / "t"], capsys)
    assert code == 0 and "optimistic" in err


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--contact-cost", "0", "--accept-value", "10"], "--contact-cost 0.0: must be a positive"),
        (["--contact-cost", "-3", "--accept-value", "10"], "--contact-cost -3.0"),
        (["--contact-cost", "3", "--accept-value", "0"], "--accept-value 0.0"),
        (["--contact-cost", "3"], "profit needs both"),
        (["--min-recall", "0"], "--min-recall 0.0: must be in (0, 1]"),
        (["--min-recall", "1.01"], "--min-recall 1.01"),
        (["--min-precision", "2"], "--min-precision 2.0"),
        (["--min-recall", "0.9", "--min-precision", "0.5"], "choose one threshold rule"),
    ],
)
def test_tune_threshold_bad_options(quick_model: Path, holdout: Path, tmp_path: Path, capsys, options, needle) -> None:
    out = tmp_path / "t"
    code, _, err = run_cli(["tune-threshold", quick_model, holdout, *options, "--out", out], capsys)
    one_line_error(code, err, needle)
    assert not out.exists()


def test_tune_threshold_refuses_a_directory_that_is_not_a_model(holdout: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = run_cli(["tune-threshold", tmp_path, holdout], capsys)
    one_line_error(code, err, "not an uptake model directory")
    code, _, err = run_cli(["tune-threshold", tmp_path / "missing", holdout], capsys)
    one_line_error(code, err, "not an uptake model directory")


def test_tune_threshold_needs_labels(quick_model: Path, bank_df, tmp_path: Path, capsys) -> None:
    unlabelled = tmp_path / "new.csv"
    bank_df.drop(columns=["Personal Loan"]).iloc[:100].to_csv(unlabelled, index=False)
    code, _, err = run_cli(["tune-threshold", quick_model, unlabelled, "--out", tmp_path / "t"], capsys)
    one_line_error(code, err, "target column is missing")


def test_unreachable_precision_is_a_clear_error(quick_model: Path, bank_df, tmp_path: Path, capsys) -> None:
    # Labels shuffled: no cut reaches 99% precision on noise.
    noisy = bank_df.iloc[:400].copy()
    noisy["Personal Loan"] = np.random.default_rng(0).permutation(noisy["Personal Loan"].to_numpy())
    path = tmp_path / "noisy.csv"
    noisy.to_csv(path, index=False)
    code, _, err = run_cli(
        ["tune-threshold", quick_model, path, "--min-precision", 0.99, "--out", tmp_path / "t"], capsys
    )
    one_line_error(code, err, "no threshold reaches it")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--contact-cost", "-5", "--accept-value", "100"], "--contact-cost -5.0"),
        (["--min-recall", "1.5"], "--min-recall 1.5"),
        (["--threshold", "0.3", "--min-recall", "0.8"], "choose one threshold rule"),
        (["--calibrate", "platt"], "--calibrate 'platt'"),
        (["--model", "lightgbm", "--hidden", "8"], "--hidden: applies to networks"),
    ],
)
def test_train_bad_threshold_options_fail_before_training(
    bank_csv: Path, tmp_path: Path, capsys, options, needle
) -> None:
    out = tmp_path / "m"
    code, _, err = run_cli(["train", bank_csv, "--out", out, *options], capsys)
    one_line_error(code, err, needle)
    assert not out.exists()
