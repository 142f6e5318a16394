"""The report's sections on what drives the score, and on how this model compares with others."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from uptake import explain
from uptake.errors import UptakeInputError
from uptake.report import plots
from uptake.report.model import Context, Section, TableBlock, figure, new_section


def importance(ctx: Context) -> Section:
    s = new_section("importance")
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    _, y, clean = ctx.ev.part(ctx.ev.eval_name)
    # Three shuffles per column: the order of features is settled by then, and the report stays quick.
    imp = explain.permutation_importance(ctx.model, clean, y, n_repeats=3, seed=int(ctx.card.seed))
    t = imp.table
    s.paragraphs.append(
        "How much the ranking (PR-AUC) suffers when one column's values are shuffled between customers: "
        f"the larger the drop, the more the model relies on that column. Measured on {ctx.ev.eval_label}; "
        f"{imp.note.split(', ', 1)[-1]}."
    )
    s.figures.append(
        figure(
            "importance_permutation",
            "Permutation importance",
            plots.importance(
                t["feature"], t["importance"], t["std"], "drop in PR-AUC when shuffled", "Permutation importance"
            ),
        )
    )
    if ctx.shap:
        ctx.timer.lap("section importance")
        sh = explain.shap_importance(ctx.model, clean)
        ctx.timer.lap("shap")
        if sh is None:
            s.notes.append("SHAP values could not be computed here; permutation importance is shown alone.")
        else:
            s.figures.append(
                figure(
                    "importance_shap",
                    "SHAP importance",
                    plots.importance(
                        sh.table["feature"],
                        sh.table["importance"],
                        None,
                        "mean |change in probability|",
                        "SHAP importance",
                    ),
                    f"SHAP: {sh.note}.",
                )
            )
    else:
        s.notes.append("SHAP importance is off (it takes much longer); add `--shap` to include it.")
    s.paragraphs.append(
        "Per customer, `uptake predict --explain` adds the top reasons behind each score, "
        "for example 'Income 180 raises the chance'."
    )
    return s


def comparison(ctx: Context) -> Section:
    s = new_section("comparison")
    search = ctx.card.hyperparameters.get("leaderboard") if ctx.card.model_type == "auto" else None
    if search:
        s.tables.append(search_table(search, ctx.card.hyperparameters.get("combiner")))
        s.paragraphs.append(
            "The candidates `auto` tried, each bagged on the same folds and scored on rows its fold models never "
            "saw (out-of-fold PR-AUC); the served model combines the trained ones as the model card says."
        )
    if not ctx.board:
        if not search:
            s.notes.append("No comparison given. Run `uptake compare DATA --out DIR` and pass --compare DIR.")
        return s
    rows = ctx.board
    metric = (
        "pr_auc_mean"
        if any("pr_auc_mean" in r for r in rows)
        else next((k for k in rows[0] if k.endswith("_mean")), None)
    )
    if metric:
        rows = sorted(rows, key=lambda r: -float(r.get(metric) or 0.0))
    cols = [c for c in LEADER_COLUMNS if any(c in r for r in rows)]
    s.tables.append(
        TableBlock(
            [LEADER_COLUMNS[c] for c in cols],
            [[_cell(r.get(c)) for c in cols] for r in rows],
            "Leaderboard (best first)",
        )
    )
    if metric:
        std = metric.replace("_mean", "_std")
        names = [str(r.get("model", r.get("name", "?"))) for r in rows]
        means = [float(r.get(metric) or 0.0) for r in rows]
        stds = [float(r.get(std) or 0.0) for r in rows] if any(std in r for r in rows) else None
        s.figures.append(
            figure(
                "leaderboard",
                "Model comparison",
                plots.leaderboard(names, means, stds, _metric_label(metric)),
                "Every model scored on the same repeated folds.",
            )
        )
        if len(rows) > 1:
            s.paragraphs.append(
                f"Best: {names[0]} ({_metric_label(metric)} {means[0]:.3f}), ahead of "
                f"{names[1]} by {means[0] - means[1]:.3f}."
            )
    return s


def _metric_label(key: str) -> str:
    base = key.removesuffix("_mean")
    return {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "f1": "F1"}.get(base, base.replace("_", " "))


#: Leaderboard columns shown, in order (``uptake compare``'s compare.json rows); others are ignored.
LEADER_COLUMNS = {
    "model": "model",
    "imbalance": "imbalance",
    "pr_auc_mean": "PR-AUC",
    "pr_auc_std": "± PR-AUC",
    "roc_auc_mean": "ROC-AUC",
    "f1_mean": "F1",
    "precision_mean": "precision",
    "recall_mean": "recall",
    "fit_seconds": "fit s",
    "fit_seconds_mean": "fit s",
    "predict_us_per_row": "predict µs/row",
    "predict_us_per_row_mean": "predict µs/row",
}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def search_table(board: list[dict[str, Any]], combiner: str | None) -> TableBlock:
    """``auto``'s leaderboard: every candidate, its out-of-fold PR-AUC, its part in the served model, or why not."""
    rows = []
    for e in sorted(board, key=lambda e: -(e.get("oof_pr_auc") or -1.0)):
        part = e.get("coefficient") if combiner == "stacker" else e.get("weight")
        rows.append(
            [
                e["name"],
                e["family"],
                _cell(e.get("oof_pr_auc")),
                "-" if part is None else f"{part:+.3f}",
                _cell(e.get("fit_seconds")),
                e["status"],
            ]
        )
    head = "coefficient" if combiner == "stacker" else "weight"
    return TableBlock(
        ["candidate", "family", "out-of-fold PR-AUC", head, "fit seconds", "status"], rows, "auto's search"
    )


def read_leaderboard(directory: Path) -> list[dict[str, Any]]:
    """Rows of the leaderboard that ``uptake compare --out DIR`` wrote as JSON.

    ``compare.json`` holds ``{"config", "leaderboard": [{"model", "pr_auc_mean",
    "pr_auc_std", ...}], "summary", "folds"}``; any JSON file in DIR (compare.json
    first) holding a list of row dicts, bare or under 'leaderboard', 'rows', 'models'
    or 'results', is accepted.
    """
    directory = Path(directory)
    if not directory.exists():
        raise UptakeInputError(f"file '{directory}': no such comparison directory")
    files = (
        [directory] if directory.is_file() else sorted(directory.glob("*.json"), key=lambda f: f.name != "compare.json")
    )
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows = _rows_of(data)
        if rows:
            return rows
    raise UptakeInputError(
        f"file '{directory}': no JSON leaderboard found (run `uptake compare ... --out {directory}`)"
    )


def _rows_of(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return data
    if isinstance(data, dict):
        for key in ("leaderboard", "rows", "models", "results"):
            if key in data:
                rows = _rows_of(data[key])
                if rows:
                    return rows
    return None


__all__ = ["comparison", "importance", "read_leaderboard"]
