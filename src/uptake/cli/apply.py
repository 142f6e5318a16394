"""``uptake predict`` and ``uptake evaluate``: a saved model applied to a table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from uptake.cli.common import (
    RangeMargin,
    RowsProgress,
    Sheet,
    SkipInvalid,
    Strict,
    app,
    console,
    err_console,
    load_model,
    metrics_table,
    say_notes,
    say_skipped,
)
from uptake.errors import UptakeInputError

ENGINES = ("local", "dask")

if TYPE_CHECKING:
    from uptake.pipeline import Model


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Labelled table to evaluate on.")],
    sheet: Sheet = None,
    skip_invalid: SkipInvalid = False,
    strict: Strict = False,
    range_margin: RangeMargin = 0.25,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Score a labelled table with a saved model and print imbalance-aware metrics at its threshold."""
    from uptake.decide.metrics import METRIC_KEYS, describe  # imported when the command runs: --help stays instant
    from uptake.evaluate.labelled import evaluate_scored
    from uptake.io.jsonable import jsonable
    from uptake.pipeline.rows import score_table

    m = load_model(model, strict, range_margin)
    table = score_table(m, data, sheet=sheet, skip_invalid=skip_invalid)
    result = evaluate_scored(m, table)
    if as_json:
        payload = {k: jsonable(result[k]) for k in METRIC_KEYS}
        payload["rows"] = jsonable(table.summary())
        print(json.dumps(payload))
        return
    say_skipped(table.scored.errors, data)
    say_notes(table.notes(strict))
    console.print(
        metrics_table(f"{data} ({result['n']} rows) at threshold {m.threshold:.3f}", describe(result, m.positive_name))
    )


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Table of customers to score (raw columns, as in training).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output .csv or .parquet: input rows + probability, decision, rank.")
    ],
    sheet: Sheet = None,
    skip_invalid: SkipInvalid = False,
    strict: Strict = False,
    range_margin: RangeMargin = 0.25,
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
    from uptake.apply.stream import DEFAULT_CHUNK_ROWS  # imported when the command runs: --help stays instant
    from uptake.explain import add_reason_columns
    from uptake.io.outputs import check_output
    from uptake.io.tables import check_input
    from uptake.io.writer import write_frame
    from uptake.pipeline.rows import score_table

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
    m = load_model(model, strict, range_margin)
    if not explain and kind in ("csv", "parquet"):
        _stream(m, model, data, out, skip_invalid, engine, scheduler, rank, chunk_rows or DEFAULT_CHUNK_ROWS, strict)
        _record(m, out, db)
        return
    if engine != "local" or not rank:
        raise UptakeInputError("--engine dask and --no-rank apply to CSV and Parquet inputs without --explain")
    table = score_table(m, data, sheet=sheet, skip_invalid=skip_invalid)
    df, scored = table.df, table.scored
    say_skipped(scored.errors, data)
    say_notes(table.notes(strict))
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
    strict: bool = False,
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
    say_skipped(summary.errors, data)
    say_notes(summary.notes(strict))
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
