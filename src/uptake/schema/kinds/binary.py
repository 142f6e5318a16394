"""Binary columns: 0/1 flags such as CD Account or Online."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sklearn.impute import SimpleImputer

from uptake.errors import UptakeInputError, where
from uptake.schema.column import Column
from uptake.schema.kinds.base import Block, Cells, FieldSpec, Inferred, Kind, Policy
from uptake.schema.kinds.numeric import Numeric, number_errors, replay_numbers
from uptake.schema.values import number_of, to_number

NOT_A_FLAG = "expected 0 or 1"


class Binary(Kind):
    name = "binary"
    profiled_as = "categorical"  # two categories

    def infer(self, seen: Inferred, source: object) -> Column:
        assert seen.values is not None
        distinct = set(seen.values.dropna().unique().tolist())
        if not distinct <= {0.0, 1.0}:
            raise UptakeInputError(
                f"{where(file=source, column=seen.name)}: binary column must hold 0/1, found {sorted(distinct)[:5]}"
            )
        col = Numeric().infer(seen, source)
        col.kind, col.dtype, col.categories = "binary", "int", ["0", "1"]
        return col

    def validate(
        self, col: Column, raw: pd.Series, policy: Policy, decimal: str = "."
    ) -> tuple[pd.Series, list[Cells], list[Cells]]:
        values = to_number(raw, decimal)
        errors = number_errors(raw, values)
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        not_flag = np.isfinite(arr) & (arr != 0.0) & (arr != 1.0)
        errors.append((np.flatnonzero(not_flag), NOT_A_FLAG))
        return values, errors, []

    @staticmethod
    def check(value: Any) -> Any:
        """One API value: 0, 1 (or JSON true/false, which are 1 and 0); anything else in the CLI's words."""
        if value is None:
            return None
        if isinstance(value, str):  # text reads as a file's cell does: 'TRUE' is 1, 'NA' missing
            number = number_of(value)
            if number is None:
                raise PydanticCustomError("not_a_number", "not a number")
            if math.isnan(number):
                return None
            value = number
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
            return int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError("not_finite", "not a finite number")
        raise PydanticCustomError("not_a_flag", NOT_A_FLAG)

    def step(self, columns: Sequence[Column], numeric_encoding: str, categorical_encoding: str = "onehot") -> Any:
        return SimpleImputer(strategy="most_frequent")

    def replay(self, fitted: Any, positions: list[int], columns: Sequence[Column]) -> Block:
        return replay_numbers(fitted, positions)

    def request_field(self, col: Column, policy: Policy) -> tuple[Any, FieldSpec]:
        spec = FieldSpec(
            col.name, col.kind, col.dtype, col.description or col.name, 0.0, 1.0, col.min, col.max, categories=[0, 1]
        )
        return Annotated[
            Literal[0, 1] | None, BeforeValidator(self.check), Field(title=col.name, description=spec.description)
        ], spec

    def typical(self, col: Column, fitted_stat: Any = None) -> Any:
        if fitted_stat is not None and not (isinstance(fitted_stat, float) and math.isnan(fitted_stat)):
            return int(float(fitted_stat))
        return int(round(col.median)) if col.median is not None else 0

    def format(self, col: Column, value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "missing"
        return str(int(round(float(value))))


__all__ = ["Binary"]
