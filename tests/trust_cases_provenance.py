"""The second adversarial pass: what uptake reads, writes or reads back must not change meaning.

One case per class of the provenance issue (ids carried as written, one reader, stale
columns, rows that are not customers, Excel structure, monitoring and outcomes that
trust their input, tracebacks, words that point the wrong way, exit codes, read-only
commands that create files). Each builds its inputs, runs the real ``uptake`` in a
subprocess and is judged like the first pass's cases (``trust_cases.Case``). The audit
log under ``kill -9`` is tested with a real server in ``tests/test_serve_cli.py``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from trust_cases import UPTAKE, Case, Outcome, World, csv_of, nothing_written, run

BASE = "provenance"


# ---- inputs ------------------------------------------------------------------------------------------------
def ids_csv(world: World, folder: Path) -> Path:
    """Ids as a bank writes them: leading zeros, 17 digits, an integer column with a gap."""
    df = world.bank().head(30).astype(object)
    df["ID"] = ["0042", "9007199254740995", "007"] + [str(i) for i in range(3, 30)]
    df["Branch"] = ["39", "", "41"] + ["12"] * 27
    path = folder / "ids.csv"
    df.to_csv(path, index=False)
    return path


def kept_as_written(column: str, expected: list[str], out: str = "out.csv"):
    def check(world: World, folder: Path, o: Outcome) -> None:
        got = pd.read_csv(folder / out, dtype=str, keep_default_na=False)
        assert got[column].tolist()[: len(expected)] == expected, got[column].tolist()[:5]

    return check


def decimal_comma_csv(world: World, folder: Path) -> Path:
    """A German export: ';' between fields, ',' in decimals, '.' grouping thousands (Mortgage 1.000)."""
    df = world.bank().head(20)
    path = folder / "de.csv"
    df.to_csv(path, sep=";", decimal=",", index=False)
    lines = path.read_text().splitlines()
    cells = lines[1].split(";")
    cells[list(df.columns).index("Mortgage")] = "1.000"
    lines[1] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def scored_twice(world: World, folder: Path) -> Path:
    first = folder / "first.csv"
    df = world.bank().head(40)
    df["rank"] = range(40, 0, -1)
    df["reason_1"] = "an old reason"
    df["expected_value"] = 9.0
    df.to_csv(first, index=False)
    return first


def ids_in_list(world: World, folder: Path, o: Outcome) -> None:
    got = pd.read_csv(folder / "out.csv", dtype=str, keep_default_na=False)
    assert {"0042", "9007199254740995", "007"} <= set(got["ID"]) and "" in set(got["Branch"]), got.head()


def sheet_named(world: World, folder: Path, o: Outcome) -> None:
    assert "Read sheet 'Current'" in o.stderr and "hidden sheets not read: Old copy" in o.stderr, o.stderr
    assert "25 rows" in o.stdout


def no_stale_columns(world: World, folder: Path, o: Outcome) -> None:
    got = pd.read_csv(folder / "out.csv")
    assert not {"reason_1", "expected_value"} & set(got.columns)
    assert list(got.columns).count("rank") == 1 and sorted(got["rank"]) == list(range(1, 41))
    assert "Replaced the columns of an earlier scoring run" in o.stderr or "Replaced" in o.stdout


def trailing_separators(world: World, folder: Path) -> Path:
    path = csv_of(world, folder, "tail.csv", rows=50)
    with open(path, "a") as fh:
        fh.write(",,,,,,,,,,,,,\n,,,,,,,,,,,,,\n" + " ," * 13 + " \n")
    return path


def hidden_first_sheet(world: World, folder: Path) -> Path:
    path = folder / "book.xlsx"
    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old copy"
    old.append(list(world.bank().columns))
    old.append([1] * 14)
    old.sheet_state = "hidden"
    ws = book.create_sheet("Current")
    ws.append(list(world.bank().columns))
    for row in world.bank().head(25).itertuples(index=False):
        ws.append(list(row))
    book.active = 1
    book.save(path)
    return path


def scored_by_another(world: World, folder: Path) -> Path:
    df = world.bank().head(300)
    df["probability"] = np.linspace(0, 100, len(df))  # another model's scores, in percent
    path = folder / "other.csv"
    df.to_csv(path, index=False)
    return path


def scores_its_own(world: World, folder: Path, o: Outcome) -> None:
    report = json.loads(o.stdout)
    assert report["score_from"] == "model" and report["score"]["band"] == "stable", report["score"]
    assert any("'probability' column was not used" in n for n in report["notes"])


def outcomes_db(world: World, folder: Path) -> str:
    """An audit database where the first 20 bank customers were scored (predict --db)."""
    url = f"sqlite:///{folder / 'audit.sqlite'}"
    src = csv_of(world, folder, "scored-in.csv", rows=20)
    o = run(world, ["predict", world.lightgbm, src, "--out", folder / "scored.csv", "--db", url])
    assert o.rc == 0, o.stderr
    return url


def outcomes_file(world: World, folder: Path, column: list, dates: list[str] | None = None) -> Path:
    df = pd.DataFrame({"ID": range(1, 21), "took": column})
    if dates is not None:
        df["when"] = dates
    path = folder / "outcomes.csv"
    df.to_csv(path, index=False)
    return path


def outcomes_case(column: list, *options: str, dates: list[str] | None = None):
    def build(world: World, folder: Path) -> list:
        url = outcomes_db(world, folder)
        path = outcomes_file(world, folder, column, dates)
        extra = ["--date", "when"] if dates is not None else []
        return ["outcomes", "import", path, "--id", "ID", "--outcome", "took", "--db", url, "--json", *extra, *options]

    return build


def imported(accepted: int, problems: dict[str, int] | None = None):
    def check(world: World, folder: Path, o: Outcome) -> None:
        report = json.loads(o.stdout)
        assert report["positives"] == accepted and report["problems"] == (problems or {}), report

    return check


def monitor_db_case(world: World, folder: Path) -> list:
    """Two model versions in one audit log: monitor judges the model's own rows only."""
    url = f"sqlite:///{folder / 'audit.sqlite'}"
    src = csv_of(world, folder, "in.csv", rows=300)
    for model in (world.lightgbm, world.calibrated):
        o = run(world, ["predict", model, src, "--out", folder / f"out-{model.name}.csv", "--db", url])
        assert o.rc == 0, o.stderr
    return ["monitor", world.lightgbm, "--db", url, "--json"]


