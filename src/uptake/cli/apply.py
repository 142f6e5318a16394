"""``uptake predict`` and ``uptake evaluate``: a saved model applied to a table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from uptake.cli.common import RowsProgress, app, console, err_console, metrics_table
from uptake.errors import UptakeInputError

ENGINES = ("local", "dask")

if TYPE_CHECKING:
    from uptake.pipeline import Model


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Labelled table to evaluate on.")],
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Score a labelled table with a saved model and print imbalance-aware metrics at its threshold."""
    from uptake.decide.metrics import (  # imported when the command runs: `uptake --help` stays instant
        METRIC_KEYS,
        describe,
    )
    from uptake.evaluate.labelled import evaluate_frame
    from uptake.io.jsonable import jsonable
    from uptake.io.tables import read_table
    from uptake.pipeline import Model

    m = Model.load(model)
    result = evaluate_frame(m, read_table(data, sheet=sheet), source=data)
    if as_json:
        print(json.dumps({k: jsonable(result[k]) for k in METRIC_KEYS}))
    else:
        console.print(
            metrics_table(
                f"{data} ({result['n']} rows) at threshold {m.threshold:.3f}", describe(result, m.positive_name)
            )
        )


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Table of customers to score (raw columns, as in training).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output .csv or .parquet: input rows + probability, decision, rank.")
    ],
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="Skip invalid rows (and count them) instead of failing.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add reason_1..reason_3: the top reasons behind each score.")
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="local (stream the file in chunks) or dask (a Parquet dataset on a dask.distributed cluster)."
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address tcp://HOST:PORT (default: start a local 2-worker cluster)."),
    ] = None,
    rank: Annotated[
        bool,
        typer.Option(
            "--rank/--no-rank",
            help="Add the exact global rank (a second pass over the input); --no-rank writes in one pass.",
        ),
    ] = True,
    chunk_rows: Annotated[
        int | None,
        typer.Option(min=1, help="Rows scored at a time when streaming (memory grows with this, not the file)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            help=(
                "Also record every scored row (with its customer id) in this audit database, as `uptake serve "
                "--db` does, so outcomes can be joined later."
            )
        ),
    ] = None,
) -> None:
    """Score new customers: probability, decision at the model's threshold, and rank (1 = most likely).

    CSV and Parquet inputs (a Parquet file or a directory of them) are streamed in
    chunks with bounded memory; Excel files, and --explain, read the table whole.
    """
    from uptake.apply.stream import (
        DEFAULT_CHUNK_ROWS,  # imported when the command runs: `uptake --help` stays instant
    )
    from uptake.explain import add_reason_columns
    from uptake.io.outputs import check_output
    from uptake.io.tables import check_input, read_table
    from uptake.io.writer import write_frame
    from uptake.pipeline import Model

    if engine not in ENGINES:
        raise UptakeInputError(f"--engine {engine!r}: choose local or dask")
    if scheduler and engine != "dask":
        raise UptakeInputError("--scheduler needs --engine dask")
    kind = check_input(data)
    check_output(out, inputs=(data,))
    if db is not None:  # a wrong URL is said before the scoring, not after it
        from uptake.audit.db import make_engine, migrate  # only with --db

        engine_ = make_engine(db)
        migrate(engine_)
        engine_.dispose()
    m = Model.load(model)
    if not explain and kind in ("csv", "parquet"):
        _stream(m, model, data, out, skip_invalid, engine, scheduler, rank, chunk_rows or DEFAULT_CHUNK_ROWS)
        _record(m, out, db)
        return
    if engine != "local" or not rank:
        raise UptakeInputError("--engine dask and --no-rank apply to CSV and Parquet inputs without --explain")
    df = read_table(data, sheet=sheet)
    scored = m.score(df, source=data, skip_invalid=skip_invalid, require_values=True)
    for e in scored.errors[:20]:
        err_console.print(f"skipped invalid row: {e.message(data)}", markup=False, highlight=False, soft_wrap=True)
    frame = m.frame(df, scored)
    if explain:
        frame = add_reason_columns(m, df, frame)
    write_frame(frame, out, inputs=(data,))
    console.print(
        f"Scored {len(frame):,} rows ({int(frame['decision'].sum()):,} above threshold {m.threshold:.3f})"
        + (f"; skipped {len(scored.invalid_rows):,} invalid rows" if scored.invalid_rows else "")
        + f" -> {out}"
    )
    _record(m, out, db)


def _record(m: Model, out: Path, db: str | None) -> None:
    if db is None:
        return
    from uptake.audit.batch import record_scored  # imported when the command runs: `uptake --help` stays instant

    batch, rows, ids_at = record_scored(
        db,
        out,
        model_version=m.version,
        threshold=m.threshold,
        features=m.schema.feature_names,
        dropped=m.schema.dropped,
    )
    console.print(
        f"Recorded {rows:,} rows in the audit log as batch {batch}"
        + (
            f" (customer ids from column '{ids_at}')"
            if ids_at
            else " (no id column found: outcomes cannot be joined to these rows)"
        ),
        soft_wrap=True,
    )


def _stream(
    m: Model,
    model: Path,
    data: Path,
    out: Path,
    skip_invalid: bool,
    engine: str,
    scheduler: str | None,
    rank: bool,
    chunk_rows: int,
) -> None:
    """Score through ``uptake.apply`` and print the same summary as the whole-file path."""
    from uptake.apply.stream import (  # imported when the command runs: `uptake --help` stays instant
        ScoreSummary,
        stream_predict,
    )

    with RowsProgress() as progress:
        if engine == "dask":
            from uptake.apply.dask.client import (
                dask_predict,  # imports distributed: only for --engine dask
            )

            summary: ScoreSummary = dask_predict(
                model,
                data,
                out,
                scheduler=scheduler,
                skip_invalid=skip_invalid,
                rank=rank,
                chunk_rows=chunk_rows,
                progress=progress,
            )
        else:
            summary = stream_predict(
                m, data, out, chunk_rows=chunk_rows, skip_invalid=skip_invalid, rank=rank, progress=progress
            )
    for message in summary.errors:
        err_console.print(f"skipped invalid row: {message}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"Scored {summary.rows_scored:,} rows ({summary.positives:,} above threshold {m.threshold:.3f})"
        + (f"; skipped {summary.invalid:,} invalid rows" if summary.invalid else "")
        + f" -> {out}"
    )
    err_console.print(
        f"{summary.rows_read:,} rows in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s, "
        f"engine {summary.engine}{'' if summary.ranked else ', no rank'})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


__all__ = ["evaluate", "predict"]
