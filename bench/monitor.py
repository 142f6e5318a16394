"""Benchmark: ``uptake monitor`` speed and memory, and a drift test with teeth.

1. Teeth: one LightGBM model trained on the embedded synthetic loan table (seed 0);
   then ``--seeds`` unshifted tables of the same size (other seeds) must come out
   stable (each column in a band above stable is a false alarm, counted), and tables
   with one column moved by a known amount (``uptake synth --shift``) must put that
   column in the expected band.
2. Speed: a ``--rows`` (default 10M) Parquet file of uptake's scored output (the
   ``probability`` column is the score) monitored by the real command in a child
   process; rows per second and peak RSS (from ``/proc``'s ``VmHWM`` via psutil
   polling, children included).
3. The audit log: ``--audit-rows`` (default 1M) rows written by the audit writer into
   SQLite and, when ``UPTAKE_TEST_POSTGRES_URL`` is set, PostgreSQL, then monitored
   with ``--db``; seconds.

Prints a table and writes bench/results/monitor.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
UPTAKE = str(Path(sys.executable).with_name("uptake"))

#: (shift, column, lowest band it must reach)
SHIFTS = [
    ("Income=5", "Income", "stable"),
    ("Income=15", "Income", "watch"),
    ("Income=40", "Income", "act"),
    ("CCAvg=x1.3", "CCAvg", "watch"),
    ("CCAvg=x2", "CCAvg", "act"),
    ("Age=10", "Age", "act"),
    ("Mortgage=x3", "Mortgage", "watch"),
]
ORDER = ("stable", "watch", "act")


def run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([UPTAKE, *args], capture_output=True, text=True, **kw)


def peak_rss(cmd: list[str], stdout: object = None) -> tuple[float, float, int]:
    """Seconds and peak RSS (MiB, process tree) of a command, and its exit code."""
    start = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=stdout if stdout is not None else subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    return time.perf_counter() - start, peak / 2**20, proc.returncode


def teeth(work: Path, seeds: int, rows: int) -> dict:
    model = work / "model"
    run(["train", "--model", "lightgbm", "--out", str(model)], check=True, cwd=work)
    false_alarms, tables = 0, 0
    for seed in range(1, seeds + 1):
        data = work / f"plain-{seed}.csv"
        run(["synth", "--rows", str(rows), "--seed", str(seed), "--out", str(data)], check=True)
        report = json.loads(run(["monitor", str(model), str(data), "--json"], check=True).stdout)
        alarms = [n for n, c in report["columns"].items() if c["band"] != "stable"]
        false_alarms += len(alarms)
        tables += 1
    shifted = []
    for shift, column, expected in SHIFTS:
        data = work / "shifted.csv"
        run(["synth", "--rows", str(rows), "--seed", "99", "--shift", shift, "--out", str(data)], check=True)
        report = json.loads(run(["monitor", str(model), str(data), "--json"], check=True).stdout)
        got = report["columns"][column]["band"]
        others = [n for n, c in report["columns"].items() if n != column and c["band"] != "stable"]
        shifted.append(
            {
                "shift": shift,
                "column": column,
                "psi": report["columns"][column]["psi"],
                "band": got,
                "expected_at_least": expected,
                "ok": ORDER.index(got) >= ORDER.index(expected) and (expected != "stable" or got == "stable"),
                "other_columns_flagged": others,
            }
        )
    return {
        "tables": tables,
        "columns_per_table": 11,
        "false_alarms": false_alarms,
        "shifted": shifted,
        "model": str(model),
    }


def speed(work: Path, model: Path, rows: int) -> dict:
    data = work / "big.parquet"
    scored = work / "big-scored.parquet"
    run(["synth", "--rows", str(rows), "--seed", "5", "--out", str(data)], check=True)
    run(["predict", str(model), str(data), "--out", str(scored), "--no-rank"], check=True)
    report = work / "report.json"
    with report.open("w") as out:
        seconds, rss, code = peak_rss([UPTAKE, "monitor", str(model), str(scored), "--json"], stdout=out)
    inside = json.loads(report.read_text())["seconds"]  # the command's own clock: start-up (imports) excluded
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "monitor_seconds": inside,
        "rows_per_second_after_startup": rows / inside,
        "peak_rss_mib": rss,
        "exit": code,
    }


def audit(work: Path, model: Path, rows: int) -> list[dict]:
    from uptake.audit.writer import AuditLog, Entry
    from uptake.pipeline import Model
    from uptake.synth import make_loan

    m = Model.load(model)
    df = make_loan(10_000, seed=7)
    records = df[m.schema.feature_names].to_dict("records")
    p = m.score(df).probability
    urls = [f"sqlite:///{work / 'audit.sqlite'}"]
    if os.environ.get("UPTAKE_TEST_POSTGRES_URL"):
        urls.append(os.environ["UPTAKE_TEST_POSTGRES_URL"])
    out = []
    for url in urls:
        if url.startswith("postgresql"):
            import sqlalchemy as sa

            from uptake.audit.db import TABLE, VERSION_TABLE

            eng = sa.create_engine(url)
            with eng.begin() as conn:
                conn.execute(
                    sa.text(f"DROP TABLE IF EXISTS {TABLE}, {VERSION_TABLE}, uptake_revoked_sessions, uptake_outcomes")
                )
            eng.dispose()
        log = AuditLog(url, batch_rows=20_000)
        t0 = time.perf_counter()
        for start in range(0, rows, len(records)):
            n = min(len(records), rows - start)
            log.record(
                Entry(
                    time.time(),
                    f"bench-{start}",
                    "file",
                    m.version,
                    m.threshold,
                    1.0,
                    records[:n],
                    p[:n],
                    (p[:n] >= m.threshold).astype(np.int8),
                )
            )
        log.close()
        write_s = time.perf_counter() - t0
        seconds, rss, code = peak_rss([UPTAKE, "monitor", str(model), "--db", url, "--json"])
        out.append(
            {
                "database": url.split(":")[0],
                "rows": rows,
                "write_seconds": write_s,
                "monitor_seconds": seconds,
                "peak_rss_mib": rss,
                "exit": code,
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--table-rows", type=int, default=5000)
    ap.add_argument("--audit-rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "monitor.json")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        t = teeth(work, a.seeds, a.table_rows)
        s = speed(work, Path(t["model"]), a.rows)
        au = audit(work, Path(t["model"]), a.audit_rows) if a.audit_rows else []
    print(f"Drift teeth: {t['tables']} unshifted tables x 11 columns: {t['false_alarms']} false alarms")
    print("| shift | PSI | band | expected | ok | other columns flagged |")
    print("|---|---|---|---|---|---|")
    for r in t["shifted"]:
        print(
            f"| {r['shift']} | {r['psi']:.3f} | {r['band']} | >= {r['expected_at_least']} | {r['ok']} | "
            f"{', '.join(r['other_columns_flagged']) or '-'} |"
        )
    print("| input | rows | seconds | rows/s | peak RSS MiB | target |")
    print("|---|---|---|---|---|---|")
    print(
        f"| Parquet (scored), whole command | {s['rows']:,} | {s['seconds']:.1f} | {s['rows_per_second']:,.0f} | "
        f"{s['peak_rss_mib']:.0f} | >= 1M rows/s, <= 2048 MiB |"
    )
    print(
        f"| Parquet (scored), start-up excluded | {s['rows']:,} | {s['monitor_seconds']:.1f} | "
        f"{s['rows_per_second_after_startup']:,.0f} | | >= 1M rows/s |"
    )
    for r in au:
        print(
            f"| audit log, {r['database']} | {r['rows']:,} | {r['monitor_seconds']:.1f} | "
            f"{r['rows'] / r['monitor_seconds']:,.0f} | {r['peak_rss_mib']:.0f} | <= 30 s |"
        )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"teeth": t, "parquet": s, "audit": au}, indent=1))
    tmp.replace(a.out)


if __name__ == "__main__":
    main()
