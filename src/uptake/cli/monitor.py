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
    data: Annotated[Path | None, typer.Argument(help="New rows: CSV or Parquet (read in chunks), or uptake's scored output.")] = None,
    db: Annotated[str | None, typer.Option(help="Monitor the audit log of `uptake serve --db URL` instead of a file.")] = None,
    since: Annotated[str | None, typer.Option(help="With --db: predictions at or after (2026-05-01, or an age such as 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="With --db: predictions before this time.")] = None,
    model_version: Annotated[str | None, typer.Option(help="With --db: only this model version's predictions.")] = None,
    reference: Annotated[Path | None, typer.Option(help="Training file, for models saved without a reference profile.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    html: Annotated[Path | None, typer.Option(help="Also write an HTML page with per-column plots (reference vs now).")] = None,
    fail_on: Annotated[str | None, typer.Option(help="watch or act: exit 3 when any column or the score is in that band or worse.")] = None,
) -> None:
    """Drift of every input column and of the score against the training reference (PSI bands, KS / chi-square)."""
    from uptake.audit.read import parse_since  # imported when the command runs: `uptake --help` stays instant
    from uptake.drift.compare import BANDS
    from uptake.io.outputs import check_output
    from uptake.monitor.page import write_page
    from uptake.monitor.run import monitor as run_monitor

    if fail_on is not None and fail_on not in ("watch", "act"):
        raise UptakeInputError(f"--fail-on {fail_on!r}: choose watch or act")
    if db is None and (since or until or model_version):
        raise UptakeInputError("--since, --until and --model-version read the audit log: give --db URL")
    if html is not None:
        check_output(html, inputs=[data], suffixes=(".html",))
    result = run_monitor(model, data, db=db, since=parse_since(since), until=parse_since(until),
                         reference=reference, model_version=model_version)
    report = result.to_dict()
    if html is not None:
        write_page(html, report, result.reference, result.now, str(model))
    if as_json:
        typer.echo(json.dumps(report, allow_nan=False, default=float))
    else:
        _table(report)
        if html is not None:
            console.print(f"Page: {html}")
    if fail_on is not None and BANDS.index(report["worst"]) >= BANDS.index(fail_on):
        raise typer.Exit(DRIFT_EXIT)


def _table(report: dict) -> None:
    from rich.table import Table  # imported when the command runs: `uptake --help` stays instant

    t = Table(title=f"Drift of {report['source']}: {report['rows_now']:,} rows against "
                    f"{report['rows_reference']:,} training rows (worst: {report['worst']})")
    for head in ("column", "band", "PSI", "test", "p-value", "missing train -> now", "outside range / new categories"):
        t.add_column(head)
    for name, d in report["columns"].items():
        extra = (f"{d['out_of_range_reference']:.1%} -> {d['out_of_range_now']:.1%}" if d["kind"] == "numeric"
                 else ", ".join(f"{k} ({v})" for k, v in list(d["new_categories"].items())[:3]) or "-")
        t.add_row(name, f"[{COLOURS[d['band']]}]{d['band']}[/]", f"{d['psi']:.3f}", d["test"], f"{d['p_value']:.3g}",
                  f"{d['missing_reference']:.1%} -> {d['missing_now']:.1%}", extra)
    s = report["score"]
    if s is not None:
        t.add_row("score", f"[{COLOURS[s['band']]}]{s['band']}[/]", f"{s['psi']:.3f}", s["test"],
                  f"{s['p_value']:.3g}", "", f"from {report['score_from']}")
    console.print(t)
    if report["refused_cells"]:
        console.print("Cells of the wrong type (rows left out): "
                      + ", ".join(f"{k} {v:,}" for k, v in report["refused_cells"].items()))


__all__ = ["DRIFT_EXIT", "monitor"]
