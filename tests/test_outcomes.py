"""After the campaign: the audit schema migrated, ids recorded, outcomes imported, realised metrics, fairness."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from cli_helpers import run_cli
from serve_live import database
from uptake.audit.db import alembic_config, make_engine, migrate, outcomes, predictions
from uptake.audit.ids import DECIMAL_ID, customer_key, id_column
from uptake.decide.fairness import group_labels, num, parse_group
from uptake.errors import UptakeInputError
from uptake.io.cells import MISSING_TOKENS
from uptake.monitor.realised import _interval, verdict

BANK_ROWS = 5000


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Path:
    from uptake.train import TrainConfig, save, train_file

    # the measured model, not its refit on every row: the realised figures below score the training table itself
    config = TrainConfig(model="lightgbm", seed=0, final_refit=False)
    return save(train_file(bank_csv, config), tmp_path_factory.mktemp("out") / "m")


@pytest.fixture(scope="module")
def scored_db(model_dir: Path, bank_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An audit database holding the whole bank table, scored by `uptake predict --db` (a batch)."""
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("batch")
    url = f"sqlite:///{tmp / 'audit.sqlite'}"
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("uptake")),
            "predict",
            str(model_dir),
            str(bank_csv),
            "-o",
            str(tmp / "scored.csv"),
            "--db",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Recorded 5,000 rows in the audit log as batch batch-" in done.stdout.replace("\n", " ")
    assert "customer ids from column 'ID'" in done.stdout.replace("\n", " ")
    return url


def outcome_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar_one())
    finally:
        engine.dispose()


# ---- the migration ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrading_a_database_of_the_previous_release_keeps_every_row(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        engine = make_engine(url)
        with engine.begin() as conn:  # the schema the previous release migrated to, with its rows
            command.upgrade(alembic_config(conn), "0002")
        old = [
            {
                "created_at": datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=i),
                "request_id": f"r{i}",
                "row_index": i,
                "source": "api",
                "model_version": "v0",
                "inputs": json.dumps({"Age": 30 + i}),
                "probability": i / 300,
                "decision": int(i > 150),
                "threshold": 0.5,
                "latency_ms": 1.0,
            }
            for i in range(300)
        ]
        cols = ", ".join(old[0])
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"INSERT INTO uptake_predictions ({cols}) VALUES ({', '.join(':' + c for c in old[0])})"), old
            )
            assert "customer_id" not in {c["name"] for c in sa.inspect(conn).get_columns("uptake_predictions")}
        migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(predictions).order_by(predictions.c.id)).mappings().all()
            assert sa.inspect(conn).has_table("uptake_outcomes")
        engine.dispose()
        assert len(rows) == 300
        assert [r["request_id"] for r in rows] == [f"r{i}" for i in range(300)]
        assert [r["probability"] for r in rows] == pytest.approx([i / 300 for i in range(300)])
        assert all(r["customer_id"] is None and r["batch_id"] is None for r in rows)
        inputs = rows[7]["inputs"]
        assert (json.loads(inputs) if isinstance(inputs, str) else inputs) == {"Age": 37}


# ---- customer ids ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "key"),
    [
        (17, "17"),
        (np.int64(17), "17"),
        (17.0, "17"),
        (" C-17 ", "C-17"),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_one_spelling_of_an_id(value: object, key: str | None) -> None:
    assert customer_key(value) == key


@pytest.mark.parametrize("value", [17.5, True, float("inf"), "x" * 129, [1]])
def test_values_that_are_not_ids_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        customer_key(value)


@given(st.one_of(st.integers(-(10**12), 10**12), st.text(min_size=1, max_size=128)))
@settings(max_examples=300, deadline=None)
def test_ids_are_stable_under_the_int_float_and_text_spellings(value: int | str) -> None:
    if isinstance(value, int):
        assert customer_key(value) == customer_key(str(value)) == str(value)
        if abs(value) < 2**53:
            assert customer_key(float(value)) == str(value)
    else:
        text = value.strip()
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text) and text not in MISSING_TOKENS:
            with pytest.raises(ValueError, match="control character"):  # NUL and friends: no database keeps them
                customer_key(value)
            return
        decimal = DECIMAL_ID.match(text)
        if decimal and decimal.group(2).strip("0"):  # '17.5' is a mistake, not customer 17
            with pytest.raises(ValueError, match="fractional"):
                customer_key(value)
            return
        key = customer_key(value)
        if text in MISSING_TOKENS:  # 'NULL', 'NA', '': no id, on every path
            assert key is None
        elif decimal:  # '39.0' is 39, as a column with a gap writes it
            assert key == decimal.group(1)
        else:
            assert key == text


def test_the_id_column_is_the_one_the_model_dropped_as_id_like() -> None:
    dropped = [
        {"column": "ZIP Code", "reason": "ZIP/postal code"},
        {"column": "ID", "reason": "ID-like: one distinct value per row"},
    ]
    assert id_column(["ID", "Age"], dropped) == "ID"
    assert id_column(["Customer_ID", "Age"]) == "Customer_ID"
    assert id_column(["Age", "Income"]) is None


