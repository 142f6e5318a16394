"""Realised performance: audit-log decisions joined to imported outcomes, against what the model card promised.

Each customer counts once per model version: its latest prediction in the window.
Per model version and per ISO week of the prediction, and for the whole window:
customers with an outcome, acceptances, calls (decision 1), precision of the called
list, recall among acceptors, PR-AUC of the scores, and profit when a call's cost and
an acceptance's value are known. Realised precision, recall and PR-AUC carry a
bootstrap 95% interval (customers resampled); the model is "performing as promised"
when no promised figure lies above its realised interval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sklearn.metrics import average_precision_score

from uptake.audit.db import TABLE, database_error, make_engine, outcomes, predictions, shown
from uptake.audit.read import db_time
from uptake.errors import UptakeInputError

BOOTSTRAP = 1000
LEVEL = 0.95
#: Fewer outcomes than this in a group: figures shown, verdict withheld.
MIN_OUTCOMES = 30


def joined(
    url: str, since: datetime | None = None, until: datetime | None = None, model_version: str | None = None
) -> pd.DataFrame:
    """One row per (model version, customer) with an outcome: the latest prediction's score and decision."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(TABLE) or not sa.inspect(conn).has_table(outcomes.name):
                raise UptakeInputError(
                    f"--db {shown(url)!r}: no outcomes in this database: import them with "
                    "`uptake outcomes import FILE --id COLUMN --outcome COLUMN --db URL`"
                )
            p, o = predictions.c, outcomes.c
            q = (
                sa.select(
                    p.id,
                    p.created_at,
                    p.model_version,
                    p.customer_id,
                    p.probability,
                    p.decision,
                    p.threshold,
                    p.inputs,
                    o.outcome,
                )
                .join(outcomes, o.customer_id == p.customer_id)
                .order_by(p.id)
            )
            if since is not None:
                q = q.where(p.created_at >= db_time(engine, since))
            if until is not None:
                q = q.where(p.created_at < db_time(engine, until))
            if model_version is not None:
                q = q.where(p.model_version == model_version)
            frame = pd.DataFrame(
                conn.execute(q).mappings().all(),
                columns=[
                    "id",
                    "created_at",
                    "model_version",
                    "customer_id",
                    "probability",
                    "decision",
                    "threshold",
                    "inputs",
                    "outcome",
                ],
            )
    except sa.exc.DBAPIError as exc:  # the password is hidden in the message
        raise database_error(engine, exc, "read the audit database") from None
    finally:
        engine.dispose()
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame.drop_duplicates(["model_version", "customer_id"], keep="last").reset_index(drop=True)


def _figures(y: np.ndarray, p: np.ndarray, d: np.ndarray) -> dict[str, float | None]:
    calls, positives = int(d.sum()), int(y.sum())
    tp = int((y & d).sum())
    return {
        "precision": tp / calls if calls else None,
        "recall": tp / positives if positives else None,
        "pr_auc": float(average_precision_score(y, p)) if 0 < positives < len(y) else None,
    }


def _interval(y: np.ndarray, p: np.ndarray, d: np.ndarray, seed: int = 0) -> dict[str, list[float] | None]:
    """Bootstrap intervals, vectorised: each draw is a vector of counts over the customers (sorted once by score),
    so precision, recall and PR-AUC (sklearn's step-wise average precision, ties as one threshold) of a
    thousand draws cost a few array passes instead of a thousand sklearn calls."""
    rng = np.random.default_rng(seed)
    n = len(y)
    order = np.argsort(-p, kind="mergesort")
    ys, ds, ps = y[order].astype(np.float64), d[order].astype(np.float64), p[order]
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), n - 1]  # the last customer of each distinct score
    draws: dict[str, list[np.ndarray]] = {"precision": [], "recall": [], "pr_auc": []}
    batch = max(1, 2_000_000 // max(n, 1))
    for start in range(0, BOOTSTRAP, batch):
        b = min(batch, BOOTSTRAP - start)
        w = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(b)]).astype(np.float64)
        pos, calls, hits = w @ ys, w @ ds, w @ (ys * ds)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws["precision"].append(np.where(calls > 0, hits / calls, np.nan))
            draws["recall"].append(np.where(pos > 0, hits / pos, np.nan))
            tp = np.cumsum(w * ys, axis=1)[:, last]
            seen = np.cumsum(w, axis=1)[:, last]
            prec = np.where(seen > 0, tp / seen, 0.0)
            rec = tp / pos[:, None]
            ap = np.sum(np.diff(rec, axis=1, prepend=0.0) * prec, axis=1)
        draws["pr_auc"].append(np.where((pos > 0) & (pos < n), ap, np.nan))
    lo, hi = (1 - LEVEL) / 2 * 100, (1 + LEVEL) / 2 * 100
    out: dict[str, list[float] | None] = {}
    for k, parts in draws.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        out[k] = [float(np.percentile(v, lo)), float(np.percentile(v, hi))] if len(v) >= BOOTSTRAP // 2 else None
    return out


