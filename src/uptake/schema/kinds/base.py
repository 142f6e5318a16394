"""What every column kind provides, and the validation policy all of them apply.

A kind (numeric, binary, categorical) is one object that knows, for its columns:
how to infer them from a training table, which cells are valid (and in what words a
bad one is refused), which scikit-learn step turns them into numbers, how the numpy
fast path replays that fitted step, which request field the API generates, what a
typical value is (the baseline of explanations and the web form's default) and how
a value reads in a sentence. Adding a kind is one module here and one line in
``uptake.schema.kinds.KINDS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from uptake.schema.column import Column

#: Under ``--strict``, numbers up to this share of the training span beyond the training range are accepted.
DEFAULT_MARGIN = 0.25

#: A numpy replay of one fitted scikit-learn step: (numbers, category codes) -> output block.
Block = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: Cells of one kind of problem in a column: (row positions, what is wrong or unusual, in words).
Cells = tuple[np.ndarray, str]


class Unsupported(Exception):
    """A fitted step the numpy fast path does not replay exactly; the reference path is used."""


@dataclass(frozen=True)
class Policy:
    """What is refused, and what is scored and flagged: one policy for the CLI, file uploads, the JSON API
    and streaming.

    A value that cannot be scored honestly is refused on every path: a wrong type, a
    non-finite number, text in a column of number codes, a required column missing. A
    value that is valid but unusual (a number beyond the training range, a category
    never seen in training) is scored and flagged, in the same words on every path
    (each kind's ``unusual``). ``strict`` refuses the unusual instead, as releases
    before 0.2 did: numbers more than ``range_margin`` of the training span beyond the
    training range and unseen categories (flagging what lies between). ``check_range``/
    ``check_categories`` are off only while training, where the schema is being learnt
    from the very rows being validated.
    """

    range_margin: float = DEFAULT_MARGIN
    check_range: bool = True
    check_categories: bool = True
    strict: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.range_margin, (int, float)) and math.isfinite(self.range_margin)):
            raise ValueError(f"the range margin must be a finite number, not {self.range_margin!r}")
        if self.range_margin < 0:
            raise ValueError(f"the range margin must be 0 or more, not {self.range_margin:g}")


#: Training validates rows against a schema inferred from them (or from a sample of them).
LEARNING = Policy(check_range=False, check_categories=False)


@dataclass
class FieldSpec:
    """What the web form needs to draw one input."""

    name: str
    kind: str
    dtype: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    train_min: float | None = None
    train_max: float | None = None
    categories: list[Any] = field(default_factory=list)


@dataclass
class Inferred:
    """What inference learnt about a training column, handed to the kind that will own it."""

    name: str
    raw: pd.Series
    values: pd.Series | None  # the cells as numbers, when the column is (mostly) numeric
    text: bool  # the column arrived as text
    missing: int
    description: str
    date_format: str | None = None  # a date column's format, decided on the whole column


class Kind:
    """The contract of a column kind; see the module docstring."""

    name: ClassVar[str]
    #: Values are category texts, not numbers (explanations encode them as integer codes).
    categorical: ClassVar[bool] = False
    #: How the fast path receives this kind's request values: as numbers or as category indexes.
    fast_input: ClassVar[str] = "number"
    #: How the drift profile counts this kind's validated values: in quantile bins (``numeric``) or per
    #: category (``categorical``).
    profiled_as: ClassVar[str] = "numeric"

    def infer(self, seen: Inferred, source: object) -> Column:
        raise NotImplementedError

    def validate(
        self, col: Column, raw: pd.Series, policy: Policy, decimal: str = "."
    ) -> tuple[pd.Series, list[Cells], list[Cells]]:
        """The cells in the validated frame's type, the refused cells and the flagged ones, each as
        (positions, words) per kind of problem. ``decimal``: the file's decimal mark."""
        raise NotImplementedError

    def unusual(self, col: Column, values: pd.Series) -> list[Cells]:
        """Valid but unusual values among validated ones ("above the training range"): scored and flagged."""
        return []

    def unusual_value(self, col: Column, value: Any) -> str | None:
        """The same verdict and words as :meth:`unusual` for one validated value (the API's hot path)."""
        return None

    def step(self, columns: Sequence[Column], numeric_encoding: str, categorical_encoding: str = "onehot") -> Any:
        """The unfitted scikit-learn transformer for these columns (encodings as the model family asks)."""
        raise NotImplementedError

    def owners(self, fitted: Any, columns: Sequence[Column]) -> list[str]:
        """The raw column behind each output of the fitted step, in output order (reasons sum over them)."""
        return [c.name for c in columns]

    def replay(self, fitted: Any, positions: list[int], columns: Sequence[Column]) -> Block:
        """A numpy function replaying the fitted step exactly, or ``Unsupported``."""
        raise NotImplementedError

    def request_field(self, col: Column, policy: Policy) -> tuple[Any, FieldSpec]:
        """The pydantic type of the column's API field (``None`` = unknown, imputed) and its form spec."""
        raise NotImplementedError

    def typical(self, col: Column, fitted_stat: Any = None) -> Any:
        """A typical value: the baseline of explanations, the form's default."""
        raise NotImplementedError

    def form_value(self, col: Column, value: Any) -> Any:
        """A typical value as the web form shows it (a date as text; others as they are)."""
        return value

    def format(self, col: Column, value: Any) -> str:
        """How a value reads in a sentence ('Income 180 raises the chance')."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "missing"
        return str(value)


__all__ = ["DEFAULT_MARGIN", "LEARNING", "Block", "Cells", "FieldSpec", "Inferred", "Kind", "Policy", "Unsupported"]
