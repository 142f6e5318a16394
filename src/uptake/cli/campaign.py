"""``uptake plan``: whom to call, how many, and what that earns (``uptake.campaign``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from uptake.cli.common import (
    RangeMargin,
    Sheet,
    SkipInvalid,
    Strict,
    app,
    console,
    err_console,
    load_model,
    say_notes,
    say_skipped,
)
from uptake.errors import UptakeInputError


@app.command()
def plan(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Customers to rank (labels optional: with them, actual figures too).")],
    contact_cost: Annotated[float, typer.Option("--contact-cost", help="Money spent per customer contacted (> 0).")],
    accept_value: Annotated[float, typer.Option("--accept-value", help="Money earned per accepted offer (> 0).")],
    budget: Annotated[
        float | None, typer.Option(help="Money for the campaign: contacts = floor(budget / contact cost).")
    ] = None,
    top: Annotated[str | None, typer.Option(help="Contact the top share instead, e.g. 10%.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the ranked contact list (.csv or .parquet).")
    ] = None,
    sheet: Sheet = None,
    skip_invalid: SkipInvalid = False,
    strict: Strict = False,
    range_margin: RangeMargin = 0.25,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Plan a campaign: gains and lift by decile, profit by share contacted, and whom to call.

    Without --budget or --top the list is the share that maximises profit.
    """
    from uptake import (
        campaign,  # imported when the command runs: `uptake --help` stays instant
    )
    from uptake.decide.money import check_money
    from uptake.io.jsonable import jsonable
    from uptake.io.outputs import check_output
    from uptake.io.writer import write_frame
    from uptake.pipeline.rows import score_table
    from uptake.schema.target import target_labels

    check_money(contact_cost, accept_value)
    if budget is not None and top is not None:
        raise UptakeInputError("--budget and --top: give one of them, not both")
    share = campaign.parse_top(top) if top is not None else None
    if out is not None:
        check_output(out, inputs=(data,))
    m = load_model(model, strict, range_margin)
    table = score_table(m, data, sheet=sheet, skip_invalid=skip_invalid)
    df, scored = table.df, table.scored
    y = target_labels(m.schema, table.rows, data, required=False)
    result = campaign.plan(
        scored.probability, y, contact_cost, accept_value, budget=budget, top=share, positives=m.positive_name
    )
    frame = m.frame(df, scored)
    frame["expected_value"] = accept_value * frame["probability"] - contact_cost
    listed = campaign.contact_list(frame, result.contacts)
    if out is not None:
        write_frame(listed, out, inputs=(data,))
    warning = _calibration_warning(m)
    if as_json:
        payload = result.to_dict()
        payload.update(
            {
                "rows": len(frame),
                "skipped_invalid": len(scored.invalid_rows),
                "read": table.summary(),
                "out": str(out) if out else None,
                "warning": warning,
            }
        )
        print(json.dumps(jsonable(payload)))
        return
    say_skipped(scored.errors, data)
    say_notes(table.notes(strict))
    _print_plan(result, len(frame), out, warning)


def _calibration_warning(m: Any) -> str | None:
    """Expected money is only as honest as the probabilities; re-weighted training inflates them."""
    from uptake.decide.calibration import (
        DISTORTING,  # imported when the command runs: `uptake --help` stays instant
    )

    strategy = m.card.imbalance.strategy
    if strategy in DISTORTING and m.card.calibration is None:
        return (
            f"this model was trained with {strategy}, which inflates probabilities: expected acceptances and "
            "profit are overstated; train with --calibrate isotonic for money figures you can trust"
        )
    return None


def _print_plan(result: Any, n: int, out: Path | None, warning: str | None) -> None:

    d = result.deciles
    table = Table(
        title=(
            f"Deciles of {n:,} ranked customers (contact {result.contact_cost:g}, acceptance {result.accept_value:g})"
        ),
        title_justify="left",
    )
    heads = ["decile", "customers", "expected acc.", "exp. cum. profit"]
    if result.has_labels:
        heads += ["actual acc.", "precision", "cum. recall", "cum. profit"]
    for h in heads:
        table.add_column(h, justify="right")
    for r in d.to_dict(orient="records"):
        cells = [
            str(r["decile"]),
            f"{r['customers']:,}",
            f"{r['expected_acceptances']:.1f}",
            f"{r['expected_cumulative_profit']:,.0f}",
        ]
        if result.has_labels:
            cells += [
                f"{r['actual_acceptances']:,}",
                f"{r['precision']:.1%}",
                f"{r['cumulative_recall']:.1%}",
                f"{r['cumulative_profit']:,.0f}",
            ]
        table.add_row(*cells)
    console.print(table)
    g = result.gains
    console.print(
        "Cumulative gains / lift: "
        + ", ".join(
            f"{s:.0%}: {gain:.0%} x{lift:.1f}" for s, gain, lift in zip(g["share_contacted"], g["gain"], g["lift"])
        )
    )
    console.print(result.sentence)
    pc = result.profit
    console.print(
        f"Profit peaks at {pc.best_contacts:,} contacts ({pc.best_share:.1%} of the list): "
        f"{pc.best_profit:,.0f} ({pc.basis})."
    )
    at = result.expected_at_contacts
    line = f"Contact list: {result.contacts:,} customers ({result.contacts_rule}), cost {at['cost']:,.0f}"
    if "expected_acceptances" in at:
        line += (
            f", expected acceptances {at['expected_acceptances']:,.1f}, expected profit {at['expected_profit']:,.0f}"
        )
    if "actual_acceptances" in at:
        line += (
            f"; actually {at['actual_acceptances']:,.0f} acceptors ({at['recall']:.0%} of all), "
            f"profit {at['actual_profit']:,.0f}"
        )
    console.print(line + (f" -> {out}" if out else ""))
    if warning:
        err_console.print(f"note: {warning}", markup=False, highlight=False, soft_wrap=True)


__all__ = ["plan"]