# ---- importing outcomes ------------------------------------------------------------------------------
def test_import_then_monitor_realised_outcomes(
    model_dir: Path, scored_db: str, bank_csv: Path, bank_df: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["outcomes", "import", bank_csv, "--id", "ID", "--outcome", "Personal Loan", "--db", scored_db, "--json"],
        capsys,
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["imported"] == BANK_ROWS and report["positives"] == 480 and report["problems"] == {}
    # again: nothing changes, nothing is counted twice
    code, out, _ = run_cli(
        ["outcomes", "import", bank_csv, "--id", "ID", "--outcome", "Personal Loan", "--db", scored_db, "--json"],
        capsys,
    )
    assert code == 0 and json.loads(out)["already_imported"] == BANK_ROWS and outcome_count(scored_db) == BANK_ROWS

    code, out, err = run_cli(["monitor", model_dir, "--db", scored_db, "--outcomes", "--json"], capsys)
    assert code == 0, err
    found = json.loads(out)["outcomes"]
    ((_version, v),) = found["versions"].items()
    whole = v["whole"]
    scored = pd.read_csv(Path(scored_db.removeprefix("sqlite:///")).with_name("scored.csv"))
    y, d = scored["Personal Loan"].to_numpy(), scored["decision"].to_numpy()
    assert whole["customers"] == BANK_ROWS and whole["accepted"] == 480 and whole["calls"] == int(d.sum())
    assert whole["precision"] == pytest.approx((y & d).sum() / d.sum())
    assert whole["recall"] == pytest.approx((y & d).sum() / y.sum())
    assert whole["pr_auc"] == pytest.approx(average_precision_score(y, scored["probability"]))
    lo, hi = whole["interval"]["precision"]
    assert lo < whole["precision"] < hi
    assert v["promised"]["precision"] > 0.5 and "is performing as promised" in v["verdict"]
    assert sum(w["customers"] for w in v["weeks"].values()) == BANK_ROWS


def _outcome_file(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "outcomes.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


BAD_ROWS = {
    "missing_id": ({"ID": None, "took": 1}, "no customer id"),
    "invalid_id": ({"ID": 12.5, "took": 1}, "not a customer id"),
    "invalid_outcome": ({"ID": 12, "took": "maybe"}, "outcome is not yes/no"),
    "never_scored": ({"ID": 999999, "took": 0}, "never scored"),
    "before_prediction": ({"ID": 13, "took": 1, "when": "2001-01-01"}, "dated before"),
    "duplicate_id": ({"ID": 10, "took": 0}, "more than one row"),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_a_problem_row_imports_nothing_and_is_named(
    kind: str, scored_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, words = BAD_ROWS[kind]
    before = outcome_count(scored_db)
    good = [{"ID": 10, "took": 1, "when": "2099-01-01"}, {"ID": 11, "took": "no", "when": "2099-01-01"}]
    path = _outcome_file(tmp_path, [*good, {"when": "2099-01-01", **bad}])
    args = ["outcomes", "import", path, "--id", "ID", "--outcome", "took", "--date", "when", "--db", scored_db]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "Traceback" not in err
    assert "row 4" in err and words in err and "nothing imported" in err
    assert outcome_count(scored_db) == before  # one transaction: not even the good rows
    code, out, err = run_cli([*args, "--skip-problems", "--json", "--rejects", tmp_path / "rejects.csv"], capsys)
    report = json.loads(out)
    assert code == 0 and report["problems"] == {kind: 1 + (kind == "duplicate_id")}
    rejects = pd.read_csv(tmp_path / "rejects.csv")
    assert len(rejects) == len(report["examples"]) and words in rejects["problem"].iloc[-1]


def test_an_outcome_conflicting_with_an_imported_one_is_refused(
    scored_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(scored_db)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(outcomes.c.customer_id, outcomes.c.outcome).limit(1)).one_or_none()
    engine.dispose()
    if stored is None:  # run alone: import one first
        path = _outcome_file(tmp_path, [{"ID": 20, "took": 1}])
        assert (
            run_cli(["outcomes", "import", path, "--id", "ID", "--outcome", "took", "--db", scored_db], capsys)[0] == 0
        )
        stored = ("20", 1)
    path = _outcome_file(tmp_path, [{"ID": stored[0], "took": 1 - stored[1]}])
    code, _, err = run_cli(["outcomes", "import", path, "--id", "ID", "--outcome", "took", "--db", scored_db], capsys)
    assert code == 2 and "already imported with the other outcome" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--id", "nope", "--outcome", "took"], "column 'nope': no such column"),
        (["--id", "ID", "--outcome", "took", "--db", "nosuch://x"], "--db"),
    ],
)
def test_import_usage_mistakes_are_one_line(
    args: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _outcome_file(tmp_path, [{"ID": 1, "took": 1}])
    code, _, err = run_cli(["outcomes", "import", path, *args], capsys)
    assert code == 2 and words in err and "Traceback" not in err


def test_a_model_below_its_promise_is_said_to_be() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(np.int64)
    p = rng.random(2000)  # a model that ranks at random
    d = (p > 0.9).astype(np.int64)
    whole = {
        "customers": 2000,
        "accepted": int(y.sum()),
        "precision": float((y & d).sum() / d.sum()),
        "recall": float((y & d).sum() / y.sum()),
        "pr_auc": float(average_precision_score(y, p)),
        "interval": _interval(y, p, d),
    }
    said = verdict("v1", whole, {"precision": 0.9, "recall": 0.9, "pr_auc": 0.95})
    assert said.startswith("Model v1 is NOT performing as promised") and "precision" in said
    assert "too few" in verdict("v1", {**whole, "customers": 10}, {"precision": 0.9})


@given(st.integers(20, 400), st.floats(0.02, 0.5), st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_the_vectorised_bootstrap_brackets_sklearns_figures(n: int, rate: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(np.int64)
    if y.sum() in (0, n):
        return
    p = np.round(np.clip(y * 0.3 + rng.random(n), 0, 1), 2)  # ties on purpose
    d = (p > 0.7).astype(np.int64)
    ci = _interval(y, p, d)
    ap = average_precision_score(y, p)
    assert ci["pr_auc"] is not None and ci["pr_auc"][0] - 1e-9 <= ci["pr_auc"][1]
    assert ci["pr_auc"][0] <= ap + 0.25 and ci["pr_auc"][1] >= ap - 0.25


# ---- fairness -------------------------------------------------------------------------------------------
def test_fairness_on_a_labelled_file_matches_a_hand_count(
    model_dir: Path, bank_csv: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from uptake.pipeline import Model

    code, out, err = run_cli(
        ["fairness", model_dir, bank_csv, "--group", "Family", "--group", "Age:35,45,55", "--json"], capsys
    )
    assert code == 0, err
    tables = json.loads(out)["fairness"]
    df = pd.read_csv(bank_csv)
    decision = Model.load(model_dir).score(df).decision
    family = {r["group"]: r for r in tables[0]["groups"]}
    assert list(family) == ["1", "2", "3", "4"]
    for g, rows in df.groupby("Family"):
        mine = decision[rows.index]
        r = family[str(g)]
        assert r["customers"] == len(rows) and r["selection_rate"] == pytest.approx(mine.mean())
        assert r["recall"] == pytest.approx(mine[rows["Personal Loan"].to_numpy() == 1].mean())
    best = max(r["selection_rate"] for r in family.values())
    for r in family.values():
        assert r["selection_rate_ratio"] == pytest.approx(r["selection_rate"] / best)
        assert ("selection rate" in r["flags"]) == (r["selection_rate"] / best < 0.8)
    assert [r["group"] for r in tables[1]["groups"]] == ["under 35", "35-45", "45-55", "55 and over"]
    assert sum(r["customers"] for r in tables[1]["groups"]) == BANK_ROWS
    code, _, _ = run_cli(["fairness", model_dir, bank_csv, "--group", "Family", "--fail-on-flag"], capsys)
    assert code == (3 if tables[0]["flagged"] else 0)


def test_fairness_on_logged_decisions_with_outcomes(
    model_dir: Path, scored_db: str, bank_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(["outcomes", "import", bank_csv, "--id", "ID", "--outcome", "Personal Loan", "--db", scored_db], capsys)
    code, out, err = run_cli(["fairness", model_dir, "--db", scored_db, "--group", "Education", "--json"], capsys)
    assert code == 0, err
    logged = json.loads(out)["fairness"][0]
    code, out, _ = run_cli(["fairness", model_dir, bank_csv, "--group", "Education", "--json"], capsys)
    from_file = json.loads(out)["fairness"][0]
    assert logged["groups"] == from_file["groups"]  # the same customers, the same decisions


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--group", "Nope"], "column 'Nope'"),
        (["--group", "Income"], "too many groups"),
        (["--group", "Age:50,40"], "increasing order"),
        (["--group", "Age:a,b"], "must be numbers"),
        ([], "--group"),
    ],
)
def test_fairness_mistakes_are_one_line(
    args: list[str], words: str, model_dir: Path, bank_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["fairness", model_dir, bank_csv, *args], capsys)
    assert code == 2 and words in err and "Traceback" not in err


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6, unique=True),
    st.lists(st.one_of(st.none(), st.floats(-2e6, 2e6, allow_nan=False)), min_size=1, max_size=50),
)
@settings(max_examples=200, deadline=None)
def test_every_value_falls_in_exactly_the_range_its_edges_say(edges: list[float], values: list[float | None]) -> None:
    edges = sorted(edges)
    spec = parse_group("X:" + ",".join(repr(e) for e in edges))
    assert list(spec.edges) == edges
    labels = group_labels(pd.Series(values, dtype=object), spec).tolist()
    for v, label in zip(values, labels):
        if v is None:
            assert label == "missing"
        elif v < edges[0]:
            assert label == f"under {num(edges[0])}"
        elif v >= edges[-1]:
            assert label == f"{num(edges[-1])} and over"
        else:
            i = max(k for k, e in enumerate(edges) if e <= v)
            assert label == f"{num(edges[i])}-{num(edges[i + 1])}"


def test_group_spec_needs_a_column() -> None:
    with pytest.raises(UptakeInputError):
        parse_group(":25,35")
