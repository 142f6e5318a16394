"""Scale: streaming and Dask scoring behind ``uptake predict``, and ``uptake train-stream``.

``predict`` (in ``core``) hands CSV and Parquet inputs to ``run_predict`` here, which
streams them through ``uptake.scoring`` with a rich progress bar (rows and rows/s on
stderr). ``train-stream`` trains a network from a Parquet file read in batches
(``uptake.bigdata``), for training tables larger than memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from uptake.cli import DEFAULT_MODEL_DIR, app, console, err_console, metrics_table
from uptake.errors import UptakeInputError

ENGINES = ("local", "dask")


class RowsProgress:
    """A rich progress bar for ``uptake.scoring``: one task per phase, rows done and rows/s.

    Drawn on stderr, and only on a terminal (or with ``UPTAKE_PROGRESS=1``), so
    redirected output and logs stay clean.
    """

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            TextColumn("{task.completed:>14,.0f} rows"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
            disable=not err_console.is_terminal and os.environ.get("UPTAKE_PROGRESS") != "1",
        )
        self.task: Any = None

    def __enter__(self) -> RowsProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def phase(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].completed)
        self.task = self.progress.add_task(name, total=total, rate="")

    def advance(self, rows: int) -> None:
        self.progress.advance(self.task, rows)
        speed = self.progress.tasks[self.task].speed
        if speed:
            self.progress.update(self.task, rate=f"{speed:>10,.0f} rows/s")


def streams(data: Path) -> bool:
    """CSV and Parquet inputs (files or Parquet directories) stream; Excel is read whole."""
    from uptake.data import file_kind

    return data.exists() and file_kind(data) in ("csv", "parquet")


def run_predict(
    model: Path, data: Path, out: Path, *, skip_invalid: bool, engine: str, scheduler: str | None,
    rank: bool, chunk_rows: int | None,
) -> None:
    """Score through ``uptake.scoring`` and print the same summary as the whole-file path."""
    from uptake.predict import Model
    from uptake.scoring import DEFAULT_CHUNK_ROWS, dask_predict, stream_predict

    if engine not in ENGINES:
        raise UptakeInputError(f"--engine {engine!r}: choose local or dask")
    if scheduler and engine != "dask":
        raise UptakeInputError("--scheduler needs --engine dask")
    chunk = chunk_rows or DEFAULT_CHUNK_ROWS
    with RowsProgress() as progress:
        if engine == "dask":
            summary = dask_predict(model, data, out, scheduler=scheduler, skip_invalid=skip_invalid, rank=rank,
                                   chunk_rows=chunk, progress=progress)
            threshold = Model.load(model).threshold
        else:
            m = Model.load(model)
            threshold = m.threshold
            summary = stream_predict(m, data, out, chunk_rows=chunk, skip_invalid=skip_invalid, rank=rank,
                                     progress=progress)
    for message in summary.errors:
        err_console.print(f"skipped invalid row: {message}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"Scored {summary.rows_scored:,} rows ({summary.positives:,} above threshold {threshold:.3f})"
        + (f"; skipped {summary.invalid:,} invalid rows" if summary.invalid else "")
        + f" -> {out}"
    )
    err_console.print(
        f"{summary.rows_read:,} rows in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s, "
        f"engine {summary.engine}{'' if summary.ranked else ', no rank'})",
        markup=False, highlight=False, soft_wrap=True,
    )


@app.command("train-stream")
def train_stream(
    data: Annotated[Path, typer.Argument(help="Parquet file or directory of Parquet files (may be larger than memory).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write (replaced atomically).")] = DEFAULT_MODEL_DIR,
    target: Annotated[str | None, typer.Option(help="Target column (default: 'Personal Loan' when present).")] = None,
    positive: Annotated[str | None, typer.Option(help="Target label that counts as a positive outcome.")] = None,
    preset: Annotated[str, typer.Option(help="Network preset: seed, tutorial or default.")] = "tutorial",
    epochs: Annotated[int | None, typer.Option(min=1, help="Override the preset's (maximum) epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=2, help="Override the preset's batch size.")] = None,
    learning_rate: Annotated[float | None, typer.Option(min=0.0, help="Override the preset's Adam learning rate.")] = None,
    sample_rows: Annotated[int, typer.Option(min=1000, help="Rows sampled to infer the schema and fit the preprocessing.")] = 200_000,
    chunk_rows: Annotated[int, typer.Option(min=1000, help="Rows read from Parquet at a time.")] = 250_000,
    seed: Annotated[int, typer.Option(help="Fixes the splits, the sample and the weights.")] = 0,
) -> None:
    """Train on a Parquet table too big for memory: balanced batches streamed from disk, early stopping on validation."""
    from uptake import bigdata
    from uptake.evaluate import describe

    config = bigdata.StreamConfig(
        target=target, positive=positive, preset=preset, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, sample_rows=sample_rows, chunk_rows=chunk_rows, seed=seed,
    )
    trained = bigdata.train_stream(data, config)
    path = bigdata.save(trained, out)
    m = trained.test
    console.print(f"Rows: {trained.rows:,}   positives: {trained.positives:,}   split: "
                  + ", ".join(f"{k} {v:,}" for k, v in trained.split_rows.items()))
    console.print(metrics_table(f"Test split ({m['n']:,} rows) at threshold {m['threshold']:.3f}", describe(m)))
    console.print(f"Model saved to {path}/")
