"""Wall time of ``uptake train`` on the real 5000-row CSV, start-up included.

Each CLI run is a fresh ``uptake`` subprocess, exactly what an analyst types. It is
compared in the same run with the straightforward floor: the same training through
the Python API (``uptake.train.train_file`` + ``save``) timed inside an
already-started interpreter, so the ratio is what start-up, imports and printing
add on top of the work itself.

    .venv/bin/python bench/train_time.py                     # seed and default presets
    .venv/bin/python bench/train_time.py --presets seed --repeats 3

Targets (issue 2, 2-core machine): seed <= 15 s, default <= 60 s. Prints a table and
writes bench/results/train_time.json; the 1-minute load average is recorded with
every run because the machine is shared and timings under load are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UPTAKE_DATA_DIR", REPO.parent / "shared" / "data")) / "Bank_Personal_Loan_Modelling.csv"
UPTAKE = Path(sys.executable).parent / "uptake"
RESULTS = REPO / "bench" / "results" / "train_time.json"
TARGETS = {"seed": 15.0, "default": 60.0, "tutorial": 60.0}

API_SNIPPET = """
import sys, time, json
import uptake
from uptake.train import TrainConfig, save, train_file
import keras  # imports paid before the clock starts: this is the floor without start-up
start = time.perf_counter()
trained = train_file(sys.argv[1], TrainConfig(preset=sys.argv[2], seed=0))
save(trained, sys.argv[3])
print(json.dumps({"api_s": time.perf_counter() - start}))
"""


def timed(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], dict[str, float]]:
    """Run a subprocess; wall seconds and the child's CPU seconds (user+sys)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{res.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res, {"wall_s": wall, "cpu_s": cpu, "load_1min": load}


def cli_run(preset: str, out: Path) -> dict[str, float]:
    return timed([str(UPTAKE), "train", str(DATA), "--preset", preset, "--seed", "0", "--out", str(out)])[1]


def api_run(preset: str, out: Path) -> dict[str, float]:
    res, t = timed([sys.executable, "-c", API_SNIPPET, str(DATA), preset, str(out)])
    return {**t, "api_s": json.loads(res.stdout.strip().splitlines()[-1])["api_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="seed,default")
    ap.add_argument("--repeats", type=int, default=1, help="CLI runs per preset (the fastest is reported)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="uptake-bench-") as tmp:
        for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
            out = Path(tmp) / f"model-{preset}"
            runs = [cli_run(preset, out) for _ in range(max(1, args.repeats))]
            best = min(runs, key=lambda r: r["wall_s"])
            api = api_run(preset, out)
            target = TARGETS.get(preset)
            rows.append(
                {
                    "preset": preset,
                    "target_s": target,
                    "cli": best,
                    "cli_runs": runs,
                    "api": api,
                    "ratio_cli_over_api": best["wall_s"] / api["api_s"],
                    "target_met": target is None or best["wall_s"] <= target,
                }
            )
            print(f"  {preset}: done", file=sys.stderr, flush=True)

    head = (
        f"{'preset':9s}{'uptake train s':>16s}{'cpu s':>8s}{'API only s':>12s}{'ratio':>8s}"
        f"{'target s':>10s}{'met':>6s}{'load':>7s}"
    )
    lines = [
        f"uptake train {DATA.name}: CLI subprocess wall (start-up included) vs the same training "
        f"through the API in a started interpreter; {os.cpu_count()} CPUs",
        head,
        "-" * len(head),
    ]
    for r in rows:
        c = r["cli"]
        lines.append(
            f"{r['preset']:9s}{c['wall_s']:>16.1f}{c['cpu_s']:>8.1f}{r['api']['api_s']:>12.1f}"
            f"{r['ratio_cli_over_api']:>7.2f}x{r['target_s'] or 0:>10.0f}"
            f"{'yes' if r['target_met'] else 'NO':>6s}{c['load_1min']:>7.1f}"
        )
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps({"data": str(DATA), "cpus": os.cpu_count(), "rows": rows, "table": text}, indent=2))
    os.replace(tmp_out, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
