"""``uptake compare``: a leaderboard on identical folds (``uptake.evaluate.compare``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from uptake.cli.common import (
    AcceptValue,
    ContactCost,
    MinPrecision,
    MinRecall,
    Positive,
    Target,
    Threshold,
    app,
    console,
    err_console,
    rule_options,
    show_progress,
)
from uptake.evaluate.compare.catalogue import MODELS


@app.command("compare")
def compare_models(
    data: Annotated[Path, typer.Argument(help="Labelled table (CSV, Excel or Parquet).")],
    target: Target = None,
    positive: Positive = None,
    cv: Annotated[
        str, typer.Option(help="REPEATSxFOLDS of repeated stratified K-fold, e.g. 5x2 (5 repeats of 2-fold).")
    ] = "5x2",
    models: Annotated[
        str | None, typer.Option(help=f"Comma-separated subset of: {', '.join(MODELS)} (default: all).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Fixes the folds (identical for every model) and the models' seeds.")] = 0,
    jobs: Annotated[
        int,
        typer.Option(
            min=1, help="Folds fitted at once, each in its own process; worth it when that many cores are free."
        ),
    ] = 1,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for compare.json, compare.csv and compare.png.")
    ] = Path("comparison"),
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the leaderboard and summary as one JSON object instead of a table.")
    ] = False,
    threshold: Threshold = None,
    min_recall: MinRecall = None,
    min_precision: MinPrecision = None,
    contact_cost: ContactCost = None,
    accept_value: AcceptValue = None,
) -> None:
    """Compare models on identical repeated stratified folds: mean and std of PR-AUC, ROC-AUC, F1, precision, recall."""
    from uptake.decide.thresholds import (
        rule_from_options,  # imported when the command runs: --help stays instant
    )
    from uptake.evaluate.compare.catalogue import parse_cv, resolve_models
    from uptake.evaluate.compare.cv import compare as run_compare
    from uptake.evaluate.compare.outputs import save_outputs
    from uptake.io.tables import read_table

    rule = rule_options(threshold, min_recall, min_precision, contact_cost, accept_value)
    rule_from_options(**rule)
    parse_cv(cv)
    resolve_models(models)
    df = read_table(data, sheet=sheet)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not show_progress(),
    )
    with bar:
        task = bar.add_task("comparing", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        result = run_compare(
            df,
            target=target,
            cv=cv,
            models=models,
            seed=seed,
            source=data,
            positive=positive,
            progress=progress,
            n_jobs=jobs,
            rule=rule,
        )
    paths = save_outputs(result, out)
    if as_json:
        print(json.dumps({k: v for k, v in result.to_dict().items() if k != "folds"}))
        return
    # The table is wider than a default 80-column pipe; let it be rather than cut every cell.
    Console(width=max(console.width, 150), highlight=False, file=console.file).print(leaderboard_table(result))
    for line in summary_lines(result.summary):
        console.print(line)
    console.print(f"Saved {paths['json']}, {paths['csv']} and {paths['png']}")


def leaderboard_table(result: Any) -> Any:
    """The leaderboard as a rich table: mean ± std over folds, best PR-AUC first."""

    cfg = result.config
    table = Table(
        title=f"{cfg['cv']} repeated stratified CV on {cfg['rows']:,} rows ({cfg['positives']:,} positives), "
        f"threshold {cfg['threshold_rule']} on validation",
        title_justify="left",
    )
    for head in ("model", "imbalance", "PR-AUC", "ROC-AUC", "F1", "precision", "recall", "fit s", "predict µs/row"):
        table.add_column(head, justify="left" if head in ("model", "imbalance") else "right", no_wrap=True)
    for r in result.leaderboard:
        cells = [
            f"{r[f'{k}_mean']:.3f} ± {r[f'{k}_std']:.3f}" for k in ("pr_auc", "roc_auc", "f1", "precision", "recall")
        ]
        table.add_row(
            r["model"], r["imbalance"], *cells, f"{r['fit_seconds_mean']:.1f}", f"{r['predict_us_per_row_mean']:.1f}"
        )
    return table


def summary_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    lead = summary.get("best_single_lead")
    if lead:
        lines.append(
            f"Best single model: {lead['model']}, PR-AUC {lead['mean_difference']:+.3f} ± "
            f"{lead['std_difference']:.3f} over {lead['versus']} (better on {lead['folds_won']} of "
            f"{lead['folds']} folds)."
        )
    elif summary.get("best_single_model"):
        lines.append(f"Best single model: {summary['best_single_model']}.")
    vs = summary.get("ensemble_vs_lightgbm")
    if vs:
        lines.append(
            f"Ensemble vs LightGBM: PR-AUC {vs['mean_difference']:+.4f} ± {vs['std_difference']:.4f} "
            f"(ahead on {vs['folds_won']}, tied on {vs['folds_tied']} of {vs['folds']} folds)."
        )
    return lines


__all__ = ["compare_models", "leaderboard_table", "summary_lines"]
