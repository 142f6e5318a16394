"""Benchmark: scoring millions of synthetic loan rows with the `seed` network.

Compares, in one run and on the same files:

* ``uptake predict`` streaming a Parquet file and a CSV file (exact rank, two passes),
  and Parquet with ``--no-rank`` (one pass);
* ``uptake predict --engine dask`` on a 2-worker LocalCluster (Parquet);
* the straightforward way: pandas reads the whole file, the Keras model's
  ``predict`` (default batch size), ``DataFrame.to_csv`` -- per input format;
* the whole-file uptake path (``read_table`` + ``Model.score`` + one ``to_csv``), i.e.
  what ``uptake predict`` did before streaming.

Every case runs as its own child process; wall time and peak RSS (sampled with
psutil every 50 ms over the child and all its descendants, so Dask workers count)
are reported. All outputs are CSV. Run::

    .venv/bin/python bench/scale_score.py --rows 10000000

Writes bench/results/scale_score.json. Timings on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
UPTAKE = [sys.executable, "-c", "from uptake.cli import main; main()"]
CASES = (
    "stream-parquet",
    "stream-csv",
    "stream-parquet-norank",
    "dask-parquet",
    "naive-parquet",
    "naive-csv",
    "whole-parquet",
)


# ---- the straightforward way, run in a child process ------------------------------------------
def naive(model_dir: str, data: str, out: str) -> None:
    """pandas read whole -> Keras model.predict -> to_csv. Validation/preprocessing via the model's own schema."""
    import numpy as np
    import pandas as pd

    import uptake  # noqa: F401
    from uptake.decide import rank_desc
    from uptake.pipeline import Model

    m = Model.load(model_dir)
    df = pd.read_parquet(data) if data.endswith(".parquet") else pd.read_csv(data)
    clean, _ = m.schema.validate(df)
    x = m.features(clean)
    p = m.estimator.models_[0].predict(x, verbose=0)[:, 0].astype(np.float64)
    df["probability"] = p
    df["decision"] = (p >= m.threshold).astype(np.int64)
    df["rank"] = rank_desc(p)
    df.to_csv(out, index=False)


def whole(model_dir: str, data: str, out: str) -> None:
    """uptake's whole-file path: read_table, Model.score, scored_frame, one atomic to_csv."""
    import uptake  # noqa: F401
    from uptake.io.tables import read_table
    from uptake.io.writer import write_frame as write_frame_atomic
    from uptake.pipeline import Model

    m = Model.load(model_dir)
    df = read_table(data)
    write_frame_atomic(Model.frame(df, m.score(df, source=data)), Path(out))


