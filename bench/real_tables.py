"""Benchmark: uptake on real tables it was never built on, as a user runs it, beside the peer libraries.

Every table in ``$UPTAKE_DATA_DIR/real/`` and the bank table, each split once at
random 80/20 (seed 0) by copying its lines (the cells exactly as written: R's
``5e+05``, text categories, identifiers). uptake is run through its CLI with nothing
but ``--target`` (``uptake train TRAIN --target T --model M`` then ``uptake evaluate
MODEL HOLDOUT --json``): every held-out row must be scored (exit 0), and the rows it
flagged are counted. The peers (plain LightGBM as the issue specifies it, CatBoost,
XGBoost, AutoGluon ``best_quality`` with auto's time limit) run in the benchmark-only
venv (``bench/.peers-venv``, never the product's lock) on the same rows and the columns
uptake kept, by ``bench/real_peers.py``. Each row: PR-AUC and ROC-AUC on the holdout,
train seconds and peak RSS (psutil, the whole process tree), rows flagged. Also a line
per table with what uptake decided about its columns. Writes
``bench/results/real_tables.json``; ``--markdown`` prints the table for docs/.

    .venv/bin/python bench/real_tables.py [--models auto,lightgbm,catboost,default] [--peers ...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from champion import peer_python
from scale_score import UPTAKE, measure

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DATA = Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data"))
#: (table, file, target): every table of the data folder, with its documented target.
TABLES = [
    ("bank", "Bank_Personal_Loan_Modelling.csv", "Personal Loan"),
    ("churn", "real/Churn_Modelling.csv", "Exited"),
    ("taiwan-default", "real/UCI_Credit_Card.csv", "default.payment.next.month"),
    ("hillstrom-visit", "real/hillstrom.csv", "visit"),
]
#: uptake's runs: (name, extra options).
MODELS = {
    "auto": ["--model", "auto"],
    "lightgbm": ["--model", "lightgbm"],
    "catboost": ["--model", "catboost"],
    "default": ["--model", "network", "--preset", "default"],
}
#: What a user cannot know: the other outcomes of the campaign table are not inputs.
LEAKS = {"hillstrom-visit": ["conversion", "spend"]}


def split_lines(src: Path, folder: Path, seed: int = 0, test_share: float = 0.2) -> tuple[Path, Path]:
    """A random 80/20 split of the file's lines, every cell exactly as written."""
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0], [r for r in lines[1:] if r.strip()]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    test = set(order[: int(len(rows) * test_share)])
    train_path, test_path = folder / "train.csv", folder / "holdout.csv"
    train_path.write_text("\n".join([header] + [r for i, r in enumerate(rows) if i not in test]) + "\n")
    test_path.write_text("\n".join([header] + [r for i, r in enumerate(rows) if i in test]) + "\n")
    return train_path, test_path


