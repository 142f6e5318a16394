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
    RangeMargin,
    Sheet,
    SkipInvalid,
    Strict,
    Threshold,
    app,
    console,
    err_console,
    load_model,
    say_notes,
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
    sheet: Sheet = None,
    skip_invalid: SkipInvalid = False,
    strict: Strict = False,
    range_margin: RangeMargin = 0.25,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored threshold rule as JSON.")] = False,
) -> None:
    """Re-choose a model's decision threshold on labelled data (max F1 by default) and store it in the model."""
    from uptake.decide.thresholds import (  # imported when the command runs: `uptake --help` stays instant
        describe,
        rule_from_options,
    )
    from uptake.io.tables import read_table
    from uptake.schema import Policy
    from uptake.train.tune import tune_model

    rule = rule_from_options(threshold, min_recall, min_precision, contact_cost, accept_value)
    names = load_model(model).positive_name
    df = read_table(data, sheet=sheet)
    policy = Policy(range_margin=range_margin, strict=strict)
    entry = tune_model(model, df, rule, source=data, out=out, skip_invalid=skip_invalid, policy=policy)
    notes = entry.pop("notes", [])
    if as_json:
        print(json.dumps(entry))
        return
    say_notes(notes)
    console.print(describe(entry, entry["expected"]["threshold"], names))
    if entry.get("warning"):
        err_console.print(f"note: {entry['warning']}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Stored in {(out or model) / 'metadata.json'}")


__all__ = ["tune_threshold"]
