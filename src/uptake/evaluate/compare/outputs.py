"""The comparison's files: ``compare.json`` (everything), ``compare.csv`` (the leaderboard) and ``compare.png``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

from uptake.errors import UptakeInputError
from uptake.evaluate.compare.leaderboard import Comparison
from uptake.io.atomic import atomic_file
from uptake.io.jsonable import write_json
from uptake.io.writer import neutralise_frame

FILES = {"json": "compare.json", "csv": "compare.csv", "png": "compare.png"}


def save_outputs(result: Comparison, out_dir: str | Path) -> dict[str, Path]:
    """``compare.json`` (everything), ``compare.csv`` (the leaderboard) and ``compare.png``, each atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UptakeInputError(f"file '{out_dir}': --out must be a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in FILES.items()}
    write_json(paths["json"], result.to_dict())
    with atomic_file(paths["csv"]) as tmp:
        neutralise_frame(result.frame()).to_csv(tmp, index=False)
    with atomic_file(paths["png"]) as tmp:
        plot(result, tmp)
    return paths


def plot(result: Comparison, path: str | Path) -> None:
    """Mean PR-AUC per model with one standard deviation over folds as error bars."""
    board = list(reversed(result.leaderboard))  # best at the top
    fig = Figure(figsize=(8, 0.45 * len(board) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(board))
    means = [r["pr_auc_mean"] for r in board]
    ax.errorbar(means, y, xerr=[r["pr_auc_std"] for r in board], fmt="o", capsize=4, color="tab:blue")
    for yi, m in zip(y, means, strict=True):
        ax.annotate(f"{m:.3f}", (m, yi), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    ax.set_yticks(y, [r["model"] for r in board])
    ax.set_xlabel("PR-AUC (mean ± std over folds)")
    cfg = result.config
    ax.set_title(f"uptake compare: {cfg['cv']} CV on {cfg['rows']:,} rows ({cfg['positives']:,} positives)")
    ax.set_xlim(left=max(0.0, min(means) - 0.05), right=1.02)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)


__all__ = ["FILES", "plot", "save_outputs"]
