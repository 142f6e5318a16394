"""Features: the preprocessor built from the schema's column kinds, and its safe persistence.

``Clip`` and ``PiecewiseLinear`` are re-exported under this name because models saved
by release 0.1.0 record them as ``uptake.features.Clip`` and ``uptake.features.PiecewiseLinear``.
"""

from __future__ import annotations

from uptake.features.persist import load_preprocessor, save_preprocessor
from uptake.features.preprocessor import (
    build_preprocessor,
    check_fitted,
    fitted_statistics,
    layout,
    transform,
    typical_values,
)
from uptake.schema.encoders import CLIP, Clip, PiecewiseLinear

__all__ = [
    "CLIP",
    "Clip",
    "PiecewiseLinear",
    "build_preprocessor",
    "check_fitted",
    "fitted_statistics",
    "layout",
    "load_preprocessor",
    "save_preprocessor",
    "transform",
    "typical_values",
]
