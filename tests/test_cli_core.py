"""End to end through the installed ``uptake`` command, on the real table (csv and xlsx).

Every run is a real subprocess of the console script, so start-up, argument parsing,
error formatting and exit codes are what an analyst gets. Bad input must give exit
code 2, exactly one line on stderr, no traceback, and nothing written.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uptake.decide.metrics import METRIC_KEYS

UPTAKE = Path(sys.executable).parent / "uptake"
TRAIN_ARGS = ("--preset", "seed", "--epochs", "3", "--seed", "0")

pytestmark = pytest.mark.slow


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "UPTAKE_PROGRESS"}
    env["COLUMNS"] = "200"  # keep rich from wrapping lines in the captured output
    return subprocess.run([str(UPTAKE), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def ok(*args: object) -> subprocess.CompletedProcess[str]:
    res = cli(*args)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def leftovers(parent: Path) -> list[str]:
    """Hidden temporary files or directories left behind (a model's version store and its lock are not)."""
    out = sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and not p.name.endswith(".versions"))
    for store in parent.glob(".*.versions"):
        out += sorted(f"{store.name}/{p.name}" for p in store.iterdir() if p.name.startswith(".") and p.name != ".lock")
    return out


# ---- fixtures: one small model per real file --------------------------------------------------
@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def trained(work: Path, bank_csv: Path, bank_xlsx: Path) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    out = {}
    for name, data in (("csv", bank_csv), ("xlsx", bank_xlsx)):
        model = work / "models" / name
        out[name] = (model, ok("train", data, "--out", model, *TRAIN_ARGS))
    return out


@pytest.fixture(scope="module")
def bad_files(work: Path, bank_df: pd.DataFrame) -> dict[str, Path]:
    d = work / "bad"
    d.mkdir()
    df = bank_df.copy()
    files = {}

    def put(name: str, frame: pd.DataFrame) -> None:
        files[name] = d / f"{name}.csv"
        frame.to_csv(files[name], index=False)

    put("no_target", df.drop(columns=["Personal Loan"]))
    put("one_class", df.assign(**{"Personal Loan": 0}))
    put("three_classes", df.assign(**{"Personal Loan": df["Personal Loan"].where(df.index % 7 != 0, 2)}))
    text = df.copy()
    text["Income"] = text["Income"].astype(object)
    text.loc[9, "Income"] = "high"  # frame row 9 = line 11 of the file (header is line 1)
    put("text_numeric", text)
    put("no_income", df.drop(columns=["Income"]))
    invalid = df.head(40).copy()
    invalid["CCAvg"] = invalid["CCAvg"].astype(object)
    invalid["Online"] = invalid["Online"].astype(object)
    invalid.loc[4, "CCAvg"] = "lots"
    invalid.loc[12, "Online"] = "maybe"
    put("invalid_rows", invalid)
    files["empty"] = d / "empty.csv"
    files["empty"].write_bytes(b"")
    files["garbage"] = d / "garbage.xlsx"
    files["garbage"].write_bytes(bytes(range(256)) * 16)
    return files


# ---- the happy path -------------------------------------------------------------------------------
def test_train_reports_the_data(trained) -> None:
    for _, res in trained.values():
        text = res.stdout
        assert "Rows: 5,000   positives: 480 (9.6%)" in text
        assert (
            "Dropped column 'ID': identifier: one distinct value per row" in text
            and "Dropped column 'ZIP Code': ZIP/postal code" in text
        )
        assert "Suspicious: Experience: 52 negative values" in text
        assert "Education (categorical)" in text and "Income (numeric)" in text and "Online (binary)" in text
        assert "Split (seed 0): train 3200, validation 800, test 1000" in text
        assert "Model saved to" in text
        assert "Traceback" not in res.stderr


