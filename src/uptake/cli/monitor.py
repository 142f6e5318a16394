"""``uptake monitor``: has the data moved since training? Traffic lights, JSON, an HTML page, exit 3 to alert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from uptake.cli.common import app, console
from uptake.errors import UptakeInputError

#: Exit code when a column or the score is in the --fail-on band (2 is a user error, 130 Ctrl-C).
DRIFT_EXIT = 3
COLOURS = {"stable": "green", "watch": "yellow", "act": "red"}


@app.command()
def monitor(
    model: Annotated[Path, typer.Argument(help="Model directory (its training reference profile is inside).")],
    data: Annotated[
        Path | None, typer.Argument(help="New rows: CSV or Parquet (read in chunks), or uptake's scored output.")
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="Monitor the audit log of `uptake serve --db URL` instead of a file.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="With --db: predictions at or after (2026-05-01, or an age such as 7d).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="With --db: predictions before this time.")] = None,
    model_version: Annotated[str | None, typer.Option(help="With --db: only this model version's predictions.")] = None,
    reference: Annotated[
        Path | None, typer.Option(help="Training file, for models saved without a reference profile.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    html: Annotated[
        Path | None, typer.Option(help="Also write an HTML page with per-column plots (reference vs now).")
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option(help="watch or act: exit 3 when any column or the score is in that band or worse.")
    ] = None,
    outcomes: Annotated[
        bool,
        typer.Option(
            "--outcomes",
            help=(
                "With --db: also realised precision, recall, PR-AUC and profit per model version and week, against "
                "the model card's promise (import outcomes first: `uptake outcomes import`)."
            ),
        ),
    ] = False,
    contact_cost: Annotated[
        float | None,
        typer.Option(help="With --outcomes: cost of one call, for profit (default: the model's max-profit rule's)."),
    ] = None,
    accept_value: Annotated[
        float | None, typer.Option(help="With --outcomes: value of one acceptance, for profit.")
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "With --outcomes: also fairness of the logged decisions by this column (Family, or Age:25,35,45; "
                "repeatable), as `uptake fairness --db`."
            )
        ),
    ] = None,
) -> None:
    """Drift of every input column and of the score against the training reference (PSI bands, KS / chi-square)."""
    from uptake.audit.window import (  # imported when the command runs: `uptake --help` stays instant
        existing_db,
        parse_since,
        parse_until,
    )
    from uptake.drift.compare import BANDS
    from uptake.io.outputs import check_output
    from uptake.monitor.run import monitor as run_monitor

    if fail_on is not None and fail_on not in ("watch", "act"):
        raise UptakeInputError(f"--fail-on {fail_on!r}: choose watch or act")
    if db is None and (since or until or model_version):
        raise UptakeInputError("--since, --until and --model-version read the audit log: give --db URL")
    if outcomes and db is None:
        raise UptakeInputError("--outcomes joins the audit log's predictions to imported outcomes: give --db URL")
    if group and not outcomes:
        raise UptakeInputError("--group judges decisions against realised outcomes: give --db URL --outcomes")
    if db is not None:
        db = existing_db(db)
    if html is not None:
        check_output(html, inputs=[data], suffixes=(".html",))
    result = run_monitor(
        model,
        data,
        db=db,
        since=parse_since(since),
        until=parse_until(until),
        reference=reference,
        model_version=model_version,
    )
    report = result.to_dict()
    positive = "acceptors"
    if outcomes:
        from uptake.monitor.run import realised_report  # only with --outcomes

        report["outcomes"] = realised_report(
            model, str(db), parse_since(since), parse_until(until), model_version, contact_cost, accept_value
        )
    if group:
        from uptake.monitor.fairness import fairness_log  # only with --group
        from uptake.pipeline import Model

        loaded = Model.load(model)
        positive = loaded.positive_name
        report["fairness"] = [
            fairness_log(str(db), loaded, g, since=parse_since(since), until=parse_until(until)) for g in group
        ]
    if html is not None:
        from uptake.monitor.page import write_page  # matplotlib: only with --html

        write_page(html, report, result.reference, result.now, str(model), positive)
    if as_json:
        typer.echo(json.dumps(report, allow_nan=False, default=float))
    else:
        _table(report)
        if outcomes:
            _realised(report["outcomes"])
        if group:
            from uptake.cli.fairness import show  # only with --group

            for t in report["fairness"]:
                show(t, positive)
        if html is not None:
            console.print(f"Page: {html}")
    if fail_on is not None and BANDS.index(report["worst"]) >= BANDS.index(fail_on):
        raise typer.Exit(DRIFT_EXIT)


def _table(report: dict) -> None:
    from rich.table import Table  # imported when the command runs: `uptake --help` stays instant

    t = Table(
        title=f"Drift of {report['source']}: {report['rows_now']:,} rows against "
        f"{report['rows_reference']:,} training rows (worst: {report['worst']})"
    )
    for head in ("column", "band", "PSI", "test", "p-value", "missing train -> now", "outside range / new categories"):
        t.add_column(head)
    for name, d in report["columns"].items():
        extra = (
            f"{d['out_of_range_reference']:.1%} -> {d['out_of_range_now']:.1%}"
            if d["kind"] == "numeric"
            else ", ".join(f"{k} ({v})" for k, v in list(d["new_categories"].items())[:3]) or "-"
        )
        t.add_row(
            name,
            f"[{COLOURS[d['band']]}]{d['band']}[/]",
            f"{d['psi']:.3f}",
            d["test"],
            f"{d['p_value']:.3g}",
            f"{d['missing_reference']:.1%} -> {d['missing_now']:.1%}",
            extra,
        )
    s = report["score"]
    if s is not None:
        t.add_row(
            "score",
            f"[{COLOURS[s['band']]}]{s['band']}[/]",
            f"{s['psi']:.3f}",
            s["test"],
            f"{s['p_value']:.3g}",
            "",
            f"from {report['score_from']}",
        )
    c = report.get("call_rate")
    if c is not None:
        t.add_row(
            "call rate",
            f"[{COLOURS[c['band']]}]{c['band']}[/]",
            "",
            "z-test",
            f"{c['p_value']:.3g}",
            "",
            f"{c['reference']:.1%} -> {c['now']:.1%}",
        )
    console.print(t)
    if c is not None:
        console.print(f"{c['sentence']}.", markup=False, soft_wrap=True)
    for note in report.get("notes") or []:
        console.print(f"Note: {note}", markup=False, soft_wrap=True)
    if report["refused_cells"]:
        console.print(
            "Cells of the wrong type (rows left out): "
            + ", ".join(f"{k} {v:,}" for k, v in report["refused_cells"].items())
        )
    from uptake.schema.flags import describe  # imported when the command runs

    flagged = describe(report.get("flagged") or {}, report["rows_read"], strict_hint=False)
    if flagged:
        console.print(flagged, markup=False, soft_wrap=True)


def _realised(found: dict) -> None:
    from rich.table import Table  # imported when the command runs: `uptake --help` stays instant

    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    for version, v in found["versions"].items():
        t = Table(title=f"Realised outcomes of model {version}")
        for head in (
            "period",
            "customers",
            "accepted",
            "calls",
            "accepted of called",
            "precision",
            "recall",
            "PR-AUC",
            "profit",
        ):
            t.add_column(head)
        promised = v["promised"] or {}
        if promised:
            t.add_row(
                "promised (test split)",
                "",
                "",
                "",
                "",
                f(promised.get("precision")),
                f(promised.get("recall")),
                f(promised.get("pr_auc")),
                "",
            )
        w, ci = v["whole"], v["whole"].get("interval") or {}

        def with_ci(k: str, w: dict = w, ci: dict = ci) -> str:
            return f(w[k]) + (f" ({ci[k][0]:.3f}-{ci[k][1]:.3f})" if ci.get(k) else "")

        t.add_row(
            "whole window (95% interval)",
            f"{w['customers']:,}",
            f"{w['accepted']:,}",
            f"{w['calls']:,}",
            f"{w['accepted_called']:,}",
            with_ci("precision"),
            with_ci("recall"),
            with_ci("pr_auc"),
            "-" if w["profit"] is None else f"{w['profit']:,.0f}",
        )
        for week, g in v["weeks"].items():
            t.add_row(
                week,
                f"{g['customers']:,}",
                f"{g['accepted']:,}",
                f"{g['calls']:,}",
                f"{g['accepted_called']:,}",
                f(g["precision"]),
                f(g["recall"]),
                f(g["pr_auc"]),
                "-" if g["profit"] is None else f"{g['profit']:,.0f}",
            )
        console.print(t)
        console.print(v["verdict"], markup=False, highlight=False)


__all__ = ["DRIFT_EXIT", "monitor"]