# ---- measuring ------------------------------------------------------------------------------
def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``cmd``; wall seconds and peak RSS of the process and of its whole tree (MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    peak_main = peak_tree = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            rss = []
            for p in procs:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.Error:
                    rss.append(0)
            peak_main = max(peak_main, rss[0])
            peak_tree = max(peak_tree, sum(rss))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{output[-3000:]}")
    return {"seconds": seconds, "peak_rss_mib": peak_main / 2**20, "peak_rss_tree_mib": peak_tree / 2**20}


def prepare(scratch: Path, rows: int) -> tuple[Path, Path, Path]:
    """A seed-preset model and the synthetic loan table as Parquet (1M-row row groups) and CSV."""
    import uptake  # noqa: F401
    from uptake.synth import iter_table_chunks, make_loan, write_table
    from uptake.train import TrainConfig, save, train

    model = scratch / "seed-model"
    if not (model / "metadata.json").exists():
        save(train(make_loan(20_000, seed=11), TrainConfig(preset="seed", epochs=5, seed=0)), model)
    parquet, csv = scratch / f"loan-{rows}.parquet", scratch / f"loan-{rows}.csv"
    if not parquet.exists():
        write_table(iter_table_chunks("loan", rows, seed=7, chunk_rows=1_000_000), parquet)
    if not csv.exists():
        write_table(iter_table_chunks("loan", rows, seed=7, chunk_rows=1_000_000), csv)
    return model, parquet, csv


def command(case: str, model: Path, parquet: Path, csv: Path, out: Path, chunk_rows: int) -> list[str]:
    here = [sys.executable, str(Path(__file__).resolve())]
    predict = [*UPTAKE, "predict", str(model)]
    chunk = ["--chunk-rows", str(chunk_rows)]
    return {
        "stream-parquet": [*predict, str(parquet), "--out", str(out), *chunk],
        "stream-csv": [*predict, str(csv), "--out", str(out), *chunk],
        "stream-parquet-norank": [*predict, str(parquet), "--out", str(out), "--no-rank", *chunk],
        "dask-parquet": [*predict, str(parquet), "--out", str(out), "--engine", "dask", *chunk],
        "naive-parquet": [*here, "--child", "naive", str(model), str(parquet), str(out)],
        "naive-csv": [*here, "--child", "naive", str(model), str(csv), str(out)],
        "whole-parquet": [*here, "--child", "whole", str(model), str(parquet), str(out)],
    }[case]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--chunk-rows", type=int, default=250_000)
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of " + ", ".join(CASES))
    ap.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()) / "uptake-bench-scale")
    ap.add_argument("--merge", action="store_true", help="re-run only --cases and merge them into the last JSON")
    ap.add_argument("--child", nargs=4, metavar=("MODE", "MODEL", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, model, data, out = args.child
        {"naive": naive, "whole": whole}[mode](model, data, out)
        return

    args.scratch.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    model, parquet, csv = prepare(args.scratch, args.rows)
    print(
        f"prepared model and {args.rows:,} rows in {time.perf_counter() - t:.0f} s "
        f"(parquet {parquet.stat().st_size / 2**20:,.0f} MiB, csv {csv.stat().st_size / 2**20:,.0f} MiB)",
        flush=True,
    )
    env = {**os.environ, "UPTAKE_PROGRESS": "0"}
    results: dict[str, dict[str, float]] = {}
    if args.merge and (RESULTS / "scale_score.json").exists():
        last = json.loads((RESULTS / "scale_score.json").read_text())
        if last["rows"] == args.rows:
            results = last["results"]
    for case in [c.strip() for c in args.cases.split(",") if c.strip()]:
        out = args.scratch / f"out-{case}.csv"
        r = measure(command(case, model, parquet, csv, out, args.chunk_rows), env)
        r["rows_per_s"] = args.rows / r["seconds"]
        r["load_avg_1m_after"] = os.getloadavg()[0]
        results[case] = r
        out.unlink(missing_ok=True)
        print(
            f"  {case:<24} {r['seconds']:8.1f} s  {r['rows_per_s']:>10,.0f} rows/s  "
            f"peak RSS {r['peak_rss_mib']:7,.0f} MiB (tree {r['peak_rss_tree_mib']:,.0f})",
            flush=True,
        )

    ratios = {}
    for fmt in ("parquet", "csv"):
        if f"stream-{fmt}" in results and f"naive-{fmt}" in results:
            ratios[f"stream-{fmt} vs naive-{fmt}"] = (
                results[f"naive-{fmt}"]["seconds"] / results[f"stream-{fmt}"]["seconds"]
            )
    if "stream-parquet" in results and "whole-parquet" in results:
        ratios["stream-parquet vs whole-parquet"] = (
            results["whole-parquet"]["seconds"] / results["stream-parquet"]["seconds"]
        )
    if "stream-parquet" in results and "dask-parquet" in results:
        ratios["dask-parquet vs stream-parquet"] = (
            results["stream-parquet"]["seconds"] / results["dask-parquet"]["seconds"]
        )

    print(
        f"\nScoring {args.rows:,} synthetic loan rows, seed network, CSV output "
        f"({os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; shared machine, timings noisy)"
    )
    print(
        f"| {'case':<24} | {'seconds':>8} | {'rows/s':>10} | {'peak RSS MiB':>12} | {'tree RSS MiB':>12} | {'load after':>10} |"
    )
    print(f"|{'-' * 26}|{'-' * 10}|{'-' * 12}|{'-' * 14}|{'-' * 14}|{'-' * 12}|")
    for case in [c for c in CASES if c in results]:
        r = results[case]
        load = r.get("load_avg_1m_after")
        print(
            f"| {case:<24} | {r['seconds']:>8.1f} | {r['rows_per_s']:>10,.0f} | {r['peak_rss_mib']:>12,.0f} | "
            f"{r['peak_rss_tree_mib']:>12,.0f} | {'-' if load is None else f'{load:.1f}':>10} |"
        )
    for name, ratio in ratios.items():
        print(f"speed-up {name}: {ratio:.2f}x")
    stream_peak = max((r["peak_rss_tree_mib"] for c, r in results.items() if c.startswith("stream")), default=None)
    if stream_peak is not None:
        print(
            f"streaming peak RSS {stream_peak:,.0f} MiB (target <= 2048 MiB): {'met' if stream_peak <= 2048 else 'MISSED'}"
        )

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale_score.json").write_text(
        json.dumps(
            {
                "rows": args.rows,
                "chunk_rows": args.chunk_rows,
                "results": results,
                "ratios": ratios,
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_avg_end": os.getloadavg()},
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS / 'scale_score.json'}")


if __name__ == "__main__":
    main()
