"""Benchmark: `uptake report` on the real 5000-row bank table (target: <= 10 s).

Measures, on the same model and data in the same run:

* ``cli``: the whole command as a user runs it, ``uptake report MODEL --data bank.csv``
  in a fresh process (imports of Keras/JAX/matplotlib included);
* ``in-process``: ``uptake.report.build_report`` in a warm process, with the
  per-stage breakdown (load, score, each section, write);
* the straightforward way, for the ratio: the same report with SHAP importance added
  (``--shap``: a permutation explainer on 100 customers against 50 background rows,
  the usual way to explain a model), in a fresh process.

The model is the session test model's recipe (``seed`` preset, 8 epochs), trained
once into a temporary directory unless ``--model`` names one. Timings on this shared
2-core machine are noisy; the JSON keeps the load average.

Run::

    .venv/bin/python bench/report.py [--model DIR] [--no-shap]

Writes bench/results/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
UPTAKE = ROOT / ".venv" / "bin" / "uptake"
TARGET_SECONDS = 10.0


def data_path() -> Path:
    d = Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data"))
    return d / "Bank_Personal_Loan_Modelling.csv"


def train_model(out: Path, data: Path) -> Path:
    import uptake  # noqa: F401
    from uptake.train import TrainConfig, save, train_file

    save(train_file(data, TrainConfig(preset="seed", epochs=8, seed=0)), out)
    return out


def run_cli(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of one fresh `uptake` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([str(UPTAKE), *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"uptake {' '.join(args)} failed: {proc.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model directory (default: train the seed preset, 8 epochs)")
    ap.add_argument("--no-shap", action="store_true", help="skip the SHAP (straightforward) run")
    args = ap.parse_args()
    data = data_path()
    tmp = Path(tempfile.mkdtemp(prefix="uptake-bench-report-"))
    model = args.model or train_model(tmp / "model", data)

    cli_s, cli_cpu = run_cli(["report", str(model), "--data", str(data), "--out", str(tmp / "cli.html")])

    import uptake  # noqa: F401
    from uptake.report import build_report

    build_report(model, tmp / "warmup.html", data=data)  # compile the network's forward pass, warm caches
    start, cpu = time.perf_counter(), time.process_time()
    warm = build_report(model, tmp / "warm.html", data=data)
    warm_s, warm_cpu = time.perf_counter() - start, time.process_time() - cpu

    shap_s, shap_cpu = (
        (None, None)
        if args.no_shap
        else run_cli(["report", str(model), "--data", str(data), "--out", str(tmp / "shap.html"), "--shap"])
    )

    size = (tmp / "cli.html").stat().st_size
    rows = [
        ("uptake report (CLI, fresh process)", cli_s, cli_cpu),
        ("build_report (warm process)", warm_s, warm_cpu),
    ]
    if shap_s is not None:
        rows.append(("straightforward: + SHAP importance (CLI)", shap_s, shap_cpu))
    print(f"{'run':<44} {'wall s':>8} {'cpu s':>8}")
    print("-" * 62)
    for name, s, c in rows:
        print(f"{name:<44} {s:>8.2f} {c:>8.2f}")
    print("-" * 62)
    print("warm build_report by stage (wall s):")
    for stage, s in warm.seconds.items():
        print(f"  {stage:<42} {s:>8.2f}")
    ratio = shap_s / cli_s if shap_s is not None else None
    if ratio is not None:
        print(f"ratio straightforward / ours (CLI wall): {ratio:.1f}x, (CLI cpu): {shap_cpu / cli_cpu:.1f}x")
    met = cli_s <= TARGET_SECONDS
    print(
        f"target <= {TARGET_SECONDS:g} s for the 5000-row table: {'met' if met else 'MISSED'} "
        f"({cli_s:.2f} s wall, {cli_cpu:.2f} s cpu for the CLI)"
    )
    print(f"report size {size / 1e6:.2f} MB, {len(warm.figures)} figures; load average {os.getloadavg()}")
    result = {
        "bench": "report",
        "rows": 5000,
        "cli_seconds": cli_s,
        "cli_cpu_seconds": cli_cpu,
        "warm_seconds": warm_s,
        "warm_cpu_seconds": warm_cpu,
        "warm_stages": warm.seconds,
        "shap_cli_seconds": shap_s,
        "shap_cli_cpu_seconds": shap_cpu,
        "ratio_shap_over_ours": ratio,
        "target_seconds": TARGET_SECONDS,
        "target_met": met,
        "report_bytes": size,
        "figures": warm.figures,
        "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    from uptake.io.jsonable import write_json as write_json_atomic

    write_json_atomic(RESULTS / "report.json", result)
    print(
        json.dumps(
            {k: result[k] for k in ("cli_seconds", "cli_cpu_seconds", "warm_seconds", "shap_cli_seconds", "target_met")}
        )
    )


if __name__ == "__main__":
    sys.exit(main())
