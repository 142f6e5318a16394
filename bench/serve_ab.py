"""Benchmark: two versions of `uptake serve` side by side, on the same model, interleaved.

Answers "did this release make serving slower?" on a noisy 2-core machine, where one
run of ``bench/serve_load.py`` per version differs by more than the change being
measured. Trains the tests' quick model once (with the earlier version's code,
whose models the later one loads), then for each round starts the server
of each version (its ``src`` first on ``PYTHONPATH``; the order alternates between
rounds) and measures, with the helpers of ``bench/serve_load.py``:

* one client, one request at a time: p50 and p99 latency, and the server's CPU time
  per request (``/proc/PID/stat``, the audit writer's work included: the least noisy
  of the three);
* 32 connections (wrk): requests per second and errors;
* after a graceful stop: audit rows against predictions served (nothing lost).

Medians over the rounds are compared as ratios after/before. Run::

    git worktree add --detach /tmp/before v0.x          # the release to compare against
    .venv/bin/python bench/serve_ab.py --before /tmp/before/src --after src --rounds 4

Writes bench/results/serve_ab.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_load as sl

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(src: Path, model: Path, tmp: Path, tag: str, duration: float) -> dict[str, Any]:
    os.environ["PYTHONPATH"] = str(src.resolve())
    db = f"sqlite:///{tmp / f'audit-{tag}.sqlite'}"
    script, bodies = sl.lua_script(tmp, model), sl.real_bodies(model)
    server = sl.Server(model, db, fast=True, workers=1)
    sl.one_client(server.port, bodies, 3)  # warm-up
    c0 = cpu_seconds(server.proc.pid)
    one = sl.one_client(server.port, bodies, duration)
    time.sleep(1.0)  # the audit writer catches up: its CPU belongs to these requests
    cpu_us = (cpu_seconds(server.proc.pid) - c0) / max(one["requests"], 1) * 1e6
    sl.wrk(server.url, script, 4, 3)
    many = sl.wrk(server.url, script, 32, duration)
    served = server.get_health()["predictions_served"]
    server.stop()
    return {
        "p50_ms": one["p50_ms"],
        "p99_ms": one["p99_ms"],
        "cpu_us_per_request": round(cpu_us, 1),
        "rps_32": many["rps"],
        "errors_32": many["errors"],
        "lost": served - sl.count_audit(db),
    }


def train_with(src: Path, out: Path) -> Path:
    """The quick model trained by the earlier version's code: newer code loads older models, not the reverse."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import serve_load as sl; "
        "sl.train_model(Path(sys.argv[2]))"
    )
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent), str(out)], check=True, env=env)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="src directory of the earlier version")
    ap.add_argument("--after", type=Path, default=ROOT / "src", help="src directory of the later version")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per load test")
    a = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="uptake-serve-ab-") as name:
        tmp = Path(name)
        model = train_with(a.before, tmp / "model")
        for r in range(a.rounds):
            order = [("before", a.before), ("after", a.after)]
            for version, src in order if r % 2 == 0 else order[::-1]:
                runs[version].append(measure(src, model, tmp, f"{version}-{r}", a.duration))
                print(version, r, runs[version][-1], flush=True)
    keys = ("p50_ms", "p99_ms", "cpu_us_per_request", "rps_32")
    med = {v: {k: statistics.median(x[k] for x in rs) for k in keys} for v, rs in runs.items()}
    print(f"\n| measure (median of {a.rounds} rounds) | before | after | after/before |")
    print("|---|---|---|---|")
    for k in keys:
        print(f"| {k} | {med['before'][k]:.2f} | {med['after'][k]:.2f} | {med['after'][k] / med['before'][k]:.3f} |")
    lost = {v: sum(x["lost"] for x in rs) for v, rs in runs.items()}
    errors = {v: sum(x["errors_32"] for x in rs) for v, rs in runs.items()}
    print(f"| audit rows lost (all rounds) | {lost['before']} | {lost['after']} | |")
    print(f"| errors at 32 connections | {errors['before']} | {errors['after']} | |")
    out = ROOT / "bench" / "results" / "serve_ab.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(
        json.dumps(
            {
                "before": str(a.before),
                "after": str(a.after),
                "median": med,
                "lost": lost,
                "errors_32": errors,
                "runs": runs,
                "loadavg": os.getloadavg(),
            },
            indent=1,
        )
    )
    tmp_out.replace(out)


if __name__ == "__main__":
    main()
