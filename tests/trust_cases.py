"""The adversarial matrix: hostile and clumsy uses of the ``uptake`` command, one case each.

Each case builds its inputs in a fresh folder, runs the real console script in a
subprocess, and is judged on: the exit code, no traceback, the first line of
stderr, no leftovers beside the output, and (where they must be) scores unchanged.
``tests/test_trust_cli.py`` runs every case; ``bench/trust_matrix.py`` runs them
against any checkout to print a before/after table.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

UPTAKE = str(Path(sys.executable).with_name("uptake"))


@dataclass
class World:
    """What every case may use: the real table, two trained models, a scratch folder."""

    bank_csv: Path
    lightgbm: Path  # a LightGBM model trained on the real table
    network: Path  # a small `seed` network trained on the real table
    calibrated: Path  # a logistic regression with a sigmoid calibrator
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)

    def copy_model(self, which: Path, name: str) -> Path:
        dest = self.tmp / f"{name}-{uuid.uuid4().hex[:8]}"  # every case gets its own copy
        shutil.copytree(which, dest)  # follows the link: a plain directory, as a user's copy would be
        return dest

    def bank(self) -> pd.DataFrame:
        return pd.read_csv(self.bank_csv)


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Case:
    name: str
    klass: str  # the class of failure in the words
    build: Callable[[World, Path], list[Any]]  # (world, case folder) -> argv after `uptake`
    rc: int
    fragment: str  # in the first line of stderr (or stdout for usage errors)
    check: Callable[[World, Path, Outcome], None] | None = None  # more assertions (scores, files)
    signal_after: tuple[int, Callable[[Path, Any], bool]] | None = None  # (signal, "ready?") sent while it runs
    needs_root: bool = False


#: Ctrl-C as at a terminal: a shell's background job (``cmd &``) starts with SIGINT ignored, which the
#: child would inherit (and rightly honour), so the signal cases restore the default, then exec uptake
#: (the same process: the signal goes to its pid). Not a preexec_fn: forking a process that runs JAX's
#: threads and then running Python in the child can deadlock.
INTERRUPTIBLE = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


def run(
    world: World,
    argv: list[Any],
    signal_after: tuple[int, Callable[[Path, Any], bool]] | None = None,
    folder: Path | None = None,
    timeout: float = 600,
) -> Outcome:
    env = {**os.environ, **world.env, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    start = time.perf_counter()
    command = [UPTAKE, *map(str, argv)]
    if signal_after is not None:
        command = [sys.executable, "-c", INTERRUPTIBLE, *command]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if signal_after is not None:
        sig, ready = signal_after
        deadline = time.monotonic() + 120
        while proc.poll() is None and not ready(folder or world.tmp, proc) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return Outcome(proc.returncode, out, err, time.perf_counter() - start)


def first_line(o: Outcome) -> str:
    """What the user reads first: stdout's first line after success, stderr's after an error."""
    primary, other = (o.stdout, o.stderr) if o.rc == 0 else (o.stderr, o.stdout)
    lines = [line for line in (primary.strip() or other.strip()).splitlines() if line.strip()]
    return lines[0] if lines else ""


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary entries beside the outputs (a model's version store and its lock are not)."""
    out = [p.name for p in folder.iterdir() if p.name.startswith(".") and not p.name.endswith(".versions")]
    for store in folder.glob(".*.versions"):
        out += [f"{store.name}/{p.name}" for p in store.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    return sorted(out)


# ---- inputs ---------------------------------------------------------------------------------------------
def csv_of(
    world: World, folder: Path, name: str, edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None, rows: int = 50
) -> Path:
    df = world.bank().head(rows)
    if edit is not None:
        df = edit(df)
    path = folder / name
    df.to_csv(path, index=False)
    return path


def scores(path: Path) -> np.ndarray:
    return pd.read_csv(path)["probability"].to_numpy()


def reference(world: World, folder: Path, model: Path, rows: int = 50) -> np.ndarray:
    """The model's scores for the first rows of the real table, through the CLI, untouched."""
    src = csv_of(world, folder, "reference-in.csv", rows=rows)
    out = folder / "reference.csv"
    o = run(world, ["predict", model, src, "--out", out])
    assert o.rc == 0, o.stderr
    return scores(out)


def edu_as_text(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["Education"] = df["Education"].map(lambda v: f"{v}.0")
    return df


def with_cell(column: str, row: int, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[column] = df[column].astype(object)
        df.loc[df.index[row], column] = value
        return df

    return edit


def compose(*edits: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        for e in edits:
            df = e(df)
        return df

    return edit


def card_edit(
    world: World, folder: Path, change: Callable[[dict], Any], which: str = "lightgbm", text: str | None = None
) -> Path:
    model = world.copy_model(getattr(world, which), "model")
    path = model / "metadata.json"
    if text is not None:
        path.write_text(text)
    else:
        meta = json.loads(path.read_text())
        result = change(meta)
        path.write_text(json.dumps(meta if result is None else result))
    return model


def reseal(model: Path) -> None:
    """Rewrite the card's checksums after tampering, as someone who can write the directory could."""
    from uptake.artifact.store import checksums

    meta = json.loads((model / "metadata.json").read_text())
    meta["parts"] = checksums(model)
    (model / "metadata.json").write_text(json.dumps(meta))


def xlsx_with_formulas(folder: Path, world: World) -> Path:
    """An Excel sheet whose Income cells are formulas without saved values (as a script writes them)."""
    from openpyxl import Workbook

    df = world.bank().head(30)
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(list(df.columns))
    for i, row in enumerate(df.itertuples(index=False), start=2):
        values = list(row)
        values[df.columns.get_loc("Income")] = f"=B{i}*2"
        ws.append(values)
    path = folder / "formulas.xlsx"
    wb.save(path)
    return path


def database_parquet(world: World, folder: Path, name: str, as_text: bool = False) -> Path:
    """The real table as a database exports it: decimals, dictionaries, large strings, booleans, a date."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    df = world.bank()
    cols: dict[str, pa.Array] = {}
    for c in df.columns:
        v = df[c]
        if as_text:
            cols[c] = pa.array(v.astype(str), pa.large_string())
        elif c == "CCAvg":
            cols[c] = pa.array([decimal.Decimal(f"{x:.3f}") for x in v], pa.decimal128(8, 3))
        elif c == "Education":
            cols[c] = pa.array(v.astype(str)).dictionary_encode()
        elif c in ("Online", "CreditCard"):
            cols[c] = pa.array(v.astype(bool))
        else:
            cols[c] = pa.array(v)
    cols["Snapshot"] = pa.array(pd.Timestamp("2026-11-30") + pd.to_timedelta(np.arange(len(df)) % 7, unit="D"))
    path = folder / name
    pq.write_table(pa.table(cols), path)
    return path


# ---- checks -----------------------------------------------------------------------------------------------
def same_scores_as_reference(model_attr: str) -> Callable[[World, Path, Outcome], None]:
    def check(world: World, folder: Path, o: Outcome) -> None:
        ref = reference(world, folder, getattr(world, model_attr))
        np.testing.assert_allclose(scores(folder / "out.csv"), ref, rtol=0, atol=1e-9)

    return check


def input_unchanged(name: str) -> Callable[[World, Path, Outcome], None]:
    def check(world: World, folder: Path, o: Outcome) -> None:
        df = pd.read_csv(folder / name)
        assert "probability" not in df.columns and len(df) == 50

    return check


def nothing_written(*names: str) -> Callable[[World, Path, Outcome], None]:
    def check(world: World, folder: Path, o: Outcome) -> None:
        for n in names:
            assert not (folder / n).exists(), n

    return check


def flagged_row(position: int, words: str) -> Callable[[World, Path, Outcome], None]:
    """The row at ``position`` is scored and flagged in those words, the others scored as they were."""

    def check(world: World, folder: Path, o: Outcome) -> None:
        out = pd.read_csv(folder / "out.csv", keep_default_na=False)
        assert out["flags"].tolist() == ["" if i != position else words for i in range(len(out))]
        assert "Flagged 1 of 50 rows" in o.stderr and words in o.stderr

    return check


def skipped_one_scored_rest(world: World, folder: Path, o: Outcome) -> None:
    ref = reference(world, folder, world.lightgbm)
    got = scores(folder / "out.csv")
    np.testing.assert_allclose(got, np.delete(ref, 5), rtol=0, atol=1e-9)
    assert "skipped 1 invalid rows" in o.stdout and "skipped invalid row: file" in o.stderr


SECRET = "s3cret-pw"


def no_secret(world: World, folder: Path, o: Outcome) -> None:
    assert SECRET not in o.stderr + o.stdout, o.stderr
    one_line(world, folder, o)


def one_line(world: World, folder: Path, o: Outcome) -> None:
    assert len([line for line in o.stderr.splitlines() if line.strip()]) == 1, o.stderr


def no_files_left(world: World, folder: Path, o: Outcome) -> None:
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.startswith(".") or n.endswith((".tmp", ".scratch"))], names


def trained_and_scores_like_csv(world: World, folder: Path, o: Outcome) -> None:
    out = folder / "scored.csv"
    r = run(world, ["predict", folder / "model", folder / "db.parquet", "--out", out])
    assert r.rc == 0, r.stderr
    assert len(pd.read_csv(out)) == 5000
    assert "Snapshot (date)" in o.stdout  # a date type becomes a date feature (day number, year, month, weekday)


def _cases() -> list[Case]:
    return [
        # ---- silent wrong results -------------------------------------------------------------------------
        Case(
            "codes written 2.0 score as 2",
            "codes compared as text",
            lambda w, f: ["predict", w.lightgbm, csv_of(w, f, "in.csv", edu_as_text), "--out", f / "out.csv"],
            0,
            "Scored 50 rows",
            same_scores_as_reference("lightgbm"),
        ),
        Case(
            "a stray word among codes is named",
            "codes compared as text",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", compose(edu_as_text, with_cell("Education", 7, "graduate"))),
                "--out",
                f / "out.csv",
            ],
            2,
            "column 'Education', row 9, value 'graduate': text in a column of number codes",
            nothing_written("out.csv"),
        ),
        Case(
            "text in a code column is refused at training too",
            "codes compared as text",
            lambda w, f: [
                "train",
                csv_of(w, f, "in.csv", with_cell("Education", 7, "graduate"), rows=400),
                "--model",
                "lightgbm",
                "--out",
                f / "m",
            ],
            2,
            "column 'Education', row 9, value 'graduate': text in a numeric column",
            nothing_written("m"),
        ),
        Case(
            "income -500 is scored and flagged by predict",
            "CLI and API disagree",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", with_cell("Income", 5, -500)),
                "--out",
                f / "out.csv",
            ],
            0,
            "Scored 50 rows",
            flagged_row(5, "Income below the training range"),
        ),
        Case(
            "income -500 is refused by predict --strict",
            "CLI and API disagree",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", with_cell("Income", 5, -500)),
                "--out",
                f / "out.csv",
                "--strict",
            ],
            2,
            "column 'Income', row 7, value '-500': outside the accepted range 0 to 278",
            nothing_written("out.csv"),
        ),
        Case(
            "mortgage 1e9 is refused by predict --strict",
            "CLI and API disagree",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", with_cell("Mortgage", 5, 1e9)),
                "--out",
                f / "out.csv",
                "--strict",
            ],
            2,
            "column 'Mortgage', row 7, value '1000000000.0': outside the accepted range",
            nothing_written("out.csv"),
        ),
        Case(
            "--strict --skip-invalid skips an out-of-range row",
            "CLI and API disagree",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", with_cell("Income", 5, -500)),
                "--out",
                f / "out.csv",
                "--skip-invalid",
                "--strict",
            ],
            0,
            "Scored 49 rows",
            skipped_one_scored_rest,
        ),
        Case(
            "an unseen category is scored and flagged",
            "CLI and API disagree",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", with_cell("Family", 3, 7)),
                "--out",
                f / "out.csv",
            ],
            0,
            "Scored 50 rows",
            flagged_row(3, "Family unseen in training"),
        ),
        Case(
            "an unseen category is refused under --strict",
            "CLI and API disagree",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", with_cell("Family", 3, 7)),
                "--out",
                f / "out.csv",
                "--strict",
            ],
            2,
            "column 'Family', row 5, value '7': not one of the categories seen in training",
            nothing_written("out.csv"),
        ),
        Case(
            "an empty column is named, not imputed",
            "damaged inputs",
            lambda w, f: [
                "predict",
                w.lightgbm,
                csv_of(w, f, "in.csv", lambda d: d.assign(Income=np.nan)),
                "--out",
                f / "out.csv",
            ],
            2,
            "column 'Income': the column is empty in all 50 rows",
            nothing_written("out.csv"),
        ),
        Case(
            "formulas without saved values are named",
            "damaged inputs",
            lambda w, f: ["predict", w.lightgbm, xlsx_with_formulas(f, w), "--out", f / "out.csv"],
            2,
            "column 'Income': the column is empty in all 30 rows",
            nothing_written("out.csv"),
        ),
        Case(
            "an empty column is dropped at training, and said",
            "damaged inputs",
            lambda w, f: [
                "train",
                csv_of(w, f, "in.csv", lambda d: d.assign(Mortgage=np.nan), rows=600),
                "--model",
                "lightgbm",
                "--out",
                f / "m",
            ],
            0,
            "Rows: 600",
        ),
        Case(
            "a NaN threshold in the card is refused",
            "damaged inputs",
            lambda w, f: [
                "predict",
                card_edit(w, f, lambda m: m.update(threshold=float("nan"))),
                csv_of(w, f, "in.csv"),
                "--out",
                f / "out.csv",
            ],
            2,
            "field 'threshold' of the model card: the threshold nan must be a number between 0 and 1",
        ),
        Case(
            "a threshold of -1 in the card is refused",
            "damaged inputs",
            lambda w, f: [
                "predict",
                card_edit(w, f, lambda m: m.update(threshold=-1)),
                csv_of(w, f, "in.csv"),
                "--out",
                f / "out.csv",
            ],
            2,
            "field 'threshold' of the model card",
        ),
        Case(
            "--out equal to the input is refused",
            "--out equal to the input",
            lambda w, f: ["predict", w.lightgbm, csv_of(w, f, "in.csv"), "--out", f / "in.csv"],
            2,
            "is the input file itself",
            input_unchanged("in.csv"),
        ),
        Case(
            "--out equal to the input with --skip-invalid is refused",
            "--out equal to the input",
            lambda w, f: ["predict", w.lightgbm, csv_of(w, f, "in.csv"), "--out", f / "in.csv", "--skip-invalid"],
            2,
            "is the input file itself",
            input_unchanged("in.csv"),
        ),
        Case(
            "plan --out equal to the input is refused",
            "--out equal to the input",
            lambda w, f: [
                "plan",
                w.lightgbm,
                csv_of(w, f, "in.csv"),
                "--contact-cost",
                5,
                "--accept-value",
                100,
                "--out",
                f / "in.csv",
            ],
            2,
            "is the input file itself",
            input_unchanged("in.csv"),
        ),
        # ---- usage errors ----------------------------------------------------------------------------------------
        Case("bare uptake", "usage errors", lambda w, f: [], 2, "Usage: uptake"),
        Case("uptake log", "usage errors", lambda w, f: ["log"], 2, "Usage: uptake log"),
        Case("a missing argument", "usage errors", lambda w, f: ["predict"], 2, "Usage: uptake predict"),
        Case("--epochs abc", "usage errors", lambda w, f: ["train", "--epochs", "abc"], 2, "Usage: uptake train"),
        Case("an unknown option", "usage errors", lambda w, f: ["train", "--bogus"], 2, "Usage: uptake train"),
        Case("an unknown command", "usage errors", lambda w, f: ["trian"], 2, "Usage: uptake"),
        # ---- input shapes -----------------------------------------------------------------------------------------
        Case(
            "duplicate column names at predict",
            "input shapes",
            lambda w, f: ["predict", w.lightgbm, dup_columns(w, f), "--out", f / "out.csv"],
            2,
            "column 'Income': the column name appears 2 times",
            nothing_written("out.csv"),
        ),
        Case(
            "duplicate column names at train",
            "input shapes",
            lambda w, f: ["train", dup_columns(w, f, rows=400), "--model", "lightgbm", "--out", f / "m"],
            2,
            "column 'Income': the column name appears 2 times",
            nothing_written("m"),
        ),
        Case(
            "Parquet with database types trains and scores",
            "input shapes",
            lambda w, f: ["train", database_parquet(w, f, "db.parquet"), "--model", "lightgbm", "--out", f / "model"],
            0,
            "Rows: 5,000",
            trained_and_scores_like_csv,
        ),
        Case(
            "Parquet with every column as text trains",
            "input shapes",
            lambda w, f: [
                "train",
                database_parquet(w, f, "text.parquet", as_text=True),
                "--model",
                "lightgbm",
                "--out",
                f / "model",
            ],
            0,
            "Rows: 5,000",
        ),
        Case(
            "a workbook named .csv",
            "input shapes",
            lambda w, f: ["predict", w.lightgbm, renamed_xlsx(w, f), "--out", f / "out.csv"],
            2,
            "is an Excel workbook (or another zip file), not CSV text",
        ),
        Case(
            "a directory named .csv",
            "input shapes",
            lambda w, f: ["predict", w.lightgbm, mkdir(f / "table.csv"), "--out", f / "out.csv"],
            2,
            "is a directory, not a .csv file",
        ),
        Case(
            "--out is an existing directory",
            "input shapes",
            lambda w, f: ["predict", w.lightgbm, csv_of(w, f, "in.csv"), "--out", mkdir(f / "out.csv")],
            2,
            "is a directory; name a file to write",
        ),
        Case(
            "--out in a read-only folder",
            "input shapes",
            lambda w, f: ["predict", w.lightgbm, csv_of(w, f, "in.csv"), "--out", read_only(f) / "out.csv"],
            2,
            "is not writable",
            needs_root=True,
        ),
        Case(
            "inf in a training column: one line, no warnings",
            "input shapes",
            lambda w, f: [
                "train",
                csv_of(w, f, "in.csv", with_cell("CCAvg", 3, "inf"), rows=400),
                "--model",
                "lightgbm",
                "--out",
                f / "m",
            ],
            2,
            "column 'CCAvg', row 5, value 'inf': not a finite number",
            one_line,
        ),
        Case(
            "log export from a file that is not a database",
            "input shapes",
            lambda w, f: ["log", "export", "--db", f"sqlite:///{text_file(f)}", "--out", f / "log.csv"],
            2,
            "cannot read the audit database (file is not a database)",
        ),
        Case(
            "monitor an unreachable database: the password is never printed",
            "input shapes",
            lambda w, f: ["monitor", w.lightgbm, "--db", f"postgresql://root:{SECRET}@127.0.0.1:1/test"],
            2,
            "cannot read the audit database",
            no_secret,
        ),
        Case(
            "monitor --outcomes on an unreachable database: the password is never printed",
            "input shapes",
            lambda w, f: ["monitor", w.lightgbm, "--db", f"postgresql://root:{SECRET}@127.0.0.1:1/test", "--outcomes"],
            2,
            "cannot read the audit database",
            no_secret,
        ),
        Case(
            "outcomes import into an unreachable database: the password is never printed",
            "input shapes",
            lambda w, f: [
                "outcomes",
                "import",
                csv_of(w, f, "in.csv"),
                "--id",
                "ID",
                "--outcome",
                "Personal Loan",
                "--db",
                f"postgresql://root:{SECRET}@127.0.0.1:1/test",
            ],
            2,
            "--db 'postgresql+psycopg://root:***@127.0.0.1:1/test'",
            no_secret,
        ),
        Case(
            "serve with a database driver that is not installed",
            "input shapes",
            lambda w, f: ["serve", w.lightgbm, "--db", "mysql://u@127.0.0.1/audit", "--port", 0],
            2,
            "no driver for this database is installed",
        ),
        # ---- damaged model directories ------------------------------------------------------------------------------
        Case(
            "metadata that is a list",
            "damaged models",
            lambda w, f: ["predict", card_edit(w, f, lambda m: [m]), csv_of(w, f, "in.csv"), "--out", f / "o.csv"],
            2,
            "not an uptake model card (it holds a list)",
        ),
        Case(
            "a card without its schema",
            "damaged models",
            lambda w, f: [
                "predict",
                card_edit(w, f, lambda m: m.pop("schema") and None),
                csv_of(w, f, "in.csv"),
                "--out",
                f / "o.csv",
            ],
            2,
            "field 'schema' of the model card: Field required",
        ),
        Case(
            "a card without its threshold",
            "damaged models",
            lambda w, f: [
                "predict",
                card_edit(w, f, lambda m: m.pop("threshold") and None),
                csv_of(w, f, "in.csv"),
                "--out",
                f / "o.csv",
            ],
            2,
            "field 'threshold' of the model card: Field required",
        ),
        Case(
            "metadata that is not JSON",
            "damaged models",
            lambda w, f: [
                "predict",
                card_edit(w, f, None, text="{not json"),
                csv_of(w, f, "in.csv"),
                "--out",
                f / "o.csv",
            ],
            2,
            "unreadable model metadata",
        ),
        Case(
            "a changed part",
            "damaged models",
            lambda w, f: ["predict", damaged_part(w, f), csv_of(w, f, "in.csv"), "--out", f / "o.csv"],
            2,
            "changed since the model was saved",
        ),
        Case(
            "a bad calibration file (card resealed)",
            "damaged models",
            lambda w, f: ["predict", bad_calibration(w, f), csv_of(w, f, "in.csv"), "--out", f / "o.csv"],
            2,
            "damaged calibration",
        ),
        Case(
            "zero network members (card resealed)",
            "damaged models",
            lambda w, f: ["predict", zero_members(w, f), csv_of(w, f, "in.csv"), "--out", f / "o.csv"],
            2,
            "the network has no members",
        ),
        Case(
            "parts that do not fit each other (card resealed)",
            "damaged models",
            lambda w, f: ["predict", mismatched_parts(w, f), csv_of(w, f, "in.csv"), "--out", f / "o.csv"],
            2,
            "do not belong together",
        ),
        # ---- signals and full disks
        # ------------------------------------------------------------------------------------
        Case(
            "Ctrl-C during train",
            "signals",  # a table big enough that training outlasts the trigger
            lambda w, f: ["train", big_csv(w, f, rows=60_000), "--preset", "default", "--out", f / "m"],
            130,
            "interrupted (Ctrl-C)",
            compose_checks(nothing_written("m"), no_files_left),
            signal_after=(signal.SIGINT, busy_for(8.0)),
        ),
        Case(
            "SIGTERM during a ranked predict",
            "signals",
            lambda w, f: ["predict", w.network, big_csv(w, f), "--out", f / "out.csv", "--chunk-rows", 20_000],
            143,
            "terminated (SIGTERM)",
            compose_checks(nothing_written("out.csv"), no_files_left),
            signal_after=(signal.SIGTERM, scratch_exists),
        ),
        Case(
            "Ctrl-C during predict",
            "signals",
            lambda w, f: ["predict", w.network, big_csv(w, f), "--out", f / "out.csv", "--chunk-rows", 20_000],
            130,
            "interrupted (Ctrl-C)",
            compose_checks(nothing_written("out.csv"), no_files_left),
            signal_after=(signal.SIGINT, scratch_exists),
        ),
        Case(
            "a full disk for the output",
            "full disk",
            lambda w, f: [
                "predict",
                w.lightgbm,
                big_csv(w, f, rows=60_000),
                "--out",
                tiny_disk(f) / "out.csv",
                "--no-rank",
            ],
            2,
            "No space left on device",
            lambda w, f, o: assert_empty(f / "disk"),
            needs_root=True,
        ),
        Case(
            "a full disk for the exact ranks' scratch",
            "full disk",
            lambda w, f: ["predict", w.lightgbm, big_csv(w, f, rows=150_000), "--out", tiny_disk(f, "2m") / "out.csv"],
            2,
            "No space left on device",
            lambda w, f, o: assert_empty(f / "disk"),
            needs_root=True,
        ),
        Case(
            "a full disk for a model",
            "full disk",
            lambda w, f: ["train", w.bank_csv, "--model", "lightgbm", "--out", tiny_disk(f, "100k") / "m"],
            2,
            "No space left on device",
            lambda w, f, o: assert_empty(f / "disk"),
            needs_root=True,
        ),
    ]


def busy_for(cpu_seconds: float) -> Callable[[Path, Any], bool]:
    """Ready once the process has worked this long (past start-up, into training)."""
    import psutil

    def ready(folder: Path, proc: Any) -> bool:
        try:
            t = psutil.Process(proc.pid).cpu_times()
        except psutil.Error:
            return True
        return t.user + t.system >= cpu_seconds

    return ready


def scratch_exists(folder: Path, proc: Any) -> bool:
    """Ready once streaming has started: its scratch folder and temporary output exist beside the output."""
    return any(p.name.endswith(".scratch") for p in folder.iterdir())


def compose_checks(*checks: Callable[[World, Path, Outcome], None]) -> Callable[[World, Path, Outcome], None]:
    def check(world: World, folder: Path, o: Outcome) -> None:
        for c in checks:
            c(world, folder, o)

    return check


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def text_file(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("this is not a database\n" * 100)
    return path


def dup_columns(world: World, folder: Path, rows: int = 50) -> Path:
    df = world.bank().head(rows)
    path = folder / "dup.csv"
    text = df.to_csv(index=False).splitlines()
    header = text[0].split(",")
    header[header.index("Mortgage")] = "Income"
    path.write_text("\n".join([",".join(header), *text[1:]]) + "\n")
    return path


def renamed_xlsx(world: World, folder: Path) -> Path:
    path = folder / "table.xlsx"
    world.bank().head(20).to_excel(path, index=False)
    return path.rename(folder / "table.csv")


def big_csv(world: World, folder: Path, rows: int = 400_000) -> Path:
    from uptake.synth import make_loan, write_table

    path = folder / "big.csv"
    write_table(make_loan(rows, seed=11), path)
    return path


def mount(folder: Path, size: str, read_only: bool = False) -> Path:
    folder.mkdir(exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)], check=True)
    MOUNTS.append(folder)
    return folder


def tiny_disk(folder: Path, size: str = "256k") -> Path:
    return mount(folder / "disk", size)


def read_only(folder: Path) -> Path:
    return mount(folder / "ro", "64k", read_only=True)


def assert_empty(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == [], sorted(p.name for p in folder.iterdir())


#: tmpfs mounts made by cases, unmounted by ``cleanup``.
MOUNTS: list[Path] = []


def cleanup() -> None:
    while MOUNTS:
        subprocess.run(["umount", "-l", str(MOUNTS.pop())], check=False)


def damaged_part(world: World, folder: Path) -> Path:
    model = world.copy_model(world.lightgbm, "model")
    with open(model / "estimator" / "model.txt", "a") as fh:
        fh.write("\n# appended\n")
    return model


def bad_calibration(world: World, folder: Path) -> Path:
    model = world.copy_model(world.calibrated, "model")
    (model / "calibration.json").write_text(
        json.dumps({"format": "uptake-calibration/1", "method": "sigmoid", "slope": "steep"})
    )
    reseal(model)
    return model


def zero_members(world: World, folder: Path) -> Path:
    model = world.copy_model(world.network, "model")
    side = model / "estimator" / "network.json"
    meta = json.loads(side.read_text())
    meta["n_members"] = 0
    side.write_text(json.dumps(meta))
    reseal(model)
    return model


def mismatched_parts(world: World, folder: Path) -> Path:
    """A model whose preprocessor is refitted with piecewise-linear inputs: wider than its trees expect."""
    from uptake.features import build_preprocessor, save_preprocessor
    from uptake.pipeline import Model

    model = world.copy_model(world.lightgbm, "model")
    m = Model.load(model)
    clean = m.validate(world.bank()).clean
    save_preprocessor(build_preprocessor(m.schema, "ple").fit(clean), model / "preprocessor.skops")
    reseal(model)
    return model


CASES = _cases()
