"""``uptake evaluate``: a saved model's metrics on a labelled table, at its own threshold."""

from __future__ import annotations

from typing import Any

import pandas as pd

from uptake.decide.metrics import metrics
from uptake.pipeline import ScoringPipeline
from uptake.pipeline.rows import ScoredTable, score_table
from uptake.schema.target import target_labels


def evaluate_frame(model: ScoringPipeline, df: pd.DataFrame, source: object | None = None) -> dict[str, Any]:
    """Every headline metric of ``model`` on the labelled rows of ``df`` (all rows must be valid)."""
    return evaluate_scored(model, score_table(model, source, df=df))


def evaluate_scored(model: ScoringPipeline, table: ScoredTable) -> dict[str, Any]:
    """Every headline metric of ``model`` on a scored labelled table (its scored rows)."""
    y = target_labels(model.schema, table.rows, table.source)
    return metrics(y, table.scored.probability, model.threshold)


def fairness_frame(
    model: ScoringPipeline,
    df: pd.DataFrame,
    group: str,
    source: object | None = None,
    table: ScoredTable | None = None,
) -> dict[str, Any]:
    """``uptake fairness`` on a labelled table: the model's decisions and the outcomes, per group."""
    from uptake.decide.fairness import GroupSpec, fairness_table, group_labels, parse_group  # fairlearn: only here
    from uptake.errors import UptakeInputError, where

    spec = GroupSpec(group) if group in df.columns else parse_group(group)
    if spec.column not in df.columns:
        raise UptakeInputError(
            f"{where(file=source, column=spec.column)}: --group names a column the table does not have"
        )
    table = table if table is not None else score_table(model, source, df=df)
    rows = table.rows
    y = target_labels(model.schema, rows, source)
    return fairness_table(y, table.scored.decision, group_labels(rows[spec.column], spec, source), spec)


__all__ = ["evaluate_frame", "fairness_frame"]
