"""``uptake evaluate``: a saved model's metrics on a labelled table, at its own threshold."""

from __future__ import annotations

from typing import Any

import pandas as pd

from uptake.decide.metrics import metrics
from uptake.pipeline import ScoringPipeline
from uptake.schema.target import target_labels


def evaluate_frame(model: ScoringPipeline, df: pd.DataFrame, source: object | None = None) -> dict[str, Any]:
    """Every headline metric of ``model`` on the labelled rows of ``df`` (all rows must be valid)."""
    y = target_labels(model.schema, df, source)
    scored = model.score(df, source=source, require_values=True)
    return metrics(y, scored.probability, model.threshold)


def fairness_frame(
    model: ScoringPipeline, df: pd.DataFrame, group: str, source: object | None = None
) -> dict[str, Any]:
    """``uptake fairness`` on a labelled table: the model's decisions and the outcomes, per group."""
    from uptake.decide.fairness import GroupSpec, fairness_table, group_labels, parse_group  # fairlearn: only here
    from uptake.errors import UptakeInputError, where

    spec = GroupSpec(group) if group in df.columns else parse_group(group)
    if spec.column not in df.columns:
        raise UptakeInputError(
            f"{where(file=source, column=spec.column)}: --group names a column the table does not have"
        )
    y = target_labels(model.schema, df, source)
    scored = model.score(df, source=source, require_values=True)
    return fairness_table(y, scored.decision, group_labels(df[spec.column], spec, source), spec)


__all__ = ["evaluate_frame", "fairness_frame"]
