"""The champion benchmark: uptake's models against peer libraries on identical folds.

uptake's rows come from ``uptake compare`` (its API) on ``--cv 2x5 --seed 0``; the
peers (CatBoost, random forest, LightGBM with fixed rounds, XGBoost and, with
``--autogluon``, AutoGluon ``best_quality``) run in a benchmark-only virtual
environment this script creates (``bench/.peers-venv``, never the product's lock)
through ``bench/peers.py``, which rebuilds the same folds and prints each fold's test
fingerprint so equality is checked, not assumed.

    python bench/champion.py [--data CSV] [--models lightgbm,catboost,auto] [--peers catboost,rf,lightgbm,xgboost]
                             [--autogluon] [--cv 2x5]

Prints a table (mean +- std PR-AUC and ROC-AUC over the folds, mean fit seconds, the
difference to the best peer) and writes bench/results/champion.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".peers-venv"
#: The peers' versions (the benchmark's, not the product's).
PEER_PACKAGES = ["pandas", "scikit-learn", "lightgbm==4.7.0", "catboost==1.2.10", "xgboost==3.2.0"]
AUTOGLUON = "autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3"


def peer_python(autogluon: bool) -> Path:
    py = VENV / "bin" / "python"
    uv = ROOT / ".tools" / "bin" / "uv"
    if not py.exists():
        subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(VENV)], check=True)
    packages = PEER_PACKAGES + ([AUTOGLUON] if autogluon else [])
    subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(py), *packages], check=True)
    return py


def run_peers(py: Path, data: Path, cv: str, peers: str, seconds: float) -> pd.DataFrame:
    cmd = [
        str(py),
        str(ROOT / "bench" / "peers.py"),
        str(data),
        "Personal Loan",
        "--drop",
        "ID,ZIP Code",
        "--cv",
        cv,
        "--peers",
        peers,
        "--autogluon-seconds",
        str(seconds),
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return pd.DataFrame([json.loads(line) for line in out.splitlines() if line.startswith("{")])


def run_uptake(data: Path, cv: str, models: str) -> pd.DataFrame:
    sys.path.insert(0, str(ROOT / "src"))
    from uptake.evaluate.compare.cv import compare
    from uptake.io.tables import read_table

    result = compare(read_table(data), cv=cv, models=models, seed=0, source=data)
    folds = pd.DataFrame(result.folds)
    return pd.DataFrame(
        {
            "peer": "uptake " + folds["model"],
            "fold": folds["fold"],
            "fingerprint": folds["test_sha"],
            "pr_auc": folds["pr_auc"],
            "roc_auc": folds["roc_auc"],
            "fit_seconds": folds["fit_seconds"],
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data"))
        / "Bank_Personal_Loan_Modelling.csv",
    )
    ap.add_argument("--cv", default="2x5")
    ap.add_argument("--models", default="lightgbm,catboost,auto")
    ap.add_argument("--peers", default="catboost,rf,lightgbm,xgboost")
    ap.add_argument("--autogluon", action="store_true")
    ap.add_argument("--autogluon-seconds", type=float, default=60)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "champion.json")
    a = ap.parse_args()
    peers = a.peers + (",autogluon" if a.autogluon else "")
    started = time.time()
    frames = [run_uptake(a.data, a.cv, a.models)] if a.models else []
    if peers:
        frames.append(run_peers(peer_python(a.autogluon), a.data, a.cv, peers, a.autogluon_seconds))
    folds = pd.concat(frames, ignore_index=True)
    same = folds.groupby("fold")["fingerprint"].nunique().max() == 1
    board = (
        folds.groupby("peer")
        .agg(
            pr_auc=("pr_auc", "mean"),
            pr_std=("pr_auc", "std"),
            roc_auc=("roc_auc", "mean"),
            fit_s=("fit_seconds", "mean"),
            folds=("fold", "count"),
        )
        .sort_values("pr_auc", ascending=False)
    )
    peer_rows = board[~board.index.str.startswith("uptake ")]
    best_peer = peer_rows["pr_auc"].max() if len(peer_rows) else np.nan
    print(f"{a.cv} folds identical for every row: {same}")
    best_name = peer_rows["pr_auc"].idxmax() if len(peer_rows) else None
    print(
        f"| model | PR-AUC | ROC-AUC | fit s/fold | vs best peer ({best_name}) | paired diff +- std "
        "| folds won/tied/lost (tied: within 0.0001) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, r in board.iterrows():
        won = paired = ""
        if best_name is not None and name != best_name:
            mine = folds[folds["peer"] == name].set_index("fold")["pr_auc"]
            diff = mine - folds[folds["peer"] == best_name].set_index("fold")["pr_auc"].reindex(mine.index)
            paired = f"{diff.mean():+.4f} +- {diff.std():.4f}"
            won = f"{int((diff > 1e-4).sum())}/{int((diff.abs() <= 1e-4).sum())}/{int((diff < -1e-4).sum())}"
        print(
            f"| {name} | {r.pr_auc:.4f} +- {r.pr_std:.4f} | {r.roc_auc:.4f} | {r.fit_s:.1f} | "
            f"{r.pr_auc - best_peer:+.4f} | {paired} | {won} |"
        )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            {
                "cv": a.cv,
                "identical_folds": bool(same),
                "seconds": time.time() - started,
                "board": board.reset_index().to_dict("records"),
                "folds": folds.to_dict("records"),
            },
            indent=1,
        )
    )
    tmp.replace(a.out)


if __name__ == "__main__":
    main()
