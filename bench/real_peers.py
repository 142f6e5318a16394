"""The peer libraries on one real table's split (run by bench/real_tables.py in the benchmark-only venv).

Reads the train and holdout CSVs with pandas, keeps the columns uptake kept, makes text
columns pandas categories (the peers' own way with them), trains each peer on the whole
training file, and prints one JSON line per peer: holdout PR-AUC, ROC-AUC, seconds and
peak RSS of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time

import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score


def frames(train: str, holdout: str, target: str, features: list[str]):
    tr, te = pd.read_csv(train), pd.read_csv(holdout)
    y_tr, y_te = tr[target].to_numpy(), te[target].to_numpy()
    X_tr, X_te = tr[features].copy(), te[features].copy()
    for c in features:
        if not pd.api.types.is_numeric_dtype(X_tr[c]):
            cats = pd.CategoricalDtype(sorted(set(X_tr[c].dropna()) | set(X_te[c].dropna())))
            X_tr[c], X_te[c] = X_tr[c].astype(cats), X_te[c].astype(cats)
    return X_tr, y_tr.astype(int), X_te, y_te.astype(int)


def lightgbm(X, y, Xt, seed, seconds):
    import lightgbm as lgb  # the plain LightGBM: 400 trees, rate 0.05, 15 leaves, all training rows

    m = lgb.LGBMClassifier(n_estimators=400, learning_rate=0.05, num_leaves=15, random_state=seed, verbose=-1, n_jobs=2)
    return m.fit(X, y).predict_proba(Xt)[:, 1]


def catboost(X, y, Xt, seed, seconds):
    from catboost import CatBoostClassifier

    cats = [c for c in X.columns if str(X[c].dtype) == "category"]
    X, Xt = X.copy(), Xt.copy()
    for c in cats:
        X[c], Xt[c] = X[c].astype(str), Xt[c].astype(str)
    m = CatBoostClassifier(random_seed=seed, thread_count=2, verbose=False, allow_writing_files=False)
    return m.fit(X, y, cat_features=cats).predict_proba(Xt)[:, 1]


def xgboost(X, y, Xt, seed, seconds):
    import xgboost as xgb

    m = xgb.XGBClassifier(
        n_estimators=400,
        learning_rate=0.05,
        max_depth=6,
        random_state=seed,
        n_jobs=2,
        tree_method="hist",
        enable_categorical=True,
    )
    return m.fit(X, y).predict_proba(Xt)[:, 1]


def autogluon(X, y, Xt, seed, seconds):
    from autogluon.tabular import TabularPredictor

    train = X.copy()
    train["__y"] = y
    with tempfile.TemporaryDirectory() as d:
        p = TabularPredictor(label="__y", eval_metric="average_precision", path=d, verbosity=0)
        # Dynamic stacking's sub-fit failed on the 51,000-row campaign table within 60 s and left the predictor
        # unusable ("Learner is already fit"); without it AutoGluon spends the whole limit on its real fit.
        p.fit(train, presets="best_quality", time_limit=seconds, num_cpus=2, num_gpus=0, dynamic_stacking=False)
        return p.predict_proba(Xt)[1].to_numpy()


PEERS = {"lightgbm": lightgbm, "catboost": catboost, "xgboost": xgboost, "autogluon": autogluon}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("holdout")
    ap.add_argument("target")
    ap.add_argument("--features", required=True)
    ap.add_argument("--peers", default="lightgbm,catboost,xgboost")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    X, y, Xt, yt = frames(a.train, a.holdout, a.target, json.loads(a.features))
    for name in a.peers.split(","):
        t0 = time.perf_counter()
        p = PEERS[name](X, y, Xt, a.seed, a.seconds)
        print(
            json.dumps(
                {
                    "peer": name,
                    "pr_auc": float(average_precision_score(yt, p)),
                    "roc_auc": float(roc_auc_score(yt, p)),
                    "seconds": time.perf_counter() - t0,
                    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
