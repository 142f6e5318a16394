"""``uptake fairness``: are groups of customers called, and found, alike? (four-fifths rule)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from uptake.cli.common import RangeMargin, Sheet, SkipInvalid, Strict, app, console, load_model, say_notes
from uptake.errors import UptakeInputError

#: Exit code with --fail-on-flag when a group is below four-fifths (as monitor's drift alert).
FLAG_EXIT = 3


@app.command()
def fairness(
    model: Annotated[Path, typer.Argument(help="Model directory.")],
    data: Annotated[
        Path | None, typer.Argument(help="Labelled table (with the target column) to judge the decisions on.")
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(help="Group column, optionally cut at edges: Family, or Age:25,35,45,55,65 (repeatable)."),
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="Judge the audit log's decisions that have imported outcomes instead of a file.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="With --db: predictions at or after this time (or an age: 30d).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="With --db: predictions before this time.")] = None,
    sheet: Sheet = None,
    skip_invalid: SkipInvalid = False,
    strict: Strict = False,
    range_margin: RangeMargin = 0.25,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    fail_on_flag: Annotated[
        bool, typer.Option(help="Exit 3 when a group is below four-fifths of the best-treated one (--fail-metric).")
    ] = False,
    fail_metric: Annotated[
        str,
        typer.Option(
            help="Which flags --fail-on-flag acts on: selection-rate, equal-opportunity, or any (both).",
        ),
    ] = "any",
) -> None:
    """Per group: share called (selection rate), recall among acceptors (equal opportunity), precision, and each
    as a ratio to the best-treated group, with 95% bootstrap intervals; groups below four-fifths (0.8) are flagged."""
    from uptake.decide.fairness import FLAG_METRICS  # imported when the command runs: `uptake --help` stays instant

    if fail_metric != "any" and fail_metric not in FLAG_METRICS:
        raise UptakeInputError(f"--fail-metric {fail_metric!r}: choose selection-rate, equal-opportunity or any")
    wanted = FLAG_METRICS.get(fail_metric)
    from uptake.audit.window import (  # imported when the command runs: `uptake --help` stays instant
        existing_db,
        parse_since,
        parse_until,
    )

    if not group:
        raise UptakeInputError("--group: name at least one column to compare groups by (e.g. --group Family)")
    if (data is None) == (db is None):
        raise UptakeInputError("fairness: give a labelled DATA file or --db URL (one of them)")
    if db is not None:
        db = existing_db(db)
    if db is None and (since or until):
        raise UptakeInputError("--since and --until read the audit log: give --db URL")
    m = load_model(model, strict, range_margin)
    notes: list[str] = []
    if data is not None:
        from uptake.evaluate.labelled import fairness_frame  # only the mode used is imported
        from uptake.pipeline.rows import score_table

        scored = score_table(m, data, sheet=sheet, skip_invalid=skip_invalid)
        tables = [fairness_frame(m, scored.df, g, source=data, table=scored) for g in group]
        source = str(data)
        notes = scored.notes(strict)
    else:
        from uptake.monitor.fairness import fairness_log  # only the mode used is imported

        tables = [fairness_log(db, m, g, since=parse_since(since), until=parse_until(until)) for g in group]
        source = str(db)
    if as_json:
        typer.echo(json.dumps({"source": source, "model_version": m.version, "fairness": tables}, default=float))
    else:
        say_notes(notes)
        for t in tables:
            show(t, m.positive_name)
    if fail_on_flag and any(
        r["flags"] and (wanted is None or wanted in r["flags"]) for t in tables for r in t["groups"]
    ):
        raise typer.Exit(FLAG_EXIT)


def show(t: dict[str, Any], positive_name: str) -> None:
    from rich.table import Table  # imported when the command runs

    def pct(v: float | None, ci: Any = None) -> str:
        return "-" if v is None else f"{v:.1%}" + (f" ({ci[0]:.1%}-{ci[1]:.1%})" if ci else "")

    def ratio(v: float | None, ci: Any = None) -> str:
        text = "-" if v is None else (f"[red]{v:.2f}[/]" if v < 0.8 else f"{v:.2f}")
        return text + (f" ({ci[0]:.2f}-{ci[1]:.2f})" if v is not None and ci else "")

    table = Table(title=f"Fairness by {t['group']} ({t['customers']:,} customers; {t['rule']} rule)")
    for head in (
        "group",
        "customers",
        positive_name,
        "called",
        "ratio",
        "recall",
        "ratio",
        "precision",
        "ratio",
        "flag",
    ):
        table.add_column(head)
    for r in t["groups"]:
        table.add_row(
            r["group"],
            f"{r['customers']:,}",
            f"{r['acceptors']:,} ({pct(r['base_rate'])})",
            pct(r["selection_rate"], r.get("intervals", {}).get("selection_rate")),
            ratio(r["selection_rate_ratio"], r.get("intervals", {}).get("selection_rate_ratio")),
            pct(r["recall"], r.get("intervals", {}).get("recall")),
            ratio(r["recall_ratio"], r.get("intervals", {}).get("recall_ratio")),
            pct(r["precision"]),
            ratio(r["precision_ratio"]),
            "too few to judge"
            if r["small"]
            else ", ".join(f + (" (uncertain)" if f in r.get("uncertain", []) else "") for f in r["flags"]) or "-",
        )
    console.print(table)
    console.print(t["summary"], markup=False, highlight=False)
    console.print(
        f"'called' is the share of the group called, '{positive_name}' its count and share; a lower "
        "selection rate can follow a lower share of acceptors, which equal opportunity (recall) separates. "
        f"In brackets: {t.get('intervals', '95% intervals')}; a flag marked uncertain has an interval that "
        "reaches four-fifths.",
        markup=False,
        highlight=False,
        style="dim",
    )


__all__ = ["FLAG_EXIT", "fairness", "show"]
