"""The schema layer: columns, their kinds, validation, inference, the target and the data summary."""

from __future__ import annotations

from uptake.schema.column import Column, RowError
from uptake.schema.infer import infer_schema
from uptake.schema.kinds import KINDS, LEARNING, Policy
from uptake.schema.table import DEFAULT_POLICY, Schema

__all__ = ["DEFAULT_POLICY", "KINDS", "LEARNING", "Column", "Policy", "RowError", "Schema", "infer_schema"]
