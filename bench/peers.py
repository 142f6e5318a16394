"""Peer libraries on uptake compare's folds (run by bench/champion.py inside its benchmark-only venv).

Reads a CSV, rebuilds exactly the folds ``uptake compare --cv RxK --seed S`` uses
(RepeatedStratifiedKFold(K, R, S) over the rows; validation = a stratified 20% of each
training fold, ``train_test_split(..., random_state=S + fold)``), trains each peer and
prints one JSON object per fold and peer: PR-AUC, ROC-AUC, fit seconds, and the test
rows' fingerprint (equal to compare's when the folds are the same).

Usage: python bench/peers.py DATA.csv TARGET --drop ID,"ZIP Code" --cv 2x5 --peers catboost,rf,lightgbm,xgboost[,autogluon]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split


def fingerprint(idx: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(np.sort(idx), dtype=np.int64).tobytes()).hexdigest()[:16]


def catboost(Xf, yf, Xv, yv, Xt, seed):
    from catboost import CatBoostClassifier

    m = CatBoostClassifier(
        iterations=3000,
        learning_rate=0.05,
        eval_metric="PRAUC",
        random_seed=seed,
        thread_count=2,
        verbose=False,
        allow_writing_files=False,
    )
    m.fit(Xf, yf, eval_set=(Xv, yv), early_stopping_rounds=200, use_best_model=True)
    return m.predict_proba(Xt)[:, 1]


def rf(Xf, yf, Xv, yv, Xt, seed):
    from sklearn.ensemble import RandomForestClassifier

    m = RandomForestClassifier(n_estimators=500, n_jobs=2, random_state=seed)
    m.fit(np.vstack([Xf, Xv]), np.concatenate([yf, yv]))
    return m.predict_proba(Xt)[:, 1]


def lightgbm(Xf, yf, Xv, yv, Xt, seed):
    import lightgbm as lgb

    m = lgb.LGBMClassifier(n_estimators=400, learning_rate=0.05, num_leaves=15, random_state=seed, verbose=-1, n_jobs=2)
    m.fit(np.vstack([Xf, Xv]), np.concatenate([yf, yv]))
    return m.predict_proba(Xt)[:, 1]


def xgboost(Xf, yf, Xv, yv, Xt, seed):
    import xgboost as xgb

    m = xgb.XGBClassifier(
        n_estimators=3000,
        learning_rate=0.05,
        max_depth=6,
        eval_metric="aucpr",
        early_stopping_rounds=200,
        random_state=seed,
        n_jobs=2,
        tree_method="hist",
    )
    m.fit(Xf, yf, eval_set=[(Xv, yv)], verbose=False)
    return m.predict_proba(Xt)[:, 1]


def autogluon(Xf, yf, Xv, yv, Xt, seed, columns=None, time_limit=60):
    from autogluon.tabular import TabularPredictor

    train = pd.DataFrame(np.vstack([Xf, Xv]), columns=columns)
    train["__y"] = np.concatenate([yf, yv])
    with tempfile.TemporaryDirectory() as d:
        p = TabularPredictor(label="__y", eval_metric="average_precision", path=d, verbosity=0)
        p.fit(train, presets="best_quality", time_limit=time_limit, num_cpus=2, num_gpus=0)
        return p.predict_proba(pd.DataFrame(Xt, columns=columns))[1].to_numpy()


PEERS = {"catboost": catboost, "rf": rf, "lightgbm": lightgbm, "xgboost": xgboost, "autogluon": autogluon}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("target")
    ap.add_argument("--drop", default="")
    ap.add_argument("--cv", default="2x5")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peers", default="catboost,rf,lightgbm,xgboost")
    ap.add_argument("--autogluon-seconds", type=float, default=60)
    a = ap.parse_args()
    df = pd.read_csv(a.data)
    y = df[a.target].to_numpy().astype(int)
    X = df.drop(columns=[a.target, *[c for c in a.drop.split(",") if c]])
    columns = list(X.columns)
    X = X.to_numpy(dtype=np.float64)
    repeats, folds = (int(v) for v in a.cv.lower().split("x"))
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=a.seed)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fit_idx, val_idx = train_test_split(train_idx, test_size=0.2, stratify=y[train_idx], random_state=a.seed + fold)
        fit_idx, val_idx, test_idx = np.sort(fit_idx), np.sort(val_idx), np.sort(test_idx)
        for name in a.peers.split(","):
            t0 = time.perf_counter()
            kwargs = {"columns": columns, "time_limit": a.autogluon_seconds} if name == "autogluon" else {}
            p = PEERS[name](X[fit_idx], y[fit_idx], X[val_idx], y[val_idx], X[test_idx], a.seed, **kwargs)
            print(
                json.dumps(
                    {
                        "peer": name,
                        "fold": fold,
                        "fingerprint": fingerprint(test_idx),
                        "pr_auc": float(average_precision_score(y[test_idx], p)),
                        "roc_auc": float(roc_auc_score(y[test_idx], p)),
                        "fit_seconds": time.perf_counter() - t0,
                    }
                ),
                flush=True,
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
