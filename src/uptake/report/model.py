"""The report's parts: figures, tables and sections, the rows it measures on, and what builders share."""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Used when the analyst gives no money figures; stated in the report.
DEFAULT_CONTACT_COST = 5.0
DEFAULT_ACCEPT_VALUE = 100.0
#: Section ids and headings, in order. Every report has all of them (a section whose
#: inputs are missing says what it needs), so readers and tests can rely on the outline.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("data", "Data and class balance"),
    ("who-accepts", "Who accepts"),
    ("learning", "How the model learned"),
    ("decisions", "Decisions at the chosen threshold"),
    ("ranking", "Ranking quality: ROC and precision-recall"),
    ("campaign", "Campaign planning: gains, lift and profit"),
    ("calibration", "Are the probabilities honest? Calibration"),
    ("importance", "What drives the score"),
    ("fairness", "Fairness across groups"),
    ("comparison", "Model comparison"),
    ("model-card", "Model card"),
)

#: Columns the seed notebook plots by outcome (income distribution, average card spend).
SEED_PLOTS = (("Income", "distribution", "$000 per year"), ("CCAvg", "mean", "$000 per month"))


@dataclass
class Figure:
    name: str  # file name in <name>_files/
    title: str
    png: bytes
    caption: str = ""

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class TableBlock:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportResult:
    path: Path
    files_dir: Path
    figures: list[str]
    seconds: dict[str, float]
    sections: list[str]


@dataclass
class Evaluation:
    """The rows a report measures on, with their probabilities and (maybe) labels."""

    source: str
    df: pd.DataFrame  # valid raw rows
    clean: pd.DataFrame
    p: np.ndarray
    y: np.ndarray | None
    is_training_file: bool
    skipped: int
    split: dict[str, np.ndarray] | None = None  # positions into df: train / validation / test
    #: how the rows were read: sheet, blank rows, unusual values flagged (``ScoredTable.notes``)
    notes: list[str] = field(default_factory=list)

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray | None, pd.DataFrame]:
        """Probabilities, labels and clean rows of a split part (or all rows for 'all')."""
        if name == "all" or self.split is None:
            return self.p, self.y, self.clean
        idx = self.split[name]
        return self.p[idx], (self.y[idx] if self.y is not None else None), self.clean.iloc[idx]

    @property
    def eval_name(self) -> str:
        return "test" if self.split is not None else "all"

    @property
    def eval_label(self) -> str:
        if self.split is not None:
            return f"the held-out test split ({len(self.split['test']):,} customers the model never trained on)"
        return f"all {len(self.p):,} customers of {Path(self.source).name}"


class Timer:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now


class Context:
    """Everything the section builders share."""

    def __init__(
        self,
        model: Any,
        ev: Evaluation | None,
        cost: float,
        value: float,
        board: list[dict[str, Any]] | None,
        shap: bool,
        timer: Timer,
    ) -> None:
        self.model, self.ev, self.cost, self.value, self.board, self.shap = model, ev, cost, value, board, shap
        self.card = model.card
        self.timer = timer
        self.labelled = ev is not None and ev.y is not None and len(np.unique(ev.y)) == 2
        self.positives = model.card.positive_name
        self.groups: list[str] = []  # --group: columns the fairness section compares groups by

    def title(self) -> str:
        preset = f" ({self.card.preset} preset)" if self.card.preset else ""
        return f"Who will accept the offer? Model report: {self.card.model_type}{preset}"

    def subtitle(self) -> str:
        data = f"measured on {Path(self.ev.source).name}" if self.ev else "from the model's stored results only"
        return (
            f"Model {self.card.version}, trained {self.card.created}; {data}. "
            f"Report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."
        )

    @property
    def target_name(self) -> str:
        return self.model.schema.target


def new_section(sid: str) -> Section:
    return Section(sid, dict(SECTIONS)[sid])


def pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def figure(name: str, title: str, png: bytes, caption: str = "") -> Figure:
    return Figure(f"{name}.png", title, png, caption)


__all__ = [
    "DEFAULT_ACCEPT_VALUE",
    "DEFAULT_CONTACT_COST",
    "SECTIONS",
    "SEED_PLOTS",
    "Context",
    "Evaluation",
    "Figure",
    "ReportResult",
    "Section",
    "TableBlock",
    "Timer",
    "figure",
    "new_section",
    "num",
    "pct",
]
