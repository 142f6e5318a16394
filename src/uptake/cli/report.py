"""``uptake report``: one self-contained HTML report for a manager (``uptake.report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from uptake.cli.common import RangeMargin, Sheet, Strict, app, console


@app.command()
def report(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The .html file to write; figures also go to <name>_files/.")
    ] = Path("report.html"),
    data: Annotated[
        Path | None, typer.Option(help="Labelled table to measure on; the training file gives train and test curves.")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="Output directory of `uptake compare --out DIR`: adds the leaderboard.")
    ] = None,
    contact_cost: Annotated[
        float, typer.Option("--contact-cost", help="Money per contact, for the campaign section (> 0).")
    ] = 5.0,
    accept_value: Annotated[
        float, typer.Option("--accept-value", help="Money per accepted offer, for the campaign section (> 0).")
    ] = 100.0,
    sheet: Sheet = None,
    strict: Strict = False,
    range_margin: RangeMargin = 0.25,
    shap: Annotated[bool, typer.Option("--shap/--no-shap", help="Also compute SHAP importance (slow).")] = False,
    group: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Fairness section: compare groups by this column, optionally cut at edges (Family, Age:35,45,55; "
                "repeatable)."
            )
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report (figures embedded) for a manager: data, model, campaign, model card."""
    from uptake.report import build_report  # imported when the command runs: `uptake --help` stays instant
    from uptake.schema import Policy

    result = build_report(
        model,
        out,
        data=data,
        compare=compare,
        contact_cost=contact_cost,
        accept_value=accept_value,
        sheet=sheet,
        shap=shap,
        groups=group,
        policy=Policy(range_margin=range_margin, strict=strict),
    )
    console.print(f"Report written to {result.path} ({len(result.figures)} figures, also in {result.files_dir}/)")


__all__ = ["report"]
