"""Date columns: an account's opening day, a last contact, a birth date.

A date is not a category of thousands of values, nor a number to standardise as
written: each cell is read with the one format its column is written in (decided on
the whole training column, ``uptake.schema.values.date_format``) as a day number
(days since 1970-01-01), and the model sees four numbers derived from it
(:class:`~uptake.schema.encoders.DateParts`): the day number itself, the year, the
month and the day of the week. A cell that is not a date in that format is refused,
naming it; a date before or after the training dates is scored and flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from uptake.schema.column import Column
from uptake.schema.encoders import Clip, DateParts
from uptake.schema.kinds.base import Block, Cells, FieldSpec, Inferred, Kind, Policy
from uptake.schema.kinds.numeric import replay_numbers
from uptake.schema.values import MISSING_TOKENS, day_text, is_missing, to_days

BEFORE = "before the training dates"
AFTER = "after the training dates"


def not_a_date(col: Column) -> str:
    example = day_text(col.max) or "2027-04-03"
    return f"not a date written as the training dates are ({col.date_format}, e.g. {example})"


class Date(Kind):
    name = "date"

    def infer(self, seen: Inferred, source: object) -> Column:
        fmt = seen.date_format or "ISO8601"
        days = to_days(seen.raw, fmt).dropna()
        return Column(
            seen.name,
            "date",
            "str",
            min=float(days.min()) if len(days) else None,
            max=float(days.max()) if len(days) else None,
            missing=seen.missing,
            median=float(days.median()) if len(days) else None,
            description=seen.description,
            date_format=fmt,
        )

    def validate(
        self, col: Column, raw: pd.Series, policy: Policy, decimal: str = "."
    ) -> tuple[pd.Series, list[Cells], list[Cells]]:
        """Text in the column's format, a date type, or day numbers (what validated frames and the API's
        parsed rows hold) all read as day numbers."""
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            days = raw.astype(float)
        else:
            days = to_days(raw, col.date_format or "ISO8601")
        bad = np.flatnonzero(days.isna().to_numpy() & ~is_missing(raw))
        flags = self.unusual(col, days) if policy.check_range else []
        return days, [(bad, not_a_date(col))], flags

    def unusual(self, col: Column, values: pd.Series) -> list[Cells]:
        if col.min is None or col.max is None:
            return []
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return [(np.flatnonzero(arr > col.max), AFTER), (np.flatnonzero(arr < col.min), BEFORE)]

    def unusual_value(self, col: Column, value: Any) -> str | None:
        if value is None or col.min is None or col.max is None:
            return None
        v = float(value)
        return AFTER if v > col.max else BEFORE if v < col.min else None

    def step(self, columns: Sequence[Column], numeric_encoding: str, categorical_encoding: str = "onehot") -> Any:
        """Impute the median day, then the four parts; networks and linear models get them standardised."""
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median")), ("parts", DateParts())]
        if numeric_encoding not in ("raw",):
            steps += [("scale", StandardScaler()), ("clip", Clip())]
        return Pipeline(steps)

    def owners(self, fitted: Any, columns: Sequence[Column]) -> list[str]:
        return [c.name for c in columns for _ in range(DateParts.PARTS)]

    def replay(self, fitted: Any, positions: list[int], columns: Sequence[Column]) -> Block:
        return replay_numbers(fitted, positions)

    def request_field(self, col: Column, policy: Policy) -> tuple[Any, FieldSpec]:
        spec = FieldSpec(col.name, col.kind, col.dtype, col.description or col.name, None, None, col.min, col.max)

        def parse(value: Any) -> float | None:
            if value is None or (isinstance(value, str) and value.strip() in MISSING_TOKENS):
                return None
            if not isinstance(value, str):
                raise PydanticCustomError("not_a_date", not_a_date(col))
            days = to_days(pd.Series([value]), col.date_format or "ISO8601").iloc[0]
            if math.isnan(days):
                raise PydanticCustomError("not_a_date", not_a_date(col))
            return float(days)

        return Annotated[
            float | None,
            BeforeValidator(parse),
            Field(title=col.name, description=spec.description, json_schema_extra={"type": "string"}),
        ], spec

    def typical(self, col: Column, fitted_stat: Any = None) -> Any:
        """The median training day number (explanations' baseline)."""
        if fitted_stat is not None and not (isinstance(fitted_stat, float) and math.isnan(fitted_stat)):
            return float(fitted_stat)
        return float(col.median) if col.median is not None else 0.0

    def form_value(self, col: Column, value: Any) -> Any:
        return day_text(None if value is None else float(value))

    def format(self, col: Column, value: Any) -> str:
        text = day_text(None if value is None else float(value))
        return "missing" if text is None else text


__all__ = ["AFTER", "BEFORE", "Date"]
