"""Repeated stratified CV of the networks against LightGBM and logistic regression on the real table.

Every model sees identical folds (RepeatedStratifiedKFold, seed 0) and, inside each
training fold, the identical stratified 20% validation part, used for early
stopping and for choosing the max-F1 threshold. The networks go through the very
code ``uptake train`` runs (``uptake.train.prepare`` / ``fit_split``); the
reference models get the same preprocessing (fitted on the training part only).

    .venv/bin/python bench/cv_core.py                       # all four, 5-fold x 2
    .venv/bin/python bench/cv_core.py --models seed,lightgbm --repeats 1

Prints a table (mean +- std over folds) and writes bench/results/cv_core.json.
Targets (issue 2): seed PR-AUC ~0.94 and recall@0.5 ~0.90; default PR-AUC >= 0.975
and F1 >= 0.92 at the validation-tuned threshold. References: LightGBM 0.982, logistic 0.81.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

import uptake  # noqa: F401  (pins the Keras backend before anything imports keras)
from uptake.decide.metrics import metrics
from uptake.decide.thresholds import best_f1_threshold
from uptake.features import build_preprocessor, transform
from uptake.io.tables import read_table
from uptake.train import TrainConfig, fit_split, prepare

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UPTAKE_DATA_DIR", REPO.parent / "shared" / "data")) / "Bank_Personal_Loan_Modelling.csv"
RESULTS = REPO / "bench" / "results" / "cv_core.json"
NETWORKS = ("seed", "tutorial", "default")
REFERENCE = {"lightgbm": 0.982, "seed": 0.942, "logistic": 0.81}


def folds(y: np.ndarray, n_splits: int, repeats: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(train, validation, test) indices; computed once so every model sees the same ones."""
    out = []
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=repeats, random_state=seed)
    for train_val, test in cv.split(np.zeros(len(y)), y):
        train, val = train_test_split(train_val, test_size=0.2, stratify=y[train_val], random_state=seed)
        out.append((np.sort(train), np.sort(val), test))
    return out


def fit_network(prepared, preset: str, tr, va, epochs: int | None) -> tuple[Any, float]:
    fitted = fit_split(prepared, tr, va, TrainConfig(preset=preset, seed=0, epochs=epochs))
    return fitted.pipeline.proba, fitted.threshold


def fit_reference(prepared, name: str, tr, va) -> tuple[Any, float]:
    pre = build_preprocessor(prepared.schema).fit(prepared.clean.iloc[tr])
    x_tr = transform(pre, prepared.clean.iloc[tr])
    if name == "lightgbm":
        from lightgbm import LGBMClassifier

        est = LGBMClassifier(random_state=0, verbose=-1)
    else:
        from sklearn.linear_model import LogisticRegression

        est = LogisticRegression(max_iter=2000)
    est.fit(x_tr, prepared.y[tr])

    def proba(clean):
        return est.predict_proba(transform(pre, clean))[:, 1]

    return proba, best_f1_threshold(prepared.y[va], proba(prepared.clean.iloc[va]))


def run_model(prepared, name: str, splits, epochs: int | None) -> list[dict[str, float]]:
    rows = []
    for k, (tr, va, te) in enumerate(splits):
        start = time.perf_counter()
        if name in NETWORKS:
            proba, threshold = fit_network(prepared, name, tr, va, epochs)
        else:
            proba, threshold = fit_reference(prepared, name, tr, va)
        seconds = time.perf_counter() - start
        p = proba(prepared.clean.iloc[te])
        y = prepared.y[te]
        tuned, at_half = metrics(y, p, threshold), metrics(y, p, 0.5)
        rows.append(
            {
                "fold": k,
                "pr_auc": tuned["pr_auc"],
                "roc_auc": tuned["roc_auc"],
                "f1_tuned": tuned["f1"],
                "threshold": threshold,
                "recall_05": at_half["recall"],
                "f1_05": at_half["f1"],
                "fit_s": seconds,
            }
        )
        print(
            f"  {name:9s} fold {k}: PR-AUC {tuned['pr_auc']:.4f}  F1@tuned {tuned['f1']:.4f}  "
            f"recall@0.5 {at_half['recall']:.4f}  {seconds:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    return rows


COLUMNS = (
    ("pr_auc", "PR-AUC"),
    ("roc_auc", "ROC-AUC"),
    ("f1_tuned", "F1@tuned"),
    ("recall_05", "recall@0.5"),
    ("fit_s", "fit s"),
)


def summarize(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    return {
        k: {"mean": float(np.mean([r[k] for r in rows])), "std": float(np.std([r[k] for r in rows]))}
        for k, _ in COLUMNS
    }


def targets(summary: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "seed" in summary:
        s = summary["seed"]
        out["seed_pr_auc_about_0.94"] = abs(s["pr_auc"]["mean"] - 0.94) <= 0.02
        out["seed_recall_05_about_0.90"] = abs(s["recall_05"]["mean"] - 0.90) <= 0.03
    if "default" in summary:
        d = summary["default"]
        out["default_pr_auc_ge_0.975"] = d["pr_auc"]["mean"] >= 0.975
        out["default_f1_tuned_ge_0.92"] = d["f1_tuned"]["mean"] >= 0.92
    if "default" in summary and "lightgbm" in summary:
        out["default_pr_auc_vs_lightgbm_ratio"] = (
            summary["default"]["pr_auc"]["mean"] / summary["lightgbm"]["pr_auc"]["mean"]
        )
    return out


def table(summary: dict[str, dict[str, dict[str, float]]], n_folds: int) -> str:
    head = f"{'model':10s}" + "".join(f"{label:>18s}" for _, label in COLUMNS) + f"{'ref PR-AUC':>12s}"
    lines = [f"{n_folds} folds (stratified, seed 0, identical for every model); mean +- std", head, "-" * len(head)]
    for name, s in summary.items():
        cells = "".join(
            f"{s[k]['mean']:>10.4f} +-{s[k]['std']:.4f}"
            if k != "fit_s"
            else f"{s[k]['mean']:>11.1f} +-{s[k]['std']:5.1f}"
            for k, _ in COLUMNS
        )
        ref = REFERENCE.get(name)
        lines.append(f"{name:10s}{cells}{(f'{ref:.3f}' if ref else '-'):>12s}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--models",
        default="seed,default,lightgbm,logistic",
        help="comma list of: seed, tutorial, default, lightgbm, logistic",
    )
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None, help="override the networks' epochs (smoke runs only)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in (*NETWORKS, "lightgbm", "logistic")]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}")

    df = read_table(DATA)
    prepared = prepare(df, TrainConfig(), DATA)
    splits = folds(prepared.y, args.folds, args.repeats)
    per_fold, summary = {}, {}
    started = time.time()
    load = os.getloadavg()
    for name in models:
        per_fold[name] = run_model(prepared, name, splits, args.epochs)
        summary[name] = summarize(per_fold[name])
    text = table(summary, len(splits))
    print(text)
    met = targets(summary)
    for k, v in met.items():
        print(f"{k}: {v if isinstance(v, bool) else f'{v:.4f}'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "data": str(DATA),
        "folds": args.folds,
        "repeats": args.repeats,
        "seed": 0,
        "epochs_override": args.epochs,
        "summary": summary,
        "per_fold": per_fold,
        "targets": met,
        "reference_pr_auc": REFERENCE,
        "wall_s": time.time() - started,
        "loadavg_at_start": load,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "table": text,
    }
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
