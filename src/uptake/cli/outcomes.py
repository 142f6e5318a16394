"""``uptake outcomes import``: who actually accepted, stored beside the audit log to judge the model by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from uptake.audit.defaults import DEFAULT_DB
from uptake.cli.common import Sheet, app, console, err_console
from uptake.errors import UptakeInputError

outcomes_app = typer.Typer(
    help="Realised outcomes (who accepted), joined to the audit log by customer id.", no_args_is_help=True
)
app.add_typer(outcomes_app, name="outcomes")
#: Problem rows shown on the terminal (all of them go to --rejects).
SHOWN = 10


@outcomes_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV, Excel or Parquet table with one row per customer.")],
    id_column: Annotated[
        str,
        typer.Option(
            "--id",
            help="Column with the customer id (as sent to the API's `id` field or in the scored file's id column).",
        ),
    ],
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome",
            help="Column saying whether the customer accepted (1/0, yes/no, true/false, or see --positive).",
        ),
    ],
    date: Annotated[
        str | None,
        typer.Option(
            help=(
                "Column with the date of the outcome; outcomes dated before the customer's first prediction are "
                "refused."
            )
        ),
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(help="The outcome value that means accepted, when it is not 1/yes/true (case aside)."),
    ] = None,
    negative: Annotated[
        str | None,
        typer.Option(
            help="With --positive: the value that means declined (default: a no word, or the only other value)."
        ),
    ] = None,
    db: Annotated[
        str, typer.Option(help="Audit log database URL (the one `uptake serve --db` or `uptake predict --db` wrote).")
    ] = DEFAULT_DB,
    sheet: Sheet = None,
    skip_problems: Annotated[
        bool,
        typer.Option(help="Import the clean rows even when some have problems (they are still counted and listed)."),
    ] = False,
    rejects: Annotated[Path | None, typer.Option(help="Write every problem row, with its reason, to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of sentences.")] = False,
) -> None:
    """Store realised outcomes in one transaction: all rows, or none when any row has a problem (see --skip-problems).

    Problems are counted and listed by row: missing or malformed ids, outcomes that are not yes/no, ids given
    twice, customers the audit log never scored, outcomes dated before the prediction, and ids already imported
    with the other outcome. Importing the same outcome again changes nothing. Exit 2 when rows were refused.
    """
    from uptake.audit.outcomes import PROBLEMS, import_outcomes  # imported when the command runs: --help stays instant
    from uptake.io.outputs import check_output

    if rejects is not None:
        check_output(rejects, inputs=[file], suffixes=(".csv",))
    report = import_outcomes(
        db,
        file,
        id_column,
        outcome,
        date_column=date,
        positive=positive,
        negative=negative,
        skip_problems=skip_problems,
        sheet=sheet,
    )
    if rejects is not None and report.problems:
        _write_rejects(rejects, report)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
    else:
        for p in report.problems[:SHOWN]:
            err_console.print(f"problem: {p.line(file)}", markup=False, highlight=False, soft_wrap=True)
        if len(report.problems) > SHOWN:
            err_console.print(
                f"... and {len(report.problems) - SHOWN:,} more"
                + (f" (all in {rejects})" if rejects else " (--rejects FILE lists them all)"),
                markup=False,
            )
        counts = ", ".join(f"{n:,} {PROBLEMS[k]}" for k, n in report.counts().items())
        if report.written:
            console.print(
                f"Imported {report.imported:,} outcomes ({report.positives:,} accepted) from {file} as "
                f"{report.import_id}"
                + (f"; {report.already:,} were already imported" if report.already else "")
                + (f"; left out {len(report.problems):,} rows: {counts}" if report.problems else ""),
                markup=False,
                highlight=False,
            )
        else:
            err_console.print(
                f"error: nothing imported: {len(report.problems):,} of {report.rows:,} rows have "
                f"problems ({counts}); fix them, or import the rest with --skip-problems",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    if report.interrupted:  # stopped while committing: the import happened, and the user is told how to undo it
        err_console.print(
            f"interrupted after the import was committed ({report.imported:,} outcomes stored as "
            f"{report.import_id}; `uptake outcomes undo {report.import_id}` removes them)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(128 + report.interrupted[0])
    if report.problems and not report.written:
        raise typer.Exit(UptakeInputError.exit_code)


def _write_rejects(path: Path, report: object) -> None:
    import pandas as pd  # imported when the command runs

    from uptake.audit.outcomes import PROBLEMS
    from uptake.io.writer import write_frame

    rows = [{"row": p.row, "id": p.customer_id, "problem": PROBLEMS[p.kind], "value": p.value} for p in report.problems]  # type: ignore[attr-defined]
    write_frame(pd.DataFrame(rows).astype({"id": "string", "value": "string"}), path)


@outcomes_app.command("undo")
def undo(
    import_id: Annotated[str, typer.Argument(help="The import's id, as `uptake outcomes import` printed it.")],
    db: Annotated[str, typer.Option(help="Audit log database URL.")] = DEFAULT_DB,
) -> None:
    """Remove the outcomes one import stored (to import a corrected file instead)."""
    from uptake.audit.outcomes import undo_import  # imported when the command runs: --help stays instant
    from uptake.audit.window import existing_db

    removed = undo_import(existing_db(db), import_id)
    if not removed:
        raise UptakeInputError(f"{import_id!r}: no outcomes were stored by that import (a mistyped id?)")
    console.print(f"Removed {removed:,} outcomes of {import_id}", markup=False)


__all__ = ["import_", "undo"]
