"""``uptake monitor``: the reference saved at training, drift bands with teeth, every input, exit codes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli
from uptake.artifact import resolve
from uptake.audit.writer import AuditLog, Entry
from uptake.drift.compare import band, binned_ks, chi_square, psi
from uptake.drift.profile import PROFILE
from uptake.errors import UptakeInputError
from uptake.monitor.run import _load
from uptake.pipeline import Model
from uptake.synth import make_loan, shifted
from uptake.train import TrainConfig, save, train

LEGACY = Path(__file__).parent / "fixtures" / "legacy-0.1.0"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    df = make_loan(5000, seed=0)
    return save(train(df, TrainConfig(model="lightgbm", seed=0)), tmp_path_factory.mktemp("mon") / "m")


def _monitor(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict | str, str]:
    code, out, err = run_cli(["monitor", *args], capsys)
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def test_the_reference_is_counts_only(model_dir: Path) -> None:
    profile = json.loads((model_dir / PROFILE).read_text())
    assert profile["rows"] == 3200 and set(profile["columns"]) == set(Model.load(model_dir).schema.feature_names)
    income = profile["columns"]["Income"]
    assert set(income) == {"kind", "edges", "min", "max", "counts", "missing", "below", "above"}
    assert sum(income["counts"]) + income["missing"] == 3200 and len(income["counts"]) == len(income["edges"]) + 1
    assert profile["columns"]["Education"]["categories"] == ["1", "2", "3"]
    assert "profile.json" in Model.load(model_dir).card.parts  # checksummed like every part


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_the_tests_match_scipy_stats(pairs: list[tuple[int, int]]) -> None:
    from scipy import stats  # the reference implementation the lighter scipy.special formulas must agree with

    e, a = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    d, p_ks = binned_ks(e, a)
    if e.sum() and a.sum():
        n, m = e.sum(), a.sum()
        assert p_ks == pytest.approx(stats.kstwobign.sf(d * np.sqrt(n * m / (n + m))), rel=1e-9, abs=1e-300)
    chi2, p_chi = chi_square(e, a)
    table = np.vstack([e, a])[:, (e + a) > 0]
    if table.shape[1] >= 2 and e.sum() and a.sum():
        ref_chi2, ref_p, _, _ = stats.chi2_contingency(table, correction=False)
        assert chi2 == pytest.approx(ref_chi2, rel=1e-9, abs=1e-9)
        assert p_chi == pytest.approx(ref_p, rel=1e-9, abs=1e-300)
    else:
        assert (chi2, p_chi) == (0.0, 1.0)


@given(st.lists(st.integers(0, 1000), min_size=2, max_size=12))
@settings(max_examples=200, deadline=None)
def test_psi_is_zero_for_equal_shares_and_never_negative(counts: list[int]) -> None:
    c = np.asarray(counts)
    if c.sum() == 0:
        return
    assert psi(c, c) == pytest.approx(0.0, abs=1e-12)
    assert psi(c, c * 3) == pytest.approx(0.0, abs=1e-12)
    assert psi(c, c[::-1]) >= 0.0


def test_bands_follow_the_usual_limits() -> None:
    assert [band(x) for x in (0.0, 0.099, 0.1, 0.249, 0.25, 5.0)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "act",
        "act",
    ]


def test_unshifted_tables_stay_stable_and_a_shift_is_flagged(model_dir: Path, tmp_path: Path, capsys) -> None:
    plain = tmp_path / "plain.csv"
    make_loan(5000, seed=3).to_csv(plain, index=False)
    code, report, _ = _monitor([str(model_dir), str(plain), "--json", "--fail-on", "watch"], capsys)
    assert code == 0 and report["worst"] == "stable", report["columns"]
    moved = tmp_path / "moved.parquet"
    shifted(make_loan(5000, seed=3), {"Income": ("+", 40.0)}).to_parquet(moved)
    code, report, _ = _monitor([str(model_dir), str(moved), "--json", "--fail-on", "act"], capsys)
    assert code == 3
    assert report["columns"]["Income"]["band"] == "act" and report["columns"]["Income"]["p_value"] < 1e-6
    assert [n for n, c in report["columns"].items() if c["band"] != "stable"] == ["Income"]
    assert report["columns"]["Income"]["out_of_range_now"] > report["columns"]["Income"]["out_of_range_reference"]
    assert report["score"]["band"] in ("watch", "act") and report["score_from"] == "model"


def test_new_categories_missing_values_and_wrong_types_are_counted(model_dir: Path, tmp_path: Path, capsys) -> None:
    df = make_loan(4000, seed=4)
    df["Education"] = df["Education"].astype(object)
    df.loc[:199, "Education"] = 4  # a category training never saw
    df.loc[200:1399, "Mortgage"] = np.nan  # 30% missing where training had none
    df["Age"] = df["Age"].astype(object)
    df.loc[1400:1409, "Age"] = "unknown"  # text in a numeric column
    path = tmp_path / "odd.csv"
    df.to_csv(path, index=False)
    code, report, err = _monitor([str(model_dir), str(path), "--json"], capsys)
    assert code == 0, err
    assert report["columns"]["Education"]["new_categories"] == {"4": 200}
    assert report["columns"]["Education"]["band"] != "stable"
    assert report["columns"]["Mortgage"]["missing_now"] == pytest.approx(1200 / 3990, abs=1e-9)
    assert report["columns"]["Mortgage"]["band"] == "act"
    assert report["refused_cells"] == {"Age": 10} and report["rows_read"] == 4000


def test_a_model_without_a_profile_asks_for_its_training_file(tmp_path: Path, bank_csv: Path, capsys) -> None:
    legacy = tmp_path / "legacy"
    shutil.copytree(LEGACY / "lightgbm", legacy)
    code, _, err = _monitor([str(legacy), str(bank_csv)], capsys)
    assert code == 2 and "--reference FILE" in err and "Traceback" not in err
    code, report, err = _monitor([str(legacy), str(bank_csv), "--reference", str(bank_csv), "--json"], capsys)
    assert code == 0, err
    assert report["worst"] == "stable" and report["rows_reference"] == 5000


def test_the_audit_log_is_monitored_in_chunks(model_dir: Path, tmp_path: Path, capsys) -> None:
    m = Model.load(model_dir)
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    log = AuditLog(url, batch_rows=500)
    df = shifted(make_loan(4000, seed=5), {"CCAvg": ("x", 2.0)})
    df = df.loc[m.validate(df, skip_invalid=True).clean.index].head(3000)  # served rows passed validation
    p = m.score(df).probability
    rows = df[m.schema.feature_names].to_dict("records")
    for start in range(0, 3000, 300):
        log.record(
            Entry(
                time.time(),
                f"r{start}",
                "api",
                m.version,
                m.threshold,
                1.0,
                rows[start : start + 300],
                p[start : start + 300],
                (p[start : start + 300] >= m.threshold).astype(np.int8),
            )
        )
    log.close()
    code, report, err = _monitor([str(model_dir), "--db", url, "--json"], capsys)
    assert code == 0, err
    assert report["rows_now"] == 3000 and report["score_from"] == "probability"
    assert report["columns"]["CCAvg"]["band"] == "act"
    code, _, err = _monitor([str(model_dir), "--db", url, "--model-version", "nope", "--json"], capsys)
    assert code == 2 and "no rows to monitor" in err


def test_the_html_page_shows_every_column(model_dir: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "d.csv"
    make_loan(2000, seed=6).to_csv(data, index=False)
    page = tmp_path / "drift.html"
    code, out, err = _monitor([str(model_dir), str(data), "--html", str(page)], capsys)
    assert code == 0, err
    html = page.read_text()
    for name in Model.load(model_dir).schema.feature_names:
        assert f"<td>{name}</td>" in html
    assert html.count("data:image/png;base64,") == 12  # 11 columns and the score
    assert "worst: stable" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fail-on", "sometimes"], "--fail-on"),
        (["--since", "7d"], "give --db URL"),
        (["--html", "page.txt"], "must end in .html"),
    ],
)
def test_bad_options_are_one_line(model_dir: Path, tmp_path: Path, capsys, args, message) -> None:
    data = tmp_path / "d.csv"
    make_loan(100, seed=1).to_csv(data, index=False)
    code, _, err = _monitor([str(model_dir), str(data), *args], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_model_replaced_while_monitoring_is_not_scored_silently(tmp_path: Path) -> None:
    df = make_loan(600, seed=3)
    path = save(train(df, TrainConfig(model="logreg", seed=0)), tmp_path / "m")
    first = resolve(path)
    assert _load(path, first).version_dir == first
    save(train(df, TrainConfig(model="logreg", seed=1)), path)  # another training replaces it under the run
    assert resolve(path) != first
    with pytest.raises(UptakeInputError, match="replaced while monitoring ran"):
        _load(path, first)