def own_version_only(world: World, folder: Path, o: Outcome) -> None:
    report = json.loads(o.stdout)
    assert report["rows_read"] == 300, report["rows_read"]
    assert any("left out 300 logged rows of other model versions" in n for n in report["notes"]), report["notes"]


def parquet_of(world: World, folder: Path) -> Path:
    path = folder / "in.parquet"
    world.bank().head(50).to_parquet(path)
    return path


def csv_folder(world: World, folder: Path) -> Path:
    d = folder / "parts"
    d.mkdir()
    csv_of(world, d, "a.csv")
    csv_of(world, d, "b.csv")
    return d


def utf16_csv(world: World, folder: Path) -> Path:
    path = folder / "wide.csv"
    path.write_bytes(world.bank().head(10).to_csv(index=False).encode("utf-16"))
    return path


def copied_link(world: World, folder: Path) -> Path:
    """A model folder copied with `cp -r`: the link, without the version store it points into."""
    src = folder / "models"
    src.mkdir()
    o = run(world, ["train", csv_of(world, folder, "t.csv", rows=600), "--model", "logreg", "--out", src / "m"])
    assert o.rc == 0, o.stderr
    copy = folder / "copy"
    copy.mkdir()
    subprocess.run(["cp", "-r", str(src / "m"), str(copy / "m")], check=True)
    return copy / "m"


def all_invalid(world: World, folder: Path) -> Path:
    df = world.bank().head(10).astype(object)
    df["Income"] = "lots"
    path = folder / "bad.csv"
    df.to_csv(path, index=False)
    return path


def no_db_created(world: World, folder: Path, o: Outcome) -> None:
    assert not (folder / "typo.sqlite").exists()


