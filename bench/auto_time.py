"""Benchmark: does ``--model auto --time-limit`` keep its limit, and what does more time buy?

Runs the real ``uptake train --model auto --time-limit T`` on the bank table for each
limit and reads the model's leaderboard: the search's wall time (``search_seconds``,
from the first fit to the weights; start-up, reading and saving excluded, as the
issue defines it) against ``T`` (target: at most ``T`` + 10%), the whole command's
wall time, how many candidates ran, and the test PR-AUC.

    python bench/auto_time.py [--limits 5,15,30,60,120]

Writes bench/results/auto_time.json.
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

ROOT = Path(__file__).resolve().parents[1]
UPTAKE = str(Path(sys.executable).with_name("uptake"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limits", default="5,15,30,60,120")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data"))
                    / "Bank_Personal_Loan_Modelling.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "auto_time.json")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for limit in (float(x) for x in a.limits.split(",")):
            out = Path(d) / f"auto-{limit:g}"
            t0 = time.perf_counter()
            subprocess.run([UPTAKE, "train", str(a.data), "--model", "auto", "--time-limit", str(limit), "--out",
                            str(out)], check=True, capture_output=True)
            wall = time.perf_counter() - t0
            meta = json.loads((out / "metadata.json").read_text())
            side = json.loads((out / "estimator" / "auto.json").read_text())
            trained = [e["name"] for e in side["leaderboard"] if e["status"] == "trained"]
            rows.append({"limit": limit, "search_seconds": side["search_seconds"], "command_seconds": wall,
                         "within_limit_plus_10pct": side["search_seconds"] <= 1.1 * limit,
                         "candidates_trained": len(trained), "weights": side["weights"],
                         "test_pr_auc": meta["metrics"]["test"]["pr_auc"]})
    print("| --time-limit | search s | within +10% | whole command s | candidates | test PR-AUC | weights |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        w = ", ".join(f"{k} {v:.2f}" for k, v in r["weights"].items())
        print(f"| {r['limit']:g} | {r['search_seconds']:.1f} | {r['within_limit_plus_10pct']} | "
              f"{r['command_seconds']:.1f} | {r['candidates_trained']} | {r['test_pr_auc']:.4f} | {w} |")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rows, indent=1))
    tmp.replace(a.out)


if __name__ == "__main__":
    main()
