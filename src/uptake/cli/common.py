"""What every command shares: the Typer app, consoles, option types, progress bars and small helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

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

# ---- options shared by the commands that train or compare models -----------------------------------
ModelOut = Annotated[Path, typer.Option("--out", "-o", help="Model directory to write (replaced atomically).")]
Target = Annotated[str | None, typer.Option(help="Target column (default: 'Personal Loan' when present).")]
Positive = Annotated[str | None, typer.Option(help="Target label that counts as a positive outcome.")]
Epochs = Annotated[int | None, typer.Option(min=1, help="Override the preset's (maximum) epochs.")]
LearningRate = Annotated[float | None, typer.Option(min=0.0, help="Override the preset's Adam learning rate.")]
Seed = Annotated[int, typer.Option(help="Fixes the splits, the weights and so the metrics.")]

# ---- options shared by every command that chooses a threshold (one name, one help each) ---------
# The rows a rule is chosen on: train's validation split, or the file given to tune-threshold.
ON = "on the rows it is chosen on (train: the validation split; tune-threshold: the file given)"
Threshold = Annotated[float | None, typer.Option(help=f"Fix the decision threshold instead of choosing max-F1 {ON}.")]
MinRecall = Annotated[
    float | None,
    typer.Option(help=f"Choose the highest threshold that finds at least this share of positives {ON}, e.g. 0.9."),
]
MinPrecision = Annotated[
    float | None,
    typer.Option(help=f"Choose the lowest threshold whose calls are at least this share positives {ON}."),
]
ContactCost = Annotated[
    float | None,
    typer.Option(help=f"Money per call; with --accept-value, choose the threshold of maximum profit {ON}."),
]
AcceptValue = Annotated[float | None, typer.Option(help="Money per accepted offer (used with --contact-cost).")]
Calibrate = Annotated[
    str | None,
    typer.Option(
        help=(
            "isotonic | sigmoid: recalibrate probabilities on validation (class weights and oversampling inflate them)."
        )
    ),
]
PositiveName = Annotated[
    str | None,
    typer.Option(
        "--positive-name",
        help=(
            "What the positive class is called in summaries (default: from the target, e.g. acceptors, else "
            "'positives')."
        ),
    ),
]


# ---- options shared by every command that reads rows to score (one name, one help each) --------------
Sheet = Annotated[
    str | None,
    typer.Option(help="Excel sheet to read (default: 'Data' if there is one, else the sheet the workbook opens on)."),
]
SkipInvalid = Annotated[
    bool,
    typer.Option(help="Skip rows holding a value that cannot be scored (and count them) instead of failing."),
]
Strict = Annotated[
    bool,
    typer.Option(
        "--strict/--no-strict",
        help=(
            "Refuse unusual values (numbers beyond the training range widened by --range-margin, categories "
            "unseen in training) instead of scoring and flagging them."
        ),
    ),
]
RangeMargin = Annotated[
    float,
    typer.Option(
        min=0.0,
        help="With --strict: numbers this share of the training span beyond the training range are still scored.",
    ),
]


def load_model(path: Path, strict: bool = False, range_margin: float = 0.25) -> Any:
    """A saved model with the row policy the command's options ask for (``uptake.schema.Policy``)."""
    from uptake.pipeline import Model  # imported when the command runs: `uptake --help` stays instant
    from uptake.schema import Policy

    return Model.load(path, policy=Policy(range_margin=range_margin, strict=strict))


def say_notes(notes: list[str]) -> None:
    """What a user must know about how the rows were read (``ScoredTable.notes``), on stderr."""
    for line in notes:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)


def say_skipped(errors: list[Any], source: object) -> None:
    for e in errors[:20]:
        message = e if isinstance(e, str) else e.message(source)
        err_console.print(f"skipped invalid row: {message}", markup=False, highlight=False, soft_wrap=True)


def rule_options(
    threshold: float | None = None,
    min_recall: float | None = None,
    min_precision: float | None = None,
    contact_cost: float | None = None,
    accept_value: float | None = None,
) -> dict[str, Any]:
    """The threshold-rule options as the Python API takes them (``uptake.decide.thresholds.rule_from_options``)."""
    return {
        "threshold": threshold,
        "min_recall": min_recall,
        "min_precision": min_precision,
        "contact_cost": contact_cost,
        "accept_value": accept_value,
    }


def show_progress() -> bool:
    """Progress bars only on a terminal (or with UPTAKE_PROGRESS=1), so redirected output and logs stay clean."""
    return err_console.is_terminal or os.environ.get("UPTAKE_PROGRESS") == "1"


def parse_kinds(items: list[str] | None) -> dict[str, str]:
    """``--kind Family=numeric`` pairs into a dict."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, kind = item.partition("=")
        if not sep or not name.strip():
            raise UptakeInputError(f"--kind {item!r}: write COLUMN=numeric|binary|categorical|date")
        out[name.strip()] = kind.strip()
    return out


def print_search(hyper: dict[str, Any]) -> None:
    """``auto``: its leaderboard and the combination it serves (the other families print nothing here)."""
    board = hyper.get("leaderboard")
    if not board:
        return
    stacked = hyper.get("combiner") == "stacker"
    t = Table(title=f"auto's search ({hyper.get('search_seconds', 0):.0f} s, {hyper.get('folds')} folds)")
    for head in ("candidate", "family", "out-of-fold PR-AUC", "coefficient" if stacked else "weight", "status"):
        t.add_column(head)
    for e in sorted(board, key=lambda e: -(e.get("oof_pr_auc") or -1.0)):
        part = e.get("coefficient") if stacked else e.get("weight")
        auc = e.get("oof_pr_auc")
        t.add_row(
            e["name"],
            e["family"],
            "-" if auc is None else f"{auc:.4f}",
            "-" if part is None else f"{part:+.3f}",
            e["status"],
        )
    console.print(t)
    members = hyper.get("members") or []
    how = "a logistic stacker on the members' log-odds" if stacked else "a weighted mean of their probabilities"
    console.print(f"Served: {len(members)} members combined by {how}", soft_wrap=True)


def metrics_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


class RichProgress:
    """A Keras callback drawing one rich progress bar across all epochs of all ensemble members."""

    def __new__(cls, total_epochs: int, members: int = 1):
        import keras  # only when a network trains: every other command starts without Keras

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
                    disable=not show_progress(),
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


class RowsProgress:
    """A rich progress bar for ``uptake.scoring``: one task per phase, rows done and rows/s.

    Drawn on stderr, and only on a terminal (or with ``UPTAKE_PROGRESS=1``), so
    redirected output and logs stay clean.
    """

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            TextColumn("{task.completed:>14,.0f} rows"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
            disable=not show_progress(),
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


__all__ = [
    "DEFAULT_MODEL_DIR",
    "EMBEDDED_ROWS",
    "RichProgress",
    "RowsProgress",
    "app",
    "console",
    "err_console",
    "metrics_table",
    "parse_kinds",
    "print_search",
    "rule_options",
    "show_progress",
]