def fairness_text_cell(world: World, folder: Path) -> Path:
    df = world.bank().head(200).astype(object)
    df.loc[5, "Age"] = "forty"
    path = folder / "groups.csv"
    df.to_csv(path, index=False)
    return path


def cases() -> list[Case]:
    k = BASE
    return [
        # ---- ids and columns leave as they came in -------------------------------------------------------------
        Case(
            "ids with leading zeros and 17 digits leave predict as written",
            k,
            lambda w, f: ["predict", w.lightgbm, ids_csv(w, f), "--out", f / "out.csv"],
            0,
            "Scored 30 rows",
            kept_as_written("ID", ["0042", "9007199254740995", "007"]),
        ),
        Case(
            "an integer column with a gap leaves --explain as integers",
            k,
            lambda w, f: ["predict", w.lightgbm, ids_csv(w, f), "--out", f / "out.csv", "--explain"],
            0,
            "Scored 30 rows",
            kept_as_written("Branch", ["39", "", "41"]),
        ),
        Case(
            "plan's call list carries ids as written",
            k,
            lambda w, f: [
                "plan",
                w.lightgbm,
                ids_csv(w, f),
                "--contact-cost",
                "5",
                "--accept-value",
                "100",
                "--top",
                "100%",
                "--out",
                f / "out.csv",
            ],
            0,
            "",
            ids_in_list,
        ),
        Case(
            "Mortgage 1.000 in a decimal-comma file is one thousand, and leaves as written",
            k,
            lambda w, f: ["predict", w.lightgbm, decimal_comma_csv(w, f), "--out", f / "out.csv"],
            0,
            "Scored 20 rows",
            kept_as_written("Mortgage", ["1.000"]),
        ),
        Case(
            "a scored file scored again keeps no column of the earlier run",
            k,
            lambda w, f: ["predict", w.lightgbm, scored_twice(w, f), "--out", f / "out.csv"],
            0,
            "Scored 40 rows",
            no_stale_columns,
        ),
        # ---- rows that are not customers; Excel --------------------------------------------------------------------
        Case(
            "trailing separator lines are not customers",
            k,
            lambda w, f: ["predict", w.lightgbm, trailing_separators(w, f), "--out", f / "out.csv"],
            0,
            "Scored 50 rows",
        ),
        Case(
            "a hidden first sheet is not read, and the sheet read is named",
            k,
            lambda w, f: ["evaluate", w.lightgbm, hidden_first_sheet(w, f)],
            0,
            "",
            sheet_named,
        ),
        # ---- monitoring and outcomes trust their input no more -----------------------------------------------------
        Case(
            "monitor does not take another model's probability column",
            k,
            lambda w, f: ["monitor", w.lightgbm, scored_by_another(w, f), "--json"],
            0,
            "",
            scores_its_own,
        ),
        Case("monitor --db judges the model's own version only", k, monitor_db_case, 0, "", own_version_only),
        Case(
            "outcomes --positive 1.0 on a 0/1 column",
            k,
            outcomes_case([1, 0] * 10, "--positive", "1.0"),
            0,
            "",
            imported(10),
        ),
        Case(
            "outcomes --positive accepted: Accepted, ACCEPTED are accepted, pending a problem",
            k,
            outcomes_case(
                ["accepted", "Accepted", "ACCEPTED", "declined", "pending"] * 4,
                "--positive",
                "accepted",
                "--skip-problems",
            ),
            0,
            "",
            imported(12, {"invalid_outcome": 4}),
        ),
        Case(
            "outcomes dates are read with one format for the column",
            k,
            outcomes_case([1] * 20, dates=["03/04/2027", "13/04/2027"] * 10),
            0,
            "",
            imported(20),
        ),
        # ---- tracebacks become one line ---------------------------------------------------------------------------
        Case(
            "--since 99999999d",
            k,
            lambda w, f: [
                "log",
                "export",
                "--since",
                "99999999d",
                "--out",
                f / "x.csv",
                "--db",
                f"sqlite:///{outcomes_db(w, f).split('///')[1]}",
            ],
            2,
            "--since '99999999d': that age reaches before year 1",
        ),
        Case(
            "--until that is not a time names --until",
            k,
            lambda w, f: [
                "log",
                "export",
                "--until",
                "soon",
                "--out",
                f / "x.csv",
                "--db",
                f"sqlite:///{outcomes_db(w, f).split('///')[1]}",
            ],
            2,
            "--until 'soon'",
        ),
        Case(
            "synth --shift Income=xnan",
            k,
            lambda w, f: ["synth", "--shift", "Income=xnan", "--out", f / "s.csv"],
            2,
            "the amount must be a finite number",
        ),
        Case(
            "synth --shift Income=inf",
            k,
            lambda w, f: ["synth", "--shift", "Income=inf", "--out", f / "s.csv"],
            2,
            "the amount must be a finite number",
        ),
        Case(
            "--time-limit inf",
            k,
            lambda w, f: ["train", w.bank_csv, "--model", "auto", "--time-limit", "inf", "--out", f / "m"],
            2,
            "--time-limit inf: give a positive number of seconds",
            nothing_written("m"),
        ),
        Case(
            "--scheduler http://",
            k,
            lambda w, f: [
                "predict",
                w.lightgbm,
                parquet_of(w, f),
                "--out",
                f / "o.parquet",
                "--engine",
                "dask",
                "--scheduler",
                "http://127.0.0.1:8787",
            ],
            2,
            "--scheduler http://127.0.0.1:8787: give the scheduler's address, tcp://HOST:8786",
        ),
        Case(
            "predict on a folder of CSV files",
            k,
            lambda w, f: ["predict", w.lightgbm, csv_folder(w, f), "--out", f / "o.csv"],
            2,
            "a folder is read as one Parquet dataset, and this one holds other files (a.csv, b.csv)",
        ),
        # ---- words that point the right way --------------------------------------------------------------------
        Case(
            "a UTF-16 CSV",
            k,
            lambda w, f: ["predict", w.lightgbm, utf16_csv(w, f), "--out", f / "o.csv"],
            2,
            "is UTF-16 text; save it as UTF-8 CSV",
        ),
        Case(
            "a model folder copied with cp -r",
            k,
            lambda w, f: ["predict", copied_link(w, f), csv_of(w, f, "in.csv"), "--out", f / "o.csv"],
            2,
            "its version store '.m.versions' was not copied with it",
        ),
        Case(
            "a budget that pays for 1e300 calls",
            k,
            lambda w, f: [
                "plan",
                w.lightgbm,
                csv_of(w, f, "in.csv"),
                "--contact-cost",
                "5",
                "--accept-value",
                "100",
                "--budget",
                "1e300",
            ],
            2,
            "pays for more calls than the list's 50 customers",
        ),
        Case(
            "fairness names the row a user sees",
            k,
            lambda w, f: ["fairness", w.lightgbm, fairness_text_cell(w, f), "--group", "Age:35,45"],
            2,
            "column 'Age', row 7, value 'forty'",
        ),
        # ---- exit codes; read-only commands ----------------------------------------------------------------------
        Case(
            "--skip-invalid that skips every row",
            k,
            lambda w, f: ["predict", w.lightgbm, all_invalid(w, f), "--out", f / "o.csv", "--skip-invalid"],
            2,
            "every one of its 10 rows is invalid",
            nothing_written("o.csv"),
        ),
        Case(
            "monitor --db on a mistyped SQLite path leaves nothing behind",
            k,
            lambda w, f: ["monitor", w.lightgbm, "--db", f"sqlite:///{f / 'typo.sqlite'}"],
            2,
            "does not exist (a mistyped path?)",
            no_db_created,
        ),
        Case(
            "fairness --db on a mistyped SQLite path leaves nothing behind",
            k,
            lambda w, f: ["fairness", w.lightgbm, "--group", "Family", "--db", f"sqlite:///{f / 'typo.sqlite'}"],
            2,
            "does not exist (a mistyped path?)",
            no_db_created,
        ),
    ]


CASES = cases()
__all__ = ["CASES", "UPTAKE"]
