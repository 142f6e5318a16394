"""Benchmark: `uptake compare` with every model on the real 5000-row bank table (5x2 CV).

Reports the wall time of the whole comparison (target: <= 5 minutes on this
2-core machine), the leaderboard, whether the ensemble's PR-AUC is at least
LightGBM's on the same folds, and the best single model with its lead (paired over
folds).

The straightforward way, for the ratio: the same networks fitted on the same folds
without the run's shared XLA compilation cache (every new Keras network compiles
its programs afresh). Measured on a 1x2 slice with the ``seed`` and ``tutorial``
networks, so the bench does not pay for a second full comparison.

Run::

    .venv/bin/python bench/compare.py [--cv 5x2] [--models a,b] [--jobs 2] [--no-baseline]

Writes bench/results/compare.json (and the usual compare.json/csv/png under
bench/results/compare/). Timings on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS = 300.0


def data_path() -> Path:
    d = Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data"))
    return d / "Bank_Personal_Loan_Modelling.csv"


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the --jobs workers)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def timed_compare(df, **kwargs):
    from uptake.evaluate.compare.cv import compare

    start = time.perf_counter()
    cpu = _cpu()
    result = compare(df, **kwargs)
    return result, time.perf_counter() - start, _cpu() - cpu


def baseline(df, seed: int) -> dict:
    """Same 1x2 slice with and without the shared compilation cache."""
    out = {}
    for label, env in (("shared-cache", "0"), ("no-cache (straightforward)", "1")):
        os.environ["UPTAKE_NO_COMPILE_CACHE"] = env
        _, wall, cpu = timed_compare(df, cv="1x2", models="seed,tutorial", seed=seed)
        out[label] = {"wall_s": wall, "cpu_s": cpu}
    os.environ.pop("UPTAKE_NO_COMPILE_CACHE", None)
    out["ratio_wall"] = out["no-cache (straightforward)"]["wall_s"] / out["shared-cache"]["wall_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", default="5x2")
    ap.add_argument("--models", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="folds fitted at once (uptake compare --jobs)")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()

    from rich.console import Console

    import uptake  # noqa: F401
    from uptake.cli.compare import leaderboard_table, summary_lines
    from uptake.evaluate.compare.outputs import save_outputs
    from uptake.io.tables import read_table

    console = Console(width=150, highlight=False)
    path = data_path()
    df = read_table(path)
    load = os.getloadavg()[0]
    result, wall, cpu = timed_compare(
        df,
        cv=args.cv,
        models=args.models,
        seed=args.seed,
        source=path,
        n_jobs=args.jobs,
        progress=lambda d, t, label: print(f"  [{d}/{t}] {label}", file=sys.stderr, flush=True),
    )
    save_outputs(result, RESULTS / "compare")
    console.print(leaderboard_table(result))
    for line in summary_lines(result.summary):
        console.print(line)
    s = result.summary
    vs = s.get("ensemble_vs_lightgbm")
    lead = s.get("best_single_lead")
    console.print(
        f"Wall time: {wall:.1f} s with --jobs {args.jobs} (CPU {cpu:.1f} s incl. workers; load average at start {load:.1f} on "
        f"{os.cpu_count()} cores) -> target <= {TARGET_SECONDS:.0f} s: "
        f"{'met' if wall <= TARGET_SECONDS else 'MISSED'}"
    )
    if vs:
        console.print(
            f"Ensemble PR-AUC >= LightGBM's: {'yes' if vs['ensemble_at_least_lightgbm'] else 'NO'} "
            f"({vs['mean_difference']:+.4f})"
        )
    if lead:
        console.print(
            f"Best single model: {lead['model']}, leads {lead['versus']} by {lead['mean_difference']:.4f} PR-AUC"
        )
    report = {
        "benchmark": "compare",
        "data": str(path),
        "cv": args.cv,
        "jobs": args.jobs,
        "wall_s": wall,
        "cpu_s": cpu,
        "target_s": TARGET_SECONDS,
        "target_met": wall <= TARGET_SECONDS,
        "load_average_at_start": load,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "leaderboard": result.to_dict()["leaderboard"],
        "summary": result.to_dict()["summary"],
    }
    if not args.no_baseline:
        b = baseline(df, args.seed)
        report["compile_cache"] = b
        console.print(
            f"Compilation cache, 1x2 slice with seed+tutorial: {b['shared-cache']['wall_s']:.1f} s shared vs "
            f"{b['no-cache (straightforward)']['wall_s']:.1f} s straightforward (x{b['ratio_wall']:.2f})"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compare.json").write_text(json.dumps(report, indent=2))
    console.print(f"Wrote {RESULTS / 'compare.json'}")


if __name__ == "__main__":
    main()
