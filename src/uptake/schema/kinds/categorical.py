"""Categorical columns: codes such as Education 1/2/3 or Family 1-4, and text such as a region.

Number codes compare as the numbers they are (``2``, ``2.0`` and ``" 2 "`` are one
code). A value the model never saw is scored as the rare categories are (no input of
its own) and flagged "unseen in training" in the same words on every path, never in
silence; ``--strict`` refuses it instead. Text in a column of number codes is refused. Only the most frequent
``MAX_CATEGORIES`` categories get an input of their own; the rarer ones seen in
training (up to ``MAX_RARE``) are still valid and share the "none of these" input. A
column with more distinct values than that is open: unseen values are accepted as
rare, and training says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from uptake.schema.column import Column
from uptake.schema.kinds.base import Block, Cells, FieldSpec, Inferred, Kind, Policy, Unsupported
from uptake.schema.kinds.numeric import NOT_FINITE, steps_of
from uptake.schema.values import MISSING_TOKENS, category_text, code_text, is_missing, natural_key

#: Categories with an input of their own (the most frequent ones).
MAX_CATEGORIES = 50
#: Rarer categories remembered as valid; beyond this a column is open.
MAX_RARE = 1000
CATEGORICAL_ENCODINGS = ("onehot", "ordinal")


def _listing(col: Column, limit: int = 8) -> str:
    shown = col.categories[:limit]
    return ", ".join(shown) + (", ..." if len(col.categories) + len(col.rare) > limit else "")


#: How an unseen category is flagged (scored as the rare categories are).
UNSEEN = "unseen in training"


def unknown_reason(col: Column) -> str:
    return f"not one of the categories seen in training ({_listing(col)})"


def text_in_codes_reason(col: Column) -> str:
    return f"text in a column of number codes ({_listing(col)})"


def _non_finite(raw: pd.Series) -> np.ndarray:
    """Cells that are numbers but not finite (inf, and NaN written as text), judged once per distinct value."""
    present = ~is_missing(raw)
    codes, uniques = pd.factorize(raw.where(present, None))
    bad = np.asarray(
        [is_number_text(str(v).strip()) and not np.isfinite(float(str(v).strip())) for v in uniques] + [False],
        dtype=bool,
    )
    return bad[codes] & present


def is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Categorical(Kind):
    name = "categorical"
    categorical = True
    fast_input = "category"
    profiled_as = "categorical"

    def infer(self, seen: Inferred, source: object) -> Column:
        codes = seen.values is not None and bool(np.all(np.equal(np.mod(seen.values.dropna().to_numpy(), 1), 0)))
        cats = category_text(seen.raw, codes=codes).dropna()
        counts = cats.value_counts()
        common = sorted(counts.index[:MAX_CATEGORIES].tolist(), key=natural_key)
        rest = sorted(counts.index[MAX_CATEGORIES : MAX_CATEGORIES + MAX_RARE].tolist(), key=natural_key)
        return Column(
            seen.name,
            "categorical",
            "int" if codes else "str",
            categories=common,
            rare=rest,
            open=len(counts) > MAX_CATEGORIES + MAX_RARE,
            missing=seen.missing,
            description=seen.description,
        )

    def validate(
        self, col: Column, raw: pd.Series, policy: Policy, decimal: str = "."
    ) -> tuple[pd.Series, list[Cells], list[Cells]]:
        values = category_text(raw, codes=col.dtype == "int")
        errors: list[Cells] = []
        flags: list[Cells] = []
        if col.dtype == "int":
            errors.append((np.flatnonzero(_non_finite(raw)), NOT_FINITE))
        if policy.check_categories and not col.open:
            present = ~is_missing(raw)
            unknown = present & ~values.isin(self._known(col)).to_numpy()
            if unknown.any():
                positions = np.flatnonzero(unknown)
                if col.dtype == "int":
                    texty = np.asarray([not is_number_text(str(v)) for v in values.iloc[positions]])
                    errors.append((positions[texty], text_in_codes_reason(col)))
                    positions = positions[~texty]
                if policy.strict:
                    errors.append((positions, unknown_reason(col)))
                else:
                    flags.append((positions, UNSEEN))
        return values, errors, flags

    @staticmethod
    def _known(col: Column) -> set[str]:
        return set(col.categories) | set(col.rare)

    def unusual(self, col: Column, values: pd.Series) -> list[Cells]:
        if col.open:
            return []
        present = values.notna().to_numpy()
        return [(np.flatnonzero(present & ~values.isin(self._known(col)).to_numpy()), UNSEEN)]

    def unusual_value(self, col: Column, value: Any) -> str | None:
        if value is None or col.open:
            return None
        text = code_text(value) if col.dtype == "int" else str(value).strip()
        return None if text in col.categories or text in col.rare else UNSEEN

    def check(self, col: Column, value: Any, policy: Policy) -> Any:
        """One API value: the same rules and words as ``validate``; returns the category as it was given."""
        if value is None or (isinstance(value, str) and value.strip() in MISSING_TOKENS):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise PydanticCustomError("category_type", "expected one of the categories (a number or text)")
        if isinstance(value, float) and not np.isfinite(value):
            raise PydanticCustomError("not_finite", NOT_FINITE)
        text = code_text(value) if col.dtype == "int" else str(value).strip()
        if col.dtype == "int" and is_number_text(text) and not np.isfinite(float(text)):
            raise PydanticCustomError("not_finite", NOT_FINITE)
        if policy.check_categories and not col.open and text not in col.categories and text not in col.rare:
            if col.dtype == "int" and not is_number_text(text):
                raise PydanticCustomError("unknown_category", text_in_codes_reason(col))
            if policy.strict:
                raise PydanticCustomError("unknown_category", unknown_reason(col))
        return value

    def step(self, columns: Sequence[Column], numeric_encoding: str, categorical_encoding: str = "onehot") -> Any:
        """``onehot`` (networks, linear models, LightGBM) or ``ordinal`` codes 0..n-1, -1 for a rare
        category (for families that handle categories themselves, such as CatBoost)."""
        cats = [c.categories for c in columns]
        if categorical_encoding == "ordinal":
            encoder: Any = OrdinalEncoder(
                categories=cats, handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64
            )
            return Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("ordinal", encoder)])
        if categorical_encoding != "onehot":
            raise ValueError(
                f"categorical encoding {categorical_encoding!r} is not one of {', '.join(CATEGORICAL_ENCODINGS)}"
            )
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                (
                    "onehot",
                    OneHotEncoder(categories=cats, handle_unknown="ignore", sparse_output=False, dtype=np.float64),
                ),
            ]
        )

    def owners(self, fitted: Any, columns: Sequence[Column]) -> list[str]:
        last = steps_of(fitted)[-1]
        if isinstance(last, OneHotEncoder):
            return [c.name for c, cats in zip(columns, last.categories_) for _ in cats]
        return [c.name for c in columns]

    def replay(self, fitted: Any, positions: list[int], columns: Sequence[Column]) -> Block:
        """Most-frequent imputation then one-hot, on category indexes (-1 unknown or rare, -2 missing)."""
        steps = steps_of(fitted)
        if steps and isinstance(steps[-1], OrdinalEncoder):
            return self._replay_ordinal(steps, positions, columns)
        if not steps or not isinstance(steps[-1], OneHotEncoder):
            raise Unsupported("categorical columns without a final one-hot encoder")
        enc = steps[-1]
        if getattr(enc, "drop_idx_", None) is not None or getattr(enc, "_infrequent_enabled", False):
            raise Unsupported("one-hot encoder with drop or infrequent categories")
        if enc.handle_unknown not in ("ignore", "infrequent_if_exist"):
            raise Unsupported("one-hot encoder that errors on unknown categories")
        indexes = [self.index(c) for c in columns]
        fill = [-2] * len(positions)
        for step in steps[:-1]:
            if not isinstance(step, SimpleImputer) or step.add_indicator:
                raise Unsupported(f"categorical step {type(step).__name__}")
            fill = [
                indexes[p].get(code_text(s) if columns[p].dtype == "int" else str(s), -1)
                for p, s in zip(positions, step.statistics_)
            ]
        slots: list[np.ndarray] = []  # schema index of each column -> the encoder's output slot
        width = 0
        for p, cats in zip(positions, enc.categories_):
            own = {str(c): i for i, c in enumerate(cats)}
            by_schema = np.full(len(indexes[p]) + 2, -1, dtype=np.int64)  # [..., unknown(-1), missing(-2)]
            for text, i in indexes[p].items():
                if text in own:
                    by_schema[i] = width + own[text]
            slots.append(by_schema)
            width += len(cats)
        pos = np.asarray(positions, dtype=np.intp)
        fill_arr = np.asarray(fill, dtype=np.int64)

        def block(num: np.ndarray, cat: np.ndarray) -> np.ndarray:
            idx = cat[:, pos]
            idx = np.where(idx == -2, fill_arr, idx)
            out = np.zeros((len(cat), width), dtype=np.float64)
            rows = np.arange(len(cat))
            for j, slot in enumerate(slots):
                target = slot[idx[:, j]]  # -1 and -2 index the trailing "no slot" entries
                hit = target >= 0
                out[rows[hit], target[hit]] = 1.0
            return out

        return block

    def _replay_ordinal(self, steps: list[Any], positions: list[int], columns: Sequence[Column]) -> Block:
        """Ordinal codes: the schema index of a category is its code; rare and unknown values -1."""
        enc = steps[-1]
        for p, cats in zip(positions, enc.categories_):
            if [str(c) for c in cats] != list(columns[p].categories):
                raise Unsupported("ordinal categories differ from the schema's")
        if len(steps) != 2 or not isinstance(steps[0], SimpleImputer):
            raise Unsupported("ordinal encoding without its imputer")
        indexes = [self.index(c) for c in columns]
        fill = np.asarray(
            [
                indexes[p].get(code_text(v) if columns[p].dtype == "int" else str(v), -1)
                for p, v in zip(positions, steps[0].statistics_)
            ],
            dtype=np.int64,
        )
        pos = np.asarray(positions, dtype=np.intp)

        def block(num: np.ndarray, cat: np.ndarray) -> np.ndarray:
            idx = cat[:, pos]
            return np.where(idx == -2, fill, idx).astype(np.float64)

        return block

    @staticmethod
    def index(col: Column) -> dict[str, int]:
        """Category text -> the index the fast path carries (rare and unknown values get none)."""
        return {text: i for i, text in enumerate(col.categories)}

    def request_field(self, col: Column, policy: Policy) -> tuple[Any, FieldSpec]:
        values: list[Any] = [int(t) if col.dtype == "int" and t.lstrip("-").isdigit() else t for t in col.categories]
        spec = FieldSpec(col.name, col.kind, col.dtype, col.description or col.name, categories=values)
        # Unseen categories are scored and flagged unless the policy is strict: the list is an example then.
        extra = {"enum": values} if policy.strict and not (col.open or col.rare) else {"examples": values[:20]}
        return Annotated[
            Any,
            BeforeValidator(lambda v: self.check(col, v, policy)),
            Field(title=col.name, description=spec.description, json_schema_extra=extra),
        ], spec

    def typical(self, col: Column, fitted_stat: Any = None) -> Any:
        if fitted_stat is not None and not (isinstance(fitted_stat, float) and np.isnan(fitted_stat)):
            return code_text(fitted_stat) if col.dtype == "int" else str(fitted_stat)
        return col.categories[0] if col.categories else None

    def format(self, col: Column, value: Any) -> str:
        return "missing" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


__all__ = ["MAX_CATEGORIES", "MAX_RARE", "Categorical", "text_in_codes_reason", "unknown_reason"]
