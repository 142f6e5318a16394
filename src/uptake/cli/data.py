"""``uptake synth`` (synthetic tables for demos and scale tests) and ``uptake version``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import uptake
from uptake.cli.common import app, console


@app.command()
def synth(
    kind: Annotated[str, typer.Option(help="loan (the bank table's columns) or fraud (card transactions, 0.17% positives).")] = "loan",
    rows: Annotated[int, typer.Option(min=1, help="Number of rows.")] = 5000,
    seed: Annotated[int, typer.Option(help="Same seed, same table.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help=".csv, .parquet or .xlsx")] = Path("synthetic.csv"),
) -> None:
    """Generate a synthetic table with the real schema, for demos and scale tests."""
    from uptake.synth import (  # imported when the command runs: `uptake --help` stays instant
        iter_table_chunks,
        make_table,
        write_table,
    )

    if rows > 1_000_000 and out.suffix.lower() in (".csv", ".parquet"):
        write_table(iter_table_chunks(kind, rows, seed), out)
    else:
        write_table(make_table(kind, rows, seed), out)
    console.print(f"Wrote {rows:,} synthetic {kind} rows to {out}")


@app.command()
def version() -> None:
    """Print uptake's version and its backend."""
    import keras  # imports JAX: only to report them

    console.print(f"uptake {uptake.__version__} (Keras {keras.__version__}, backend {keras.backend.backend()})")


__all__ = ["synth", "version"]
