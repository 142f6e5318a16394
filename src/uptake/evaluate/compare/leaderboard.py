"""The leaderboard: mean and spread over folds, and paired per-fold differences between models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from uptake.evaluate.compare.catalogue import ENSEMBLE
from uptake.io.jsonable import jsonable

METRICS = ("pr_auc", "roc_auc", "f1", "precision", "recall")
COLUMNS = (*METRICS, "threshold", "fit_seconds", "predict_us_per_row")


@dataclass
class Comparison:
    """Per-fold results, the leaderboard built from them, and the headline findings."""

    folds: list[dict[str, Any]]
    config: dict[str, Any]
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {"config": self.config, "leaderboard": self.leaderboard, "summary": self.summary, "folds": self.folds}
        )

    def frame(self) -> pd.DataFrame:
        """The leaderboard as a table (one row per model), as written to CSV."""
        return pd.DataFrame(self.leaderboard)


def leaderboard(folds: pd.DataFrame, descriptions: dict[str, str]) -> list[dict[str, Any]]:
    """Mean and standard deviation over folds per model, best PR-AUC first."""
    rows = []
    for name, g in folds.groupby("model", sort=False):
        row: dict[str, Any] = {
            "model": name,
            "description": descriptions.get(name, ""),
            "imbalance": g["imbalance"].iloc[0],
            "folds": len(g),
        }
        for col in COLUMNS:
            row[f"{col}_mean"] = float(g[col].mean())
            row[f"{col}_std"] = float(g[col].std(ddof=1)) if len(g) > 1 else 0.0
        rows.append(row)
    return sorted(rows, key=lambda r: -r["pr_auc_mean"])


def paired(folds: pd.DataFrame, a: str, b: str, metric: str = "pr_auc") -> dict[str, Any]:
    """``a`` minus ``b`` fold by fold: both saw the same rows, so the difference's spread is honest."""
    wide = folds.pivot(index="fold", columns="model", values=metric)
    diff = wide[a] - wide[b]
    return {
        "model": a,
        "versus": b,
        "metric": metric,
        "mean_difference": float(diff.mean()),
        "std_difference": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
        "folds_won": int((diff > 0).sum()),
        "folds_tied": int((diff == 0).sum()),
        "folds": len(diff),
    }


def summarize(folds: pd.DataFrame, board: list[dict[str, Any]]) -> dict[str, Any]:
    """The best single model and its lead; whether the ensemble beats LightGBM."""
    singles = [r["model"] for r in board if r["model"] != ENSEMBLE]
    out: dict[str, Any] = {"best_model": board[0]["model"] if board else None}
    if singles:
        out["best_single_model"] = singles[0]
        if len(singles) > 1:
            out["best_single_lead"] = paired(folds, singles[0], singles[1])
    names = {r["model"] for r in board}
    if {ENSEMBLE, "lightgbm"} <= names:
        vs = paired(folds, ENSEMBLE, "lightgbm")
        vs["ensemble_at_least_lightgbm"] = vs["mean_difference"] >= 0
        out["ensemble_vs_lightgbm"] = vs
    return out


__all__ = ["COLUMNS", "METRICS", "Comparison", "leaderboard", "paired", "summarize"]