def group_figures(
    rows: pd.DataFrame, contact_cost: float | None, accept_value: float | None, interval: bool
) -> dict[str, Any]:
    y = rows["outcome"].to_numpy(dtype=np.int64)
    d = rows["decision"].to_numpy(dtype=np.int64)
    p = rows["probability"].to_numpy(dtype=np.float64)
    tp = int((y & d).sum())
    out: dict[str, Any] = {
        "customers": len(rows),
        "accepted": int(y.sum()),
        "calls": int(d.sum()),
        "accepted_called": tp,
        **_figures(y, p, d),
    }
    out["profit"] = (
        accept_value * tp - contact_cost * int(d.sum())
        if contact_cost is not None and accept_value is not None
        else None
    )
    if interval:
        out["interval"] = _interval(y, p, d)
    return out


def verdict(version: str, whole: dict[str, Any], promised: dict[str, float | None] | None) -> str:
    """One sentence: is this version performing as its card promised?"""
    if promised is None:
        return (
            f"Model {version}: logged by another model than the one monitored here, whose card is the only "
            "promise compared with; monitor that version's own model to judge it."
        )
    if whole["customers"] < MIN_OUTCOMES or not whole["accepted"]:
        return (
            f"Model {version}: only {whole['customers']} customers with outcomes ({whole['accepted']} accepted); "
            f"too few to judge against the card."
        )
    below = []
    for k, name in (("precision", "precision"), ("recall", "recall"), ("pr_auc", "PR-AUC")):
        ci = (whole.get("interval") or {}).get(k)
        if promised.get(k) is not None and ci is not None and ci[1] < promised[k]:
            below.append(
                f"{name} {whole[k]:.3f} (95% interval {ci[0]:.3f}-{ci[1]:.3f}) against {promised[k]:.3f} promised"
            )
    shown = ", ".join(
        f"{n} {whole[k]:.3f} vs {promised[k]:.3f} promised"
        for k, n in (("precision", "precision"), ("recall", "recall"))
        if whole.get(k) is not None and promised.get(k) is not None
    )
    if below:
        return f"Model {version} is NOT performing as promised: " + "; ".join(below) + "."
    return (
        f"Model {version} is performing as promised ({shown}; every promised figure inside or below the 95% interval)."
    )


def realised(
    frame: pd.DataFrame,
    promised: dict[str, dict[str, float | None]],
    contact_cost: float | None = None,
    accept_value: float | None = None,
) -> dict[str, Any]:
    """Per model version: the whole window (with intervals and a verdict) and per ISO week."""
    versions: dict[str, Any] = {}
    iso = frame["created_at"].dt.isocalendar()
    weeks = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    for version, rows in frame.groupby("model_version", sort=True):
        whole = group_figures(rows, contact_cost, accept_value, interval=True)
        versions[str(version)] = {
            "whole": whole,
            "promised": promised.get(str(version)),
            "weeks": {
                str(w): group_figures(r, contact_cost, accept_value, interval=False)
                for w, r in rows.groupby(weeks.loc[rows.index], sort=True)
            },
            "verdict": verdict(str(version), whole, promised.get(str(version))),
        }
    return {"customers_with_outcomes": int(frame["customer_id"].nunique()), "versions": versions}


__all__ = ["BOOTSTRAP", "MIN_OUTCOMES", "group_figures", "joined", "realised", "verdict"]
