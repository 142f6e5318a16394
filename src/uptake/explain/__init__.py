"""Explanations: per-customer reasons (``reasons``) and global importance (``importance``)."""

from __future__ import annotations

from uptake.explain.importance import Importance, permutation_importance, shap_importance
from uptake.explain.reasons import MIN_EFFECT, add_reason_columns, baseline, format_value, reason_columns, reasons

__all__ = [
    "MIN_EFFECT",
    "Importance",
    "add_reason_columns",
    "baseline",
    "format_value",
    "permutation_importance",
    "reason_columns",
    "reasons",
    "shap_importance",
]
