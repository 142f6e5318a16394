"""Numeric columns: quantities such as Income, Age or a card amount."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from uptake.schema.column import Column
from uptake.schema.encoders import Clip, DateParts, PiecewiseLinear
from uptake.schema.kinds.base import Block, Cells, FieldSpec, Inferred, Kind, Policy, Unsupported
from uptake.schema.values import is_missing, number_of, to_number

NUMERIC_ENCODINGS = ("standard", "ple", "ple-tree", "ple-tree+boost", "raw", "native")


def bounds(col: Column, margin: float) -> tuple[float | None, float | None]:
    """The accepted range of a numeric column: the training range widened by ``margin`` of its span.

    Never below zero for a column that was never negative; whole numbers for integer columns.
    """
    if col.min is None or col.max is None:
        return None, None
    span = col.max - col.min
    if span <= 0:
        span = abs(col.max) or 1.0
    lo, hi = col.min - margin * span, col.max + margin * span
    if col.min >= 0:
        lo = max(lo, 0.0)
    if col.dtype == "int":
        lo, hi = float(math.floor(lo)), float(math.ceil(hi))
    return lo, hi


def range_reason(col: Column, policy: Policy) -> str:
    lo, hi = bounds(col, policy.range_margin)
    return (
        f"outside the accepted range {lo:g} to {hi:g} (the training range {col.min:g} to {col.max:g}, "
        f"widened by {policy.range_margin:.0%})"
    )


NOT_A_NUMBER = "not a number"
NOT_FINITE = "not a finite number"
ABOVE = "above the training range"
BELOW = "below the training range"


def replay_number_step(step: Any) -> Callable[[np.ndarray], np.ndarray]:
    """One fitted numeric step as a numpy function of an (n, k) float64 matrix."""
    if isinstance(step, SimpleImputer):
        stats = np.asarray(step.statistics_, dtype=np.float64)
        marker = step.missing_values
        if np.isnan(stats).any() or step.add_indicator or not (isinstance(marker, float) and math.isnan(marker)):
            raise Unsupported("imputer with empty columns, indicators or a custom missing marker")
        return lambda x: np.where(np.isnan(x), stats, x)
    if isinstance(step, StandardScaler):
        mean = np.asarray(step.mean_, dtype=np.float64) if step.with_mean else 0.0
        scale = np.asarray(step.scale_, dtype=np.float64) if step.with_std else 1.0
        return lambda x: (x - mean) / scale
    if type(step) is Clip:
        limit = float(step.limit)
        return lambda x: np.clip(x, -limit, limit)
    if type(step) in (PiecewiseLinear, DateParts):
        return step.transform  # already plain numpy on fitted arrays
    if isinstance(step, MissingIndicator):
        if step.features != "all" or not (isinstance(step.missing_values, float) and math.isnan(step.missing_values)):
            raise Unsupported("a missing-value indicator of some features or a custom marker")
        return lambda x: np.isnan(x).astype(np.float64)
    raise Unsupported(f"numeric step {type(step).__name__}")


def steps_of(transformer: Any) -> list[Any]:
    if isinstance(transformer, Pipeline):
        return [step for _, step in transformer.steps if step not in (None, "passthrough")]
    return [transformer]


def replay_numbers(fitted: Any, positions: list[int]) -> Block:
    """A chain of fitted numeric steps over the given columns of the numbers matrix."""
    funcs = [replay_number_step(s) for s in steps_of(fitted)]
    pos = np.asarray(positions, dtype=np.intp)

    def block(num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        x = num[:, pos]
        for f in funcs:
            x = f(x)
        return x

    return block


def number_errors(raw: pd.Series, values: pd.Series) -> list[Cells]:
    """Cells that are text but not a number, and cells that are infinite."""
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    return [
        (np.flatnonzero(np.isnan(arr) & ~is_missing(raw)), NOT_A_NUMBER),
        (np.flatnonzero(np.isinf(arr)), NOT_FINITE),
    ]


class Numeric(Kind):
    name = "numeric"

    def infer(self, seen: Inferred, source: object) -> Column:
        assert seen.values is not None
        finite = seen.values.dropna()
        is_int = bool(len(finite)) and bool(np.all(np.equal(np.mod(finite.to_numpy(), 1), 0)))
        return Column(
            seen.name,
            "numeric",
            "int" if is_int else "float",
            min=float(finite.min()) if len(finite) else None,
            max=float(finite.max()) if len(finite) else None,
            missing=seen.missing,
            median=float(finite.median()) if len(finite) else None,
            description=seen.description,
        )

    def validate(
        self, col: Column, raw: pd.Series, policy: Policy, decimal: str = "."
    ) -> tuple[pd.Series, list[Cells], list[Cells]]:
        values = to_number(raw, decimal)
        errors = number_errors(raw, values)
        flags: list[Cells] = []
        if policy.check_range and col.min is not None:
            if policy.strict:
                lo, hi = bounds(col, policy.range_margin)
                arr = values.to_numpy(dtype=float, na_value=np.nan)
                with np.errstate(invalid="ignore"):
                    out = np.isfinite(arr) & ((arr < lo) | (arr > hi))
                errors.append((np.flatnonzero(out), range_reason(col, policy)))
            flags = self.unusual(col, values)
        return values, errors, flags

    def unusual(self, col: Column, values: pd.Series) -> list[Cells]:
        if col.min is None or col.max is None:
            return []
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return [
                (np.flatnonzero(np.isfinite(arr) & (arr > col.max)), ABOVE),
                (np.flatnonzero(np.isfinite(arr) & (arr < col.min)), BELOW),
            ]

    def unusual_value(self, col: Column, value: Any) -> str | None:
        if value is None or col.min is None or col.max is None:
            return None
        v = float(value)
        return ABOVE if v > col.max else BELOW if v < col.min else None

    def check(
        self, col: Column, value: float, policy: Policy, limits: tuple[float | None, float | None] | None = None
    ) -> float:
        """One API value (a JSON number): the same rules and words as ``validate``."""
        if not math.isfinite(value):
            raise PydanticCustomError("not_finite", NOT_FINITE)
        lo, hi = limits if limits is not None else bounds(col, policy.range_margin)
        if policy.strict and policy.check_range and lo is not None and not lo <= value <= hi:
            raise PydanticCustomError("out_of_range", range_reason(col, policy))
        return value

    def step(self, columns: Sequence[Column], numeric_encoding: str, categorical_encoding: str = "onehot") -> Any:
        """``standard``: impute, standardise, clip (networks, linear models); ``ple``: piecewise-linear
        encoding on quantile bins, ``ple-tree`` on target-aware bins, ``ple-tree+boost`` on those and a
        boosted model's (networks; ``PiecewiseLinear``); ``native``: the values as they are, missing ones
        included (tree families learn where a missing value goes; nothing is clipped); ``raw``: impute the
        median only (models saved before ``native``)."""
        if numeric_encoding == "native":  # tree families: missing stays missing, nothing clipped
            return Pipeline([("keep", "passthrough")])
        if numeric_encoding == "raw":
            return Pipeline([("impute", SimpleImputer(strategy="median"))])
        if numeric_encoding.startswith("ple"):
            bins = numeric_encoding[4:] or "quantile"
            return Pipeline([("impute", SimpleImputer(strategy="median")), ("ple", PiecewiseLinear(bins=bins))])
        if numeric_encoding == "standard":
            return Pipeline(
                [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()), ("clip", Clip())]
            )
        raise ValueError(f"numeric encoding {numeric_encoding!r} is not one of {', '.join(NUMERIC_ENCODINGS)}")

    def replay(self, fitted: Any, positions: list[int], columns: Sequence[Column]) -> Block:
        return replay_numbers(fitted, positions)

    def owners(self, fitted: Any, columns: Sequence[Column]) -> list[str]:
        names = [c.name for c in columns]
        ple = next((s for s in steps_of(fitted) if type(s) is PiecewiseLinear), None)
        if ple is None:
            return names
        # The standardised values first, then each column's bins (columns with one edge have none).
        return names + [n for n, edges in zip(names, ple.edges_) for _ in range(max(len(edges) - 1, 0))]

    def request_field(self, col: Column, policy: Policy) -> tuple[Any, FieldSpec]:
        lo, hi = bounds(col, policy.range_margin)
        # The form refuses only what the server refuses: beyond the widened range under --strict, else nothing.
        form_lo, form_hi = (lo, hi) if policy.strict else (None, None)
        spec = FieldSpec(col.name, col.kind, col.dtype, col.description or col.name, form_lo, form_hi, col.min, col.max)

        def parse(value: Any) -> float | None:
            if value is None:
                return None
            if isinstance(value, str):  # a number written as text reads as a file's cell does
                number = number_of(value)
                if number is None:
                    raise PydanticCustomError("not_a_number", NOT_A_NUMBER)
                if math.isnan(number):
                    return None
                value = number
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise PydanticCustomError("not_a_number", NOT_A_NUMBER)
            return self.check(col, float(value), policy, (lo, hi))

        return Annotated[
            float | None,
            BeforeValidator(parse),
            # No minimum/maximum in the published schema: /openapi.json is public, the training ranges are not.
            Field(title=col.name, description=spec.description),
        ], spec

    def typical(self, col: Column, fitted_stat: Any = None) -> Any:
        return float(col.median) if col.median is not None else 0.0

    def format(self, col: Column, value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "missing"
        v = float(value)
        if col.dtype == "int" or v.is_integer():
            return str(int(round(v)))
        return f"{v:.3g}"


__all__ = ["NUMERIC_ENCODINGS", "Numeric", "bounds", "number_errors", "range_reason", "replay_numbers", "steps_of"]
