"""Benchmark: are the per-customer reasons true to the model and the data?

For each family, one model trained on the bank table (seed 0, default options), saved
and loaded as a user would. On ``--rows`` customers of the table (seeded sample):

* ``age_alone``: share of customers whose three reasons name Age as a column of its own
  (with the correlated-columns groups, Age is explained with Experience as one group);
  ``age_any``: share naming Age at all (alone or in its group). Acceptance is flat across
  ages on this table (9-11%), so Age should rarely be a reason.
* ``agree_first``: share of customers whose first reason (the group and its sign) is the
  first reason of a high-sample Shapley reference (``--reference`` orders against the
  same background): how well the served estimate matches what it estimates.
* ``occlusion_*``: the same figures for the former one-column occlusion (each column set to
  its training median or most frequent category), computed in the same run on the same
  model, against the same reference.
* ``seconds_per_customer``: the served reasons' cost for one customer on the batch path,
  and ``single_ms``: one customer alone, as a web request computes it (compiled path).

For LightGBM the served reasons are its exact TreeSHAP contributions (path-dependent,
against the trees' own cover); its ``agree_first`` says how close the interventional
Shapley reference is to them.

Prints a table and writes bench/results/reasons.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uptake.explain.reasons import baseline, groups_and_background, log_odds, reasons  # noqa: E402
from uptake.explain.shapley import shapley_effects  # noqa: E402
from uptake.io.tables import read_table  # noqa: E402
from uptake.pipeline import Model  # noqa: E402
from uptake.train import TrainConfig, save, train  # noqa: E402

DATA = Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data"))
FAMILIES = ("logreg", "forest", "lightgbm", "catboost", "network", "auto")


def occlusion(model: Model, clean: pd.DataFrame) -> np.ndarray:
    """The former reasons' effects: log-odds moves when one column at a time takes its typical value."""
    names = model.schema.feature_names
    base = baseline(model)
    blocks = [clean]
    for name in names:
        b = clean.copy()
        b[name] = pd.Series([base[name]] * len(clean), index=clean.index, dtype=clean[name].dtype)
        blocks.append(b)
    p = model.raw_proba_clean(pd.concat(blocks, ignore_index=True)).reshape(len(names) + 1, len(clean))
    return log_odds(p[0])[:, None] - log_odds(p[1:]).T


def top(effects: np.ndarray, k: int = 3) -> np.ndarray:
    return np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :k]


def first(effects: np.ndarray) -> np.ndarray:
    """The first reason as a signed index (index + 1, negative when it lowers the chance)."""
    j = top(effects, 1)[:, 0]
    sign = np.sign(effects[np.arange(len(j)), j])
    return (j + 1) * sign


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--reference", type=int, default=256, help="orders in the Shapley reference")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--time-limit", type=float, default=60.0, help="auto's search budget (s)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "reasons.json"))
    args = ap.parse_args()

    df = read_table(DATA / "Bank_Personal_Loan_Modelling.csv")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            cfg = TrainConfig(target="Personal Loan", model=family, seed=0, drop=("ID",))
            if family == "auto":
                cfg.time_limit = args.time_limit
            path = save(train(df, cfg), Path(tmp) / family)
            model = Model.load(path)
            clean = model.validate(df, skip_invalid=True).clean
            clean = clean.sample(min(args.rows, len(clean)), random_state=0)
            groups, background = groups_and_background(model)
            names = model.schema.feature_names
            member = {c: j for j, g in enumerate(groups) for c in g}

            started = time.perf_counter()
            served = reasons(model, clean, 3)
            per_customer = (time.perf_counter() - started) / len(clean)
            one = clean.head(1)
            started = time.perf_counter()
            for _ in range(5):
                reasons(model, one, 3, fast=True)
            single_ms = (time.perf_counter() - started) / 5 * 1000

            _, ref = shapley_effects(model.raw_proba_clean, clean, groups, background, args.reference, seed=1)
            ref_first = first(ref)
            served_first = []
            for rs in served:
                if not rs:
                    served_first.append(0)
                    continue
                j = member[rs[0]["features"][0]]
                served_first.append((j + 1) * (1 if rs[0]["direction"] == "raises" else -1))
            occ = occlusion(model, clean)
            occ_top = top(occ)
            occ_first_col = top(occ, 1)[:, 0]
            occ_first = np.array([(member[names[j]] + 1) * np.sign(occ[i, j]) for i, j in enumerate(occ_first_col)])
            age = names.index("Age") if "Age" in names else None
            row = {
                "family": family,
                "groups": [g for g in groups if len(g) > 1],
                "customers": len(clean),
                "age_alone": float(np.mean([any(r["feature"] == "Age" for r in rs) for rs in served])),
                "age_any": float(np.mean([any("Age" in r["features"] for r in rs) for rs in served])),
                "agree_first": float(np.mean(np.asarray(served_first) == ref_first)),
                "occlusion_age": float(np.mean((occ_top == age).any(axis=1))) if age is not None else None,
                "occlusion_agree_first": float(np.mean(occ_first == ref_first)),
                "seconds_per_customer": per_customer,
                "single_ms": single_ms,
                "reference_orders": args.reference,
            }
            results.append(row)
            print(json.dumps(row), flush=True)

    head = f"{'family':10} {'age alone':>9} {'age any':>8} {'agree 1st':>9} {'occl. age':>9} {'occl. agree':>11} {'ms/cust':>8} {'1 cust ms':>9}"
    print(head)
    for r in results:
        oa = "" if r["occlusion_age"] is None else f"{r['occlusion_age']:.1%}"
        print(
            f"{r['family']:10} {r['age_alone']:>9.1%} {r['age_any']:>8.1%} {r['agree_first']:>9.1%} {oa:>9} "
            f"{r['occlusion_agree_first']:>11.1%} {r['seconds_per_customer'] * 1000:>8.2f} {r['single_ms']:>9.1f}"
        )
    Path(args.out).write_text(json.dumps({"rows": args.rows, "results": results}, indent=2))


if __name__ == "__main__":
    main()
