"""A table read and scored the one way every command does it, with what a user must be told about it.

``uptake evaluate``, ``plan``, ``fairness``, ``report``, ``tune-threshold`` and
``predict`` (whole-file) read a table and score it through the model's pipeline here,
so they skip, flag and report rows alike: which sheet was read, merged cells filled,
blank rows left out, columns of an earlier scoring run replaced, invalid rows skipped
(with ``--skip-invalid``), unusual rows flagged, and rows the model learnt from counted
(``uptake.pipeline.fingerprint``: figures on them are in-sample). The streamed path
(``uptake.apply.stream``) reports the same counts in its summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.io.tables import read_table
from uptake.pipeline.fingerprint import in_sample_note, seen
from uptake.pipeline.scoring import Scored, ScoringPipeline, earlier_outputs
from uptake.schema.flags import describe


@dataclass
class ScoredTable:
    """A table as read (``df``), its scores, and where it came from."""

    df: pd.DataFrame
    scored: Scored
    source: Path | str | None = None
    #: how many scored rows the model learnt from (``uptake.pipeline.fingerprint``); None: it keeps no fingerprint
    rows_seen: int | None = None

    @property
    def rows(self) -> pd.DataFrame:
        """The scored rows of the input, as read."""
        return self.df.loc[self.scored.index]

    def summary(self) -> dict[str, Any]:
        """What ``--json`` carries about the rows: read, scored, skipped, blank, flagged, sheet."""
        out: dict[str, Any] = {
            "rows_read": len(self.df),
            "rows_scored": len(self.scored.probability),
            "skipped_invalid": len(self.scored.invalid_rows),
            "blank_rows": self.scored.blank_rows,
            "flagged": self.scored.flags.summary() if self.scored.flags is not None else {"rows": 0, "cells": {}},
            "earlier_output_columns": earlier_outputs(self.df.columns),
        }
        if self.rows_seen is not None:
            out["in_sample_rows"] = self.rows_seen
        if "sheet" in self.df.attrs:
            out["sheet"] = self.df.attrs["sheet"]
            out["merged_cells"] = int(self.df.attrs.get("merged_cells", 0))
        return out

    def notes(self, strict: bool = False) -> list[str]:
        """One line each for what the user must know about how the rows were read and scored."""
        s = self.summary()
        out = []
        if "sheet" in s:
            hidden = self.df.attrs.get("hidden_sheets") or []
            out.append(
                f"Read sheet {s['sheet']!r} of {self.source}"
                + (f" (hidden sheets not read: {', '.join(hidden)})" if hidden else "")
            )
            if s["merged_cells"]:
                out.append(f"{s['merged_cells']:,} cells of merged ranges read as the value their range shows")
        if s["blank_rows"]:
            out.append(f"Left out {s['blank_rows']:,} blank rows (every cell empty: not customers)")
        if s["earlier_output_columns"]:
            out.append("Replaced the columns of an earlier scoring run: " + ", ".join(s["earlier_output_columns"]))
        flagged = describe(s["flagged"], s["rows_scored"], strict_hint=not strict)
        if flagged:
            out.append(flagged)
        seen_note = in_sample_note(self.rows_seen, s["rows_scored"])
        if seen_note:
            out.append(seen_note)
        return out


def score_table(
    model: ScoringPipeline,
    path: str | Path,
    sheet: str | None = None,
    skip_invalid: bool = False,
    df: pd.DataFrame | None = None,
) -> ScoredTable:
    """Read ``path`` (or take ``df`` read from it) and score every row the model can score."""
    if df is None:
        df = read_table(path, sheet=sheet)
    scored = model.score(df, source=path, skip_invalid=skip_invalid, require_values=True)
    if skip_invalid and len(scored.probability) == 0 and scored.invalid_rows:
        raise UptakeInputError(
            f"{where(file=path)}: every one of its {len(scored.invalid_rows):,} rows is invalid "
            f"({scored.errors[0].message(path)}); nothing to score"
        )
    rows_seen = seen(model.fingerprint, model.schema, scored.clean) if scored.clean is not None else None
    return ScoredTable(df, scored, path, rows_seen)


__all__ = ["ScoredTable", "score_table"]