def test_metadata_contents(trained, bank_csv: Path, bank_xlsx: Path) -> None:
    for name, data in (("csv", bank_csv), ("xlsx", bank_xlsx)):
        model = trained[name][0]
        meta = json.loads((model / "metadata.json").read_text())
        assert meta["format"] == "uptake-model/2"
        assert set(meta["parts"]) >= {
            "preprocessor.skops",
            "history.json",
            "estimator/member0.keras",
            "estimator/network.json",
        }
        assert meta["target"] == "Personal Loan" and meta["positive_label"] == "1"
        assert [c["name"] for c in meta["schema"]["columns"]] == [
            "Age",
            "Experience",
            "Income",
            "Family",
            "CCAvg",
            "Education",
            "Mortgage",
            "Securities Account",
            "CD Account",
            "Online",
            "CreditCard",
        ]
        assert 0.0 <= meta["threshold"] <= 1.0 and meta["threshold_rule"]["chosen_on"] == "validation"
        assert meta["preset"] == "seed" and meta["model_type"] == "network"
        hyper = meta["hyperparameters"]
        assert hyper["hidden"] == [256, 256, 256] and hyper["epochs"] == 3 and hyper["batch_size"] == 2048
        assert meta["imbalance"]["strategy"] == "class-weight"
        assert meta["imbalance"]["class_weight_formula"] == "inverse"
        for split, n in (("validation", 800), ("test", 1000)):
            m = meta["metrics"][split]
            assert set(METRIC_KEYS) <= set(m) and m["n"] == n
        assert meta["data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
        assert meta["data"]["rows"] == 5000 and meta["data"]["positives"] == 480
        assert meta["data"]["split_rows"] == {"train": 3200, "validation": 800, "test": 1000}
        assert meta["seed"] == 0
        for lib in ("uptake", "python", "keras", "jax", "scikit-learn", "numpy", "pandas"):
            assert meta["versions"][lib]
        assert meta["created"].startswith("20")
        history = json.loads((model / "history.json").read_text())
        assert len(history[0]["loss"]) == 3 and len(history[0]["val_pr_auc"]) == 3


def test_same_data_same_model_from_csv_and_xlsx(trained) -> None:
    a = json.loads((trained["csv"][0] / "metadata.json").read_text())
    b = json.loads((trained["xlsx"][0] / "metadata.json").read_text())
    assert a["metrics"]["test"]["pr_auc"] == pytest.approx(b["metrics"]["test"]["pr_auc"], abs=1e-6)


def test_evaluate_table_and_json(trained, bank_csv: Path, bank_xlsx: Path) -> None:
    model = trained["xlsx"][0]
    meta = json.loads((model / "metadata.json").read_text())
    results = []
    for data in (bank_csv, bank_xlsx):
        res = ok("evaluate", model, data, "--json")
        assert len(res.stdout.strip().splitlines()) == 1
        m = json.loads(res.stdout)
        assert list(m) == [*METRIC_KEYS, "rows"]
        assert m.pop("rows")["rows_scored"] == 5000
        assert (m["n"], m["positives"]) == (5000, 480)
        assert m["tp"] + m["fn"] == 480 and m["tp"] + m["fp"] + m["tn"] + m["fn"] == 5000
        assert m["threshold"] == pytest.approx(meta["threshold"])
        assert m["pr_auc"] > 0.5 and 0.5 < m["roc_auc"] <= 1.0 and 0.0 <= m["brier"] < 0.25
        results.append(m)
    assert results[0] == results[1]  # the same table, whichever format it comes in
    table = ok("evaluate", model, bank_xlsx).stdout
    for label in ("acceptors found (TP)", "wasted calls (FP)", "PR-AUC", "ROC-AUC", "Brier score", "F1"):
        assert label in table
    assert f"{results[0]['tp']}" in table


@pytest.mark.parametrize(("data_kind", "suffix"), [("csv", ".parquet"), ("xlsx", ".csv")])
def test_predict(
    trained, work: Path, bank_csv: Path, bank_xlsx: Path, bank_df: pd.DataFrame, suffix: str, data_kind: str
) -> None:
    model = trained["csv"][0]
    threshold = json.loads((model / "metadata.json").read_text())["threshold"]
    out = work / f"scores-{data_kind}{suffix}"
    res = ok("predict", model, bank_csv if data_kind == "csv" else bank_xlsx, "--out", out)
    assert "Scored 5,000 rows" in res.stdout
    frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(frame.columns) == [*bank_df.columns, "probability", "decision", "rank", "flags"]
    assert frame["flags"].fillna("").eq("").all()  # the training table holds nothing unusual
    assert len(frame) == 5000
    # input order kept, each id as it came in (a CSV's text, a workbook's integers)
    np.testing.assert_array_equal(frame["ID"].astype(str).to_numpy(), bank_df["ID"].astype(str).to_numpy())
    p = frame["probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    assert (frame["decision"].to_numpy() == (p >= threshold)).all()
    assert sorted(frame["rank"]) == list(range(1, 5001))
    by_rank = frame.sort_values("rank")["probability"].to_numpy()
    assert (np.diff(by_rank) <= 0).all()  # rank 1 = highest probability
    assert frame.loc[frame["rank"] == 1, "probability"].item() == p.max()
    # A model worth having puts acceptors near the top.
    top = frame.nsmallest(480, "rank")["Personal Loan"].astype(int).mean()
    assert top > 0.5


def test_predict_scores_match_the_api(trained, work: Path, bank_df: pd.DataFrame) -> None:
    from uptake.pipeline import Model

    model = trained["csv"][0]
    cli = pd.read_parquet(work / "scores-csv.parquet") if (work / "scores-csv.parquet").exists() else None
    if cli is None:
        out = work / "api-check.parquet"
        ok("predict", model, trained["csv"][1].args[2], "--out", out)
        cli = pd.read_parquet(out)
    api = Model.load(model).score(bank_df)
    np.testing.assert_allclose(cli["probability"].to_numpy(), api.probability, rtol=0, atol=1e-6)


def test_skip_invalid(trained, work: Path, bad_files: dict[str, Path]) -> None:
    out = work / "skipped.csv"
    res = ok("predict", trained["csv"][0], bad_files["invalid_rows"], "--out", out, "--skip-invalid")
    assert "Scored 38 rows" in res.stdout and "skipped 2 invalid rows" in res.stdout
    assert "row 6" in res.stderr and "column 'CCAvg'" in res.stderr and "row 14" in res.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 38 and sorted(frame["rank"]) == list(range(1, 39))


# ---- bad input ----------------------------------------------------------------------------------
def _train_case(data_key: str, *extra: str):
    return lambda files, model, out, bank: ["train", files[data_key], "--out", out, *extra]


BAD = {
    "missing target column": (_train_case("no_target"), "column 'Personal Loan': target column is missing"),
    "named target missing": (
        lambda f, m, o, b: ["train", b["csv"], "--target", "Accepted", "--out", o],
        "column 'Accepted': target column is missing",
    ),
    "one class": (_train_case("one_class"), "column 'Personal Loan', value '0': the target has one class only"),
    "three classes": (_train_case("three_classes"), "column 'Personal Loan': the target has 3 classes"),
    "empty file": (_train_case("empty"), "empty.csv': the file is empty"),
    "unreadable file": (_train_case("garbage"), "garbage.xlsx': is not an Excel workbook"),
    "missing sheet": (
        lambda f, m, o, b: ["train", b["xlsx"], "--sheet", "Loans", "--out", o],
        "no sheet named 'Loans' (sheets: Description, Data)",
    ),
    "text in numeric column": (
        _train_case("text_numeric"),
        "column 'Income', row 11, value 'high': text in a numeric column",
    ),
    "predict: feature column missing": (
        lambda f, m, o, b: ["predict", m, f["no_income"], "--out", o],
        "column 'Income': required feature column is missing",
    ),
    "predict: invalid rows": (
        lambda f, m, o, b: ["predict", m, f["invalid_rows"], "--out", o],
        "column 'CCAvg', row 6, value 'lots': not a number (1 more invalid",
    ),
    "predict: unreadable file": (
        lambda f, m, o, b: ["predict", m, f["garbage"], "--out", o],
        "is not an Excel workbook",
    ),
    "predict: missing sheet": (
        lambda f, m, o, b: ["predict", m, b["xlsx"], "--sheet", "Nope", "--out", o],
        "no sheet named 'Nope'",
    ),
    "predict: not a model": (
        lambda f, m, o, b: ["predict", f["empty"].parent, b["csv"], "--out", o],
        "not an uptake model directory",
    ),
    "evaluate: no labels": (
        lambda f, m, o, b: ["evaluate", m, f["no_target"]],
        "column 'Personal Loan': target column is missing",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input(case: str, trained, work: Path, bad_files: dict[str, Path], bank_csv: Path, bank_xlsx: Path) -> None:
    build, fragment = BAD[case]
    out_dir = work / "bad-out" / case.replace(" ", "_").replace(":", "")
    out_dir.mkdir(parents=True)
    out = out_dir / ("scores.csv" if "predict" in case else "model")
    res = cli(*build(bad_files, trained["csv"][0], out, {"csv": bank_csv, "xlsx": bank_xlsx}))
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert list(out_dir.iterdir()) == []  # no output file, no model directory, no temp files


# ---- the saved model: atomic replacement, safe loading ------------------------------------------------
def test_model_dir_replaced_whole_and_kept_on_failure(
    trained, work: Path, bank_csv: Path, bad_files: dict[str, Path]
) -> None:
    parent = work / "atomic"
    parent.mkdir()
    model = parent / "m"
    ok("train", bank_csv, "--out", model, *TRAIN_ARGS)
    (model / "stray.txt").write_text("from the old model")
    first = json.loads((model / "metadata.json").read_text())

    # A failing train leaves the previous model exactly as it was.
    before = tree_digest(model)
    res = cli("train", bad_files["one_class"], "--out", model, *TRAIN_ARGS)
    assert res.returncode == 2
    assert tree_digest(model) == before
    assert leftovers(parent) == []

    # A successful one replaces it whole: the stray file is gone, nothing is left beside it.
    res = ok("train", bank_csv, "--out", model, *TRAIN_ARGS, "--threshold", "0.5")
    assert not (model / "stray.txt").exists()
    second = json.loads((model / "metadata.json").read_text())
    assert second["threshold"] == 0.5 and first["threshold_rule"] != second["threshold_rule"]
    assert leftovers(parent) == []
    assert sorted(p.name for p in parent.iterdir()) == [".m.versions", "m"]

    # Same seed, same data, same preset: the same test metrics (to 1e-6).
    for key in ("roc_auc", "pr_auc", "brier"):
        assert second["metrics"]["test"][key] == pytest.approx(first["metrics"]["test"][key], abs=1e-6)
    meta_csv = json.loads((trained["csv"][0] / "metadata.json").read_text())
    for key in METRIC_KEYS:
        assert first["metrics"]["test"][key] == pytest.approx(meta_csv["metrics"]["test"][key], abs=1e-6)


def test_refuses_to_overwrite_a_non_model_directory(work: Path, bank_csv: Path) -> None:
    target = work / "precious"
    target.mkdir()
    (target / "thesis.txt").write_text("do not delete")
    res = cli("train", bank_csv, "--out", target, *TRAIN_ARGS)
    assert res.returncode == 2 and "not an uptake model" in res.stderr
    assert (target / "thesis.txt").read_text() == "do not delete"


def test_no_pickle_in_the_model(trained) -> None:
    model = trained["csv"][0]
    names = [str(p.relative_to(model)) for p in model.rglob("*") if p.is_file()]
    assert "metadata.json" in names and "preprocessor.skops" in names
    assert any(n.endswith(".keras") for n in names)
    for p in model.rglob("*"):
        if not p.is_file():
            continue
        assert p.suffix not in (".pkl", ".pickle", ".joblib", ".npy")
        blobs = [p.read_bytes()]
        if zipfile.is_zipfile(p):  # .keras and .skops are zip archives: look inside too
            with zipfile.ZipFile(p) as z:
                blobs += [z.read(n) for n in z.namelist() if not n.endswith("/")]
        for blob in blobs:
            assert not blob.startswith(b"\x80"), f"{p} holds a pickle stream"


def reseal(model: Path) -> None:
    """Rewrite the card's part checksums after tampering, as a determined attacker would."""
    from uptake.artifact.store import checksums

    meta = json.loads((model / "metadata.json").read_text())
    meta["parts"] = checksums(model)
    (model / "metadata.json").write_text(json.dumps(meta))


def _copy_model(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_keras_lambda_layer_is_refused(trained, work: Path, bank_csv: Path) -> None:
    """A .keras file whose Lambda layer would run Python code on load is refused (safe mode)."""
    import keras

    import uptake  # noqa: F401

    model = _copy_model(trained["csv"][0], work / "evil-keras")
    n_features = json.loads((model / "estimator" / "network.json").read_text())["n_features_in"]
    evil = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Lambda(lambda x: x[:, :1] * 0 + 1),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    evil.save(model / "estimator" / "member0.keras")
    out = work / "evil-keras.csv"
    res = cli("predict", model, bank_csv, "--out", out)
    assert res.returncode == 2 and "changed since the model was saved" in res.stderr  # the card's checksums
    reseal(model)  # an attacker who can write the directory can rewrite the card's checksums too
    res = cli("predict", model, bank_csv, "--out", out)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "refus" in res.stderr.lower()
    assert not out.exists()


def test_untrusted_preprocessor_is_refused(trained, work: Path, bank_csv: Path) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    model = _copy_model(trained["csv"][0], work / "evil-skops")
    sio.dump(FunctionTransformer(func=eval), model / "preprocessor.skops")
    reseal(model)  # checksums catch accidents; the allow-list must hold against a rewritten card too
    res = cli("evaluate", model, bank_csv, "--json")
    assert res.returncode == 2 and "refuses to load untrusted type 'builtins.eval'" in res.stderr
    assert res.stdout == ""
