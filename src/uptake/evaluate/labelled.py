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


__all__ = ["evaluate_frame"]
