"""One feature column as seen in training, and one invalid cell as a user must see it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from uptake.errors import where

KindName = Literal["numeric", "binary", "categorical", "date"]


@dataclass
class Column:
    """A feature column: its kind, type and what training saw of it (range, categories, median)."""

    name: str
    kind: KindName
    dtype: Literal["int", "float", "str"]
    min: float | None = None
    max: float | None = None
    categories: list[str] = field(default_factory=list)
    missing: int = 0
    median: float | None = None
    description: str = ""
    #: Rarer categories seen in training: valid, but without an input of their own.
    rare: list[str] = field(default_factory=list)
    #: More distinct values than could be remembered: unseen ones are accepted as rare.
    open: bool = False
    #: Date columns: the one format the column's dates are written in (``uptake.schema.values.DATE_FORMATS``).
    date_format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RowError:
    """One invalid cell: enough to find it in the user's file."""

    row: int
    column: str
    value: Any
    reason: str

    def message(self, file: object | None = None) -> str:
        return f"{where(file=file, column=self.column, row=self.row, value=self.value)}: {self.reason}"


__all__ = ["Column", "KindName", "RowError"]
