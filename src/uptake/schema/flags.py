"""Unusual but valid cells: scored, and said so on every path.

A number beyond the training range or a category never seen in training can be
scored honestly (trees treat it as the nearest values they saw, the encoders as a rare
category), but the score then rests on less evidence. Such cells are flagged: a
``flags`` column in scored files ("Income above the training range; Education unseen
in training"), a count per column on the terminal, fields in ``--json``, a
``warnings`` list per row in the API's answer and in the audit log. The words come
from the column's kind (``Kind.unusual``), so every path says the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Flags:
    """Flagged cells of ``rows`` rows: one entry per column and kind of flag, with the rows' positions."""

    rows: int
    items: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # (column, what, positions)

    def add(self, column: str, what: str, positions: np.ndarray) -> None:
        if len(positions):
            self.items.append((column, what, np.asarray(positions, dtype=np.int64)))

    def __bool__(self) -> bool:
        return bool(self.items)

    def mask(self) -> np.ndarray:
        out = np.zeros(self.rows, dtype=bool)
        for _, _, pos in self.items:
            out[pos] = True
        return out

    def texts(self) -> np.ndarray:
        """Per row, its flags joined with '; ' ('' for a row without any), in the schema's column order."""
        out = np.full(self.rows, "", dtype=object)
        for column, what, pos in self.items:
            words = f"{column} {what}"
            current = out[pos]
            out[pos] = np.where(current == "", words, current + "; " + words)
        return out

    def lists(self) -> list[list[str]]:
        """Per row, its flags as a list (the API's ``warnings``)."""
        return [t.split("; ") if t else [] for t in self.texts()]

    def counts(self) -> dict[str, int]:
        """Flagged cells per "column what", most first."""
        out: dict[str, int] = {}
        for column, what, pos in self.items:
            key = f"{column} {what}"
            out[key] = out.get(key, 0) + len(pos)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def take(self, keep: np.ndarray) -> Flags:
        """The flags of the rows ``keep`` selects (a boolean mask), renumbered to their new positions."""
        keep = np.asarray(keep, dtype=bool)
        new = np.cumsum(keep) - 1
        out = Flags(int(keep.sum()))
        for column, what, pos in self.items:
            out.add(column, what, new[pos[keep[pos]]])
        return out

    def summary(self) -> dict[str, Any]:
        """What ``--json`` carries: rows flagged and cells per flag."""
        return {"rows": int(self.mask().sum()), "cells": self.counts()}


def merged(parts: Sequence[Flags]) -> dict[str, Any]:
    """The summary of many chunks' flags together (rows flagged, cells per flag)."""
    rows = sum(int(p.mask().sum()) for p in parts)
    cells: dict[str, int] = {}
    for p in parts:
        for key, n in p.counts().items():
            cells[key] = cells.get(key, 0) + n
    return {"rows": rows, "cells": dict(sorted(cells.items(), key=lambda kv: -kv[1]))}


def add_summaries(total: dict[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """Two flag summaries (``Flags.summary``) added together."""
    cells = dict(total.get("cells", {}))
    for key, n in more.get("cells", {}).items():
        cells[key] = cells.get(key, 0) + int(n)
    return {
        "rows": int(total.get("rows", 0)) + int(more.get("rows", 0)),
        "cells": dict(sorted(cells.items(), key=lambda kv: -kv[1])),
    }


def describe(summary: Mapping[str, Any], rows: int, strict_hint: bool = True, limit: int = 4) -> str | None:
    """One line for the terminal: 'Flagged 12 of 2,000 rows (scored): Income above the training range 10, ...'."""
    flagged = int(summary.get("rows", 0))
    if not flagged:
        return None
    cells: Iterable[tuple[str, int]] = list(summary.get("cells", {}).items())
    shown = [f"{k} {n:,}" for k, n in list(cells)[:limit]]
    more = len(summary.get("cells", {})) - limit
    hint = "; --strict refuses such rows" if strict_hint else ""
    return (
        f"Flagged {flagged:,} of {rows:,} rows as unusual (scored{hint}): "
        + ", ".join(shown)
        + (f", and {more} more" if more > 0 else "")
    )


__all__ = ["Flags", "add_summaries", "describe", "merged"]