def run_uptake(
    name: str,
    options: list[str],
    train: Path,
    holdout: Path,
    target: str,
    folder: Path,
    drop: list[str],
    time_limit: float,
) -> dict[str, Any]:
    model = folder / f"model-{name}"
    cmd = [*UPTAKE, "train", str(train), "--target", target, "--out", str(model), *options]
    for column in drop:
        cmd += ["--drop", column]
    if name == "auto":
        cmd += ["--time-limit", str(time_limit)]
    fit = measure(cmd)
    out = subprocess.run([*UPTAKE, "evaluate", str(model), str(holdout), "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        return {"model": name, "exit": out.returncode, "error": out.stderr.strip().splitlines()[-1:], **fit}
    result = json.loads(out.stdout)
    card = json.loads((model / "metadata.json").read_text())
    return {
        "model": name,
        "exit": 0,
        "pr_auc": result["pr_auc"],
        "roc_auc": result["roc_auc"],
        "rows": result["rows"]["rows_scored"],
        "rows_read": result["rows"]["rows_read"],
        "flagged": result["rows"]["flagged"],
        **fit,
        "features": [c["name"] for c in card["schema"]["columns"]],
        "kinds": {c["name"]: c["kind"] for c in card["schema"]["columns"]},
        "dropped": card["schema"]["dropped"],
        "warnings": (card["data"].get("summary") or {}).get("warnings", []),
    }


def run_peers(
    py: Path, train: Path, holdout: Path, target: str, features: list[str], peers: str, seconds: float
) -> list[dict[str, Any]]:
    cmd = [
        str(py),
        str(ROOT / "bench" / "real_peers.py"),
        str(train),
        str(holdout),
        target,
        "--features",
        json.dumps(features),
        "--peers",
        peers,
        "--seconds",
        str(seconds),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True)
    found = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0:  # a peer that fails is reported as failed, the others kept
        done = {p["peer"] for p in found}
        error = (out.stderr.strip().splitlines() or ["failed"])[-1][:200]
        found += [{"peer": p, "error": error} for p in peers.split(",") if p not in done]
    return found


def decisions(run: dict[str, Any]) -> str:
    dropped = "; ".join(f"{d['column']}: {d['reason'].split(':')[0]}" for d in run.get("dropped", []))
    kinds: dict[str, int] = {}
    for k in run.get("kinds", {}).values():
        kinds[k] = kinds.get(k, 0) + 1
    kept = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    return f"kept {kept}; dropped {dropped or 'nothing'}" + (
        f"; {len(run['warnings'])} warnings" if run.get("warnings") else ""
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--peers", default="lightgbm,catboost,xgboost,autogluon")
    ap.add_argument("--tables", default=",".join(t for t, _, _ in TABLES))
    ap.add_argument("--time-limit", type=float, default=60.0, help="auto's limit, and AutoGluon's")
    ap.add_argument("--out", type=Path, default=RESULTS / "real_tables.json")
    a = ap.parse_args()
    chosen = set(a.tables.split(","))
    py = peer_python("autogluon" in a.peers) if a.peers else None
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "time_limit": a.time_limit, "tables": {}}
    with tempfile.TemporaryDirectory(prefix="uptake-real-") as tmp:
        for table, file, target in TABLES:
            if table not in chosen:
                continue
            folder = Path(tmp) / table
            folder.mkdir()
            train, holdout = split_lines(DATA / file, folder)
            runs = []
            for name in a.models.split(","):
                runs.append(
                    run_uptake(name, MODELS[name], train, holdout, target, folder, LEAKS.get(table, []), a.time_limit)
                )
                print(
                    json.dumps({k: v for k, v in runs[-1].items() if k not in ("features", "kinds", "dropped")}),
                    flush=True,
                )
            features = next((r["features"] for r in runs if r.get("exit") == 0), [])
            peers = run_peers(py, train, holdout, target, features, a.peers, a.time_limit) if py and features else []
            for p in peers:
                print(json.dumps(p), flush=True)
            report["tables"][table] = {
                "target": target,
                "uptake": runs,
                "peers": peers,
                "decisions": decisions(next((r for r in runs if r.get("exit") == 0), {})),
            }
    a.out.write_text(json.dumps(report, indent=2))
    print_table(report)


def print_table(report: dict[str, Any]) -> None:
    print("\n| table | model | PR-AUC | ROC-AUC | train s | peak RSS MiB | holdout rows scored | rows flagged |")
    print("|---|---|---|---|---|---|---|---|")
    for table, t in report["tables"].items():
        for r in t["uptake"]:
            if r.get("exit") != 0:
                print(f"| {table} | uptake {r['model']} | exit {r['exit']}: {r.get('error')} | | | | | |")
                continue
            print(
                f"| {table} | uptake `{r['model']}` | {r['pr_auc']:.4f} | {r['roc_auc']:.4f} | {r['seconds']:.1f} | "
                f"{r['peak_rss_tree_mib']:,.0f} | {r['rows']:,} of {r['rows_read']:,} | {r['flagged']['rows']:,} |"
            )
        for p in t["peers"]:
            if "error" in p:
                print(f"| {table} | {p['peer']} | failed: {p['error']} | | | | | |")
                continue
            print(
                f"| {table} | {p['peer']} | {p['pr_auc']:.4f} | {p['roc_auc']:.4f} | {p['seconds']:.1f} | "
                f"{p.get('peak_rss_mib', 0):,.0f} | | |"
            )
    print()
    for table, t in report["tables"].items():
        print(f"- **{table}** (`{t['target']}`): {t['decisions']}")


if __name__ == "__main__":
    main()
