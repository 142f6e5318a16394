"""``uptake tune-threshold``: re-choose a saved model's decision threshold on labelled rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from uptake.cli.common import (
    AcceptValue,
    ContactCost,
    MinPrecision,
    MinRecall,
    Threshold,
    app,
    console,
    err_console,
)


@app.command("tune-threshold")
def tune_threshold(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[
        Path, typer.Argument(help="Labelled table to choose the threshold on (not the training file, ideally).")
    ],
    threshold: Threshold = None,
    min_recall: MinRecall = None,
    min_precision: MinPrecision = None,
    contact_cost: ContactCost = None,
    accept_value: AcceptValue = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write a copy of the model with the new threshold here (default: update MODEL in place).",
        ),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored threshold rule as JSON.")] = False,
) -> None:
    """Re-choose a model's decision threshold on labelled data (max F1 by default) and store it in the model."""
    from uptake.decide.thresholds import (  # imported when the command runs: `uptake --help` stays instant
        describe,
        rule_from_options,
    )
    from uptake.io.tables import read_table
    from uptake.pipeline import Model
    from uptake.train.tune import tune_model

    rule = rule_from_options(threshold, min_recall, min_precision, contact_cost, accept_value)
    names = Model.load(model).positive_name
    df = read_table(data, sheet=sheet)
    entry = tune_model(model, df, rule, source=data, out=out)
    if as_json:
        print(json.dumps(entry))
        return
    console.print(describe(entry, entry["expected"]["threshold"], names))
    if entry.get("warning"):
        err_console.print(f"note: {entry['warning']}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Stored in {(out or model) / 'metadata.json'}")


__all__ = ["tune_threshold"]
