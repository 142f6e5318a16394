"""The ``uptake`` command: a thin Typer layer over the Python API.

Commands live in one submodule per stage (``core``: train/evaluate/predict/synth;
``insight``: compare/tune-threshold/plan/report; ``serving``: serve/log;
``scale``: streaming and Dask options) and register themselves on ``app``.

Every command reads its inputs through ``uptake.data``, works through the API and
writes outputs atomically. User mistakes surface as one line on stderr and exit
code 2 (``main`` turns ``UptakeInputError`` into that); anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

import uptake
from uptake.errors import UptakeInputError

app = typer.Typer(
    name="uptake",
    help="Find the customers who will take up an offer (and other rare events) with imbalance-aware networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

DEFAULT_MODEL_DIR = Path("models/uptake")
EMBEDDED_ROWS = 5000


# ---- shared helpers ------------------------------------------------------------------------
def parse_kinds(items: list[str] | None) -> dict[str, str]:
    """``--kind Family=numeric`` pairs into a dict."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, kind = item.partition("=")
        if not sep or not name.strip():
            raise UptakeInputError(f"--kind {item!r}: write COLUMN=numeric|binary|categorical")
        out[name.strip()] = kind.strip()
    return out


def metrics_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


def write_frame_atomic(df: Any, out: Path) -> None:
    """CSV or Parquet by extension, through a temporary file renamed into place."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise UptakeInputError(f"file '{out}': output must end in .csv or .parquet")
    if out.parent and not out.parent.exists():
        raise UptakeInputError(f"file '{out}': the directory {str(out.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
    os.close(fd)
    try:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RichProgress:
    """A Keras callback drawing one rich progress bar across all epochs of all ensemble members."""

    def __new__(cls, total_epochs: int, members: int = 1):
        import keras
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        class _Callback(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.progress = Progress(
                    TextColumn("[progress.description]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TextColumn("{task.fields[stats]}"),
                    console=err_console,
                    transient=False,
                    disable=not err_console.is_terminal and os.environ.get("UPTAKE_PROGRESS") != "1",
                )
                self.task = None
                self.member = 0

            def on_train_begin(self, logs=None):
                if self.task is None:
                    self.progress.start()
                    self.task = self.progress.add_task("training", total=total_epochs * members, stats="")
                self.member += 1
                self.progress.update(self.task, description=f"member {self.member}/{members}")

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                stats = "  ".join(
                    f"{k} {logs[k]:.4f}" for k in ("loss", "val_loss", "pr_auc", "val_pr_auc") if k in logs
                )
                self.progress.update(self.task, advance=1, stats=stats)

            def close(self):
                if self.task is not None:
                    self.progress.stop()

        return _Callback()


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except UptakeInputError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # click usage errors surface here with standalone_mode=False
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise




# Stage commands register on `app` when imported.
from uptake.cli import core, insight, scale, serving  # noqa: E402,F401

if __name__ == "__main__":
    main()
