"""Turning validated raw columns into the numbers a model eats.

Built from a ``Schema`` with scikit-learn (Keras' preprocessing layers need
TensorFlow, which uptake does not install): each column kind contributes its own
step (``uptake.schema.kinds``), named after the kind. It is fitted on the training
split only, so nothing about validation or test rows leaks into the scaling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer

from uptake.errors import UptakeInputError
from uptake.schema import KINDS, Schema
from uptake.schema.kinds.numeric import NUMERIC_ENCODINGS, steps_of

#: Numeric encodings whose families see missing values themselves (no indicator inputs are added).
MISSING_NATIVE = ("native",)


def build_preprocessor(
    schema: Schema, numeric_encoding: str = "standard", categorical_encoding: str = "onehot"
) -> ColumnTransformer:
    """A ColumnTransformer for the schema: one step per column kind present, encoded as the family asks."""
    if numeric_encoding not in NUMERIC_ENCODINGS:
        raise UptakeInputError(f"numeric encoding {numeric_encoding!r} is not one of {', '.join(NUMERIC_ENCODINGS)}")
    parts = []
    for name, kind in KINDS.items():
        columns = [c for c in schema.columns if c.kind == name]
        if columns:
            parts.append((name, kind.step(columns, numeric_encoding, categorical_encoding), [c.name for c in columns]))
    gaps = [c.name for c in schema.columns if c.kind == "numeric" and c.missing]
    if gaps and numeric_encoding not in MISSING_NATIVE:
        # A family that cannot see a missing value gets its imputed number and an input saying it was missing:
        # a missing financial ratio is information, which the median alone would erase.
        parts.append(("numeric-missing", MissingIndicator(features="all", error_on_new=False), gaps))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)


def transform(pre: ColumnTransformer, clean: pd.DataFrame) -> np.ndarray:
    """Apply a fitted preprocessor to a validated frame; float32 is what the models want."""
    return np.ascontiguousarray(pre.transform(clean), dtype=np.float32)


def layout(pre: Any, schema: Schema) -> list[tuple[str, str]]:
    """(raw column, kind) of each output of the fitted preprocessor, in order: what each model input is."""
    out: list[tuple[str, str]] = []
    for name, transformer, cols in pre.transformers_:
        if name == "remainder" or isinstance(transformer, str) or not len(cols):
            continue
        columns = [schema.column(str(c)) for c in cols]
        kind = columns[0].kind
        out += [(owner, kind) for owner in KINDS[kind].owners(transformer, columns)]
    return out


def fitted_statistics(pre: Any) -> dict[str, Any]:
    """What each column's fitted imputer fills in (median or most frequent value), by column name."""
    out: dict[str, Any] = {}
    for _, transformer, cols in getattr(pre, "transformers_", []):
        if isinstance(transformer, str):
            continue
        imputer = next((s for s in steps_of(transformer) if isinstance(s, SimpleImputer)), None)
        if imputer is not None:
            out.update({str(c): v for c, v in zip(cols, imputer.statistics_)})
    return out


def typical_values(pre: Any, schema: Schema) -> dict[str, Any]:
    """A typical customer: each column kind's typical value, from the fitted imputers where present (the
    baseline of explanations and the web form's default)."""
    stats = fitted_statistics(pre)
    return {c.name: KINDS[c.kind].typical(c, stats.get(c.name)) for c in schema.columns}


def check_fitted(pre: Any, schema: Schema, source: object) -> int:
    """The fitted preprocessor reads exactly the schema's columns; returns its output width."""
    if not isinstance(pre, ColumnTransformer) or not hasattr(pre, "transformers_"):
        raise UptakeInputError(f"file '{source}': the preprocessor is not a fitted ColumnTransformer")
    used = sorted({str(c) for name, _, cols in pre.transformers_ if name != "remainder" for c in cols})
    if used != sorted(schema.feature_names):
        raise UptakeInputError(
            f"file '{source}': the preprocessor reads columns {used} but the model card "
            f"names {schema.feature_names}; the model's parts do not belong together"
        )
    width = 0
    try:
        width = len(pre.get_feature_names_out())
    except Exception:  # noqa: BLE001 - custom encoders may not name their outputs; measure instead
        probe = pd.DataFrame(
            {c.name: pd.Series([np.nan], dtype=object if c.kind == "categorical" else float) for c in schema.columns}
        )
        width = int(pre.transform(probe).shape[1])
    return width


__all__ = ["build_preprocessor", "check_fitted", "fitted_statistics", "layout", "transform", "typical_values"]
