"""``uptake synth`` (synthetic tables for demos and scale tests) and ``uptake version``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import uptake
from uptake.cli.common import app, console


@app.command()
def synth(
    kind: Annotated[
        str, typer.Option(help="loan (the bank table's columns) or fraud (card transactions, 0.17% positives).")
    ] = "loan",
    rows: Annotated[int, typer.Option(min=1, help="Number of rows.")] = 5000,
    seed: Annotated[int, typer.Option(help="Same seed, same table.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help=".csv, .parquet or .xlsx")] = Path("synthetic.csv"),
    shift: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Drift on purpose: COLUMN=AMOUNT adds AMOUNT to a numeric column, COLUMN=xFACTOR multiplies it "
                "(repeatable), for testing `uptake monitor`."
            )
        ),
    ] = None,
) -> None:
    """Generate a synthetic table with the real schema, for demos and scale tests."""
    from uptake.synth import (  # imported when the command runs: `uptake --help` stays instant
        iter_table_chunks,
        make_table,
        parse_shifts,
        shifted,
        write_table,
    )

    shifts = parse_shifts(shift or [], kind)
    if rows > 1_000_000 and out.suffix.lower() in (".csv", ".parquet"):
        write_table((shifted(c, shifts) for c in iter_table_chunks(kind, rows, seed)), out)
    else:
        write_table(shifted(make_table(kind, rows, seed), shifts), out)
    moved = "".join(f", {c} {'x' if op == 'x' else '+'}{v:g}" for c, (op, v) in shifts.items())
    console.print(f"Wrote {rows:,} synthetic {kind} rows to {out}{moved}")


@app.command()
def version() -> None:
    """Print uptake's version and its backend."""
    import keras  # imports JAX: only to report them

    console.print(f"uptake {uptake.__version__} (Keras {keras.__version__}, backend {keras.backend.backend()})")


__all__ = ["synth", "version"]
