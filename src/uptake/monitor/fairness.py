"""Fairness on the audit log: the decisions actually made, for customers whose outcomes were imported."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from uptake.audit.db import shown
from uptake.decide.fairness import GroupSpec, fairness_table, group_labels, parse_group
from uptake.errors import UptakeInputError
from uptake.monitor.realised import joined
from uptake.pipeline import Model


def fairness_log(
    url: str, model: Model, group: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """``fairness_table`` over this model version's logged decisions that have an outcome."""
    names = model.schema.feature_names
    spec = GroupSpec(group) if group in names else parse_group(group)
    if spec.column not in names:
        raise UptakeInputError(
            f"--group {group!r}: the audit log keeps the model's input columns only ({', '.join(names)})"
        )
    frame = joined(url, since, until, model_version=model.version)
    if frame.empty:
        raise UptakeInputError(
            f"--db {shown(url)!r}: no decisions of model {model.version} have an imported outcome"
            + (" in that time window" if since or until else "")
        )
    values = pd.Series(
        [(json.loads(v) if isinstance(v, str) else dict(v or {})).get(spec.column) for v in frame["inputs"]]
    )
    out = fairness_table(
        frame["outcome"].to_numpy(), frame["decision"].to_numpy(), group_labels(values, spec, url), spec
    )
    out["source"] = "audit log"
    return out


__all__ = ["fairness_log"]
