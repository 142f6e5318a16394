"""insight commands (filled in by the insight stage)."""

from __future__ import annotations


# ---- imports for plan/report (appended by the planning/report stage) ------------------------
import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any  # noqa: E402

import typer  # noqa: E402

from uptake.cli import app, console, err_console, write_frame_atomic  # noqa: E402
from uptake.errors import UptakeInputError  # noqa: E402


# ---- plan (campaign planning; see uptake.targeting and docs/targeting.md) -------------------
@app.command()
def plan(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Customers to rank (labels optional: with them, actual figures too).")],
    contact_cost: Annotated[float, typer.Option("--contact-cost", help="Money spent per customer contacted (> 0).")],
    accept_value: Annotated[float, typer.Option("--accept-value", help="Money earned per accepted offer (> 0).")],
    budget: Annotated[float | None, typer.Option(help="Money for the campaign: contacts = floor(budget / contact cost).")] = None,
    top: Annotated[str | None, typer.Option(help="Contact the top share instead, e.g. 10%.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the ranked contact list (.csv or .parquet).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="Skip invalid rows (and count them) instead of failing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Plan a campaign: gains and lift by decile, profit by share contacted, and whom to call.

    Without --budget or --top the list is the share that maximises profit.
    """
    from uptake import targeting as TG
    from uptake.data import read_table
    from uptake.predict import Model, scored_frame

    TG.check_money(contact_cost, accept_value)
    if budget is not None and top is not None:
        raise UptakeInputError("--budget and --top: give one of them, not both")
    share = TG.parse_top(top) if top is not None else None
    if out is not None and out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise UptakeInputError(f"file '{out}': output must end in .csv or .parquet")
    m = Model.load(model)
    df = read_table(data, sheet=sheet)
    scored = m.score(df, source=data, skip_invalid=skip_invalid)
    y = _plan_labels(m, df.loc[scored.index], data)
    result = TG.plan(scored.probability, y, contact_cost, accept_value, budget=budget, top=share)
    frame = scored_frame(df, scored)
    frame["expected_value"] = accept_value * frame["probability"] - contact_cost
    listed = TG.contact_list(frame, result.contacts)
    if out is not None:
        write_frame_atomic(listed, out)
    warning = _calibration_warning(m)
    if as_json:
        payload = result.to_dict()
        payload.update({"rows": len(frame), "skipped_invalid": len(scored.invalid_rows),
                        "out": str(out) if out else None, "warning": warning})
        print(json.dumps(payload, default=_plan_json_default))
        return
    _print_plan(result, len(frame), out, warning)


def _plan_labels(m: Any, df: Any, data: Path) -> Any:
    """0/1 labels when DATA has the target column filled in; None (expected figures only) otherwise."""
    from uptake.data import encode_target
    from uptake.schema import _is_missing

    target = m.schema.target
    if target not in df.columns or _is_missing(df[target]).all():
        return None
    y, _, _ = encode_target(df[target], m.schema.positive_label, data, int(df.attrs.get("row_offset", 1)))
    return y


def _calibration_warning(m: Any) -> str | None:
    """Expected money is only as honest as the probabilities; re-weighted training inflates them."""
    strategy = (m.metadata.get("imbalance") or {}).get("strategy")
    calibrated = bool(m.metadata.get("calibration") or m.metadata.get("calibrator"))
    if strategy in ("class-weight", "oversample", "balanced-batches", "smote") and not calibrated:
        return (f"this model was trained with {strategy}, which inflates probabilities: expected acceptances and "
                "profit are overstated; train with --calibrate isotonic for money figures you can trust")
    return None


def _plan_json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)


def _print_plan(result: Any, n: int, out: Path | None, warning: str | None) -> None:
    from rich.table import Table

    d = result.deciles
    table = Table(title=f"Deciles of {n:,} ranked customers (contact {result.contact_cost:g}, acceptance {result.accept_value:g})",
                  title_justify="left")
    heads = ["decile", "customers", "expected acc.", "exp. cum. profit"]
    if result.has_labels:
        heads += ["actual acc.", "precision", "cum. recall", "cum. profit"]
    for h in heads:
        table.add_column(h, justify="right")
    for r in d.to_dict(orient="records"):
        cells = [str(r["decile"]), f"{r['customers']:,}", f"{r['expected_acceptances']:.1f}",
                 f"{r['expected_cumulative_profit']:,.0f}"]
        if result.has_labels:
            cells += [f"{r['actual_acceptances']:,}", f"{r['precision']:.1%}", f"{r['cumulative_recall']:.1%}",
                      f"{r['cumulative_profit']:,.0f}"]
        table.add_row(*cells)
    console.print(table)
    g = result.gains
    console.print("Cumulative gains / lift: " + ", ".join(
        f"{s:.0%}: {gain:.0%} x{lift:.1f}" for s, gain, lift in zip(g["share_contacted"], g["gain"], g["lift"])))
    console.print(result.sentence)
    pc = result.profit
    console.print(f"Profit peaks at {pc.best_contacts:,} contacts ({pc.best_share:.1%} of the list): "
                  f"{pc.best_profit:,.0f} ({pc.basis}).")
    at = result.expected_at_contacts
    line = f"Contact list: {result.contacts:,} customers ({result.contacts_rule}), cost {at['cost']:,.0f}"
    if "expected_acceptances" in at:
        line += f", expected acceptances {at['expected_acceptances']:,.1f}, expected profit {at['expected_profit']:,.0f}"
    if "actual_acceptances" in at:
        line += (f"; actually {at['actual_acceptances']:,.0f} acceptors ({at['recall']:.0%} of all), "
                 f"profit {at['actual_profit']:,.0f}")
    console.print(line + (f" -> {out}" if out else ""))
    if warning:
        err_console.print(f"note: {warning}", markup=False, highlight=False, soft_wrap=True)


# ---- report (the manager's HTML report; see uptake.report and docs/report.md) ---------------
@app.command()
def report(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .html file to write; figures also go to <name>_files/.")] = Path("report.html"),
    data: Annotated[Path | None, typer.Option(help="Labelled table to measure on; the training file gives train and test curves.")] = None,
    compare: Annotated[Path | None, typer.Option(help="Output directory of `uptake compare --out DIR`: adds the leaderboard.")] = None,
    contact_cost: Annotated[float, typer.Option("--contact-cost", help="Money per contact, for the campaign section (> 0).")] = 5.0,
    accept_value: Annotated[float, typer.Option("--accept-value", help="Money per accepted offer, for the campaign section (> 0).")] = 100.0,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    shap: Annotated[bool, typer.Option("--shap/--no-shap", help="Also compute SHAP importance (slow).")] = False,
) -> None:
    """Write one self-contained HTML report (figures embedded) for a manager: data, model, campaign, model card."""
    from uptake.report import build_report

    result = build_report(model, out, data=data, compare=compare, contact_cost=contact_cost,
                          accept_value=accept_value, sheet=sheet, shap=shap)
    console.print(f"Report written to {result.path} ({len(result.figures)} figures, also in {result.files_dir}/)")


# ---- compare and tune-threshold (model comparison and business thresholds; docs/compare.md, docs/thresholds.md)
import os  # noqa: E402


@app.command("compare")
def compare_models(
    data: Annotated[Path, typer.Argument(help="Labelled table (CSV, Excel or Parquet).")],
    target: Annotated[str | None, typer.Option(help="Target column (default: 'Personal Loan' when present).")] = None,
    positive: Annotated[str | None, typer.Option(help="Target label that counts as a positive outcome.")] = None,
    cv: Annotated[str, typer.Option(help="REPEATSxFOLDS of repeated stratified K-fold, e.g. 5x2 (5 repeats of 2-fold).")] = "5x2",
    models: Annotated[str | None, typer.Option(help="Comma-separated subset of: seed, tutorial, tutorial-baseline, tutorial-oversample, default, logreg, lightgbm, ensemble (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Fixes the folds (identical for every model) and the models' seeds.")] = 0,
    jobs: Annotated[int, typer.Option(min=1, help="Folds fitted at once, each in its own process; worth it when that many cores are free.")] = 1,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for compare.json, compare.csv and compare.png.")] = Path("comparison"),
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the leaderboard and summary as one JSON object instead of a table.")] = False,
) -> None:
    """Compare models on identical repeated stratified folds: mean and std of PR-AUC, ROC-AUC, F1, precision, recall."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from uptake import compare as C
    from uptake.data import read_table

    C.parse_cv(cv)
    C.resolve_models(models)
    df = read_table(data, sheet=sheet)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err_console, transient=True,
                   disable=not err_console.is_terminal and os.environ.get("UPTAKE_PROGRESS") != "1")
    with bar:
        task = bar.add_task("comparing", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        result = C.compare(df, target=target, cv=cv, models=models, seed=seed, source=data, positive=positive,
                           progress=progress, n_jobs=jobs)
    paths = C.save_outputs(result, out)
    if as_json:
        print(json.dumps({k: v for k, v in result.to_dict().items() if k != "folds"}))
        return
    from rich.console import Console

    # The table is wider than a default 80-column pipe; let it be rather than cut every cell.
    Console(width=max(console.width, 150), highlight=False, file=console.file).print(leaderboard_table(result))
    for line in summary_lines(result.summary):
        console.print(line)
    console.print(f"Saved {paths['json']}, {paths['csv']} and {paths['png']}")


def leaderboard_table(result: Any) -> Any:
    """The leaderboard as a rich table: mean ± std over folds, best PR-AUC first."""
    from rich.table import Table

    cfg = result.config
    table = Table(title=f"{cfg['cv']} repeated stratified CV on {cfg['rows']:,} rows ({cfg['positives']:,} positives), "
                        f"threshold {cfg['threshold_rule']} on validation", title_justify="left")
    for head in ("model", "imbalance", "PR-AUC", "ROC-AUC", "F1", "precision", "recall", "fit s", "predict µs/row"):
        table.add_column(head, justify="left" if head in ("model", "imbalance") else "right", no_wrap=True)
    for r in result.leaderboard:
        cells = [f"{r[f'{k}_mean']:.3f} ± {r[f'{k}_std']:.3f}" for k in ("pr_auc", "roc_auc", "f1", "precision", "recall")]
        table.add_row(r["model"], r["imbalance"], *cells, f"{r['fit_seconds_mean']:.1f}",
                      f"{r['predict_us_per_row_mean']:.1f}")
    return table


def summary_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    lead = summary.get("best_single_lead")
    if lead:
        lines.append(f"Best single model: {lead['model']}, PR-AUC {lead['mean_difference']:+.3f} ± "
                     f"{lead['std_difference']:.3f} over {lead['versus']} (better on {lead['folds_won']} of "
                     f"{lead['folds']} folds).")
    elif summary.get("best_single_model"):
        lines.append(f"Best single model: {summary['best_single_model']}.")
    vs = summary.get("ensemble_vs_lightgbm")
    if vs:
        lines.append(f"Ensemble vs LightGBM: PR-AUC {vs['mean_difference']:+.4f} ± {vs['std_difference']:.4f} "
                     f"(ahead on {vs['folds_won']}, tied on {vs['folds_tied']} of {vs['folds']} folds).")
    return lines


@app.command("tune-threshold")
def tune_threshold(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Labelled table to choose the threshold on (not the training file, ideally).")],
    min_recall: Annotated[float | None, typer.Option(help="Highest threshold that finds at least this share of acceptors, e.g. 0.9.")] = None,
    min_precision: Annotated[float | None, typer.Option(help="Lowest threshold whose calls are at least this share acceptors.")] = None,
    contact_cost: Annotated[float | None, typer.Option(help="Money per call; with --accept-value, maximise expected profit.")] = None,
    accept_value: Annotated[float | None, typer.Option(help="Money per accepted offer (used with --contact-cost).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write a copy of the model with the new threshold here (default: update MODEL in place).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored threshold rule as JSON.")] = False,
) -> None:
    """Re-choose a model's decision threshold on labelled data (max F1 by default) and store it in the model."""
    from uptake.artifact import read_metadata
    from uptake.data import read_table
    from uptake.thresholds import ThresholdRule, describe_threshold_rule, tune_model

    rule = ThresholdRule.from_options(None, min_recall, min_precision, contact_cost, accept_value)
    read_metadata(model)
    df = read_table(data, sheet=sheet)
    entry = tune_model(model, df, rule, source=data, out=out)
    if as_json:
        print(json.dumps(entry))
        return
    console.print(describe_threshold_rule(entry, entry["expected"]["threshold"]))
    if entry.get("warning"):
        err_console.print(f"note: {entry['warning']}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Stored in {(out or model) / 'metadata.json'}")
