"""A compiled numpy backend of the scoring pipeline, for one customer in microseconds.

The reference path is built for tables: pandas validation, a scikit-learn
``ColumnTransformer`` and the estimator's own batched call (a jitted JAX program
padded to 1,024 rows for networks). For one customer that costs several
milliseconds, almost all of it fixed overhead, which is the whole latency budget of
the web API. This backend reads the *fitted* objects (imputer statistics, scaler
means, one-hot categories; the estimator's numpy forward pass) into plain arrays
once, and replays the same arithmetic on request rows the request models have
already validated with the same policy.

Nothing here is learnt or chosen: each column kind replays its own fitted step
(``uptake.schema.kinds``), each family its own forward pass
(``Family.numpy_forward``), and :func:`compile_fast` checks the result against the
reference path on probe rows before it is used. Anything it cannot replay exactly
returns ``None`` and the reference path is used.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer

from uptake.models.base import Unsupported as FamilyUnsupported
from uptake.schema import KINDS, Schema
from uptake.schema.kinds import Block, Unsupported, bounds
from uptake.schema.kinds.categorical import Categorical
from uptake.schema.values import code_text

log = logging.getLogger("uptake.serve")

#: Largest difference in probability the start-up check tolerates between the numpy
#: copy and the reference path (float32 matmuls in a different order differ by ~1e-7).
TOLERANCE = 1e-6


@dataclass
class FastBackend:
    """Preprocessing and estimator as numpy: ``raw_proba(rows)`` for validated request rows.

    ``rows`` are dicts keyed by feature name, as the request models produce them:
    numbers (or ``None`` for unknown, imputed as in training) for numeric and binary
    columns, the category value for categorical ones.
    """

    schema: Schema
    number_cols: list[str]
    category_cols: list[str]
    category_index: list[dict[str, int]]
    codes: list[bool]
    blocks: list[Block]
    forward: Callable[[np.ndarray], np.ndarray]

    def raw_arrays(self, rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Numbers as float64 (NaN = missing); categories as their index (-1 unknown or rare, -2 missing)."""
        num = np.array([[_num(r.get(c)) for c in self.number_cols] for r in rows], dtype=np.float64).reshape(
            len(rows), len(self.number_cols)
        )
        cat = np.array(
            [
                [
                    _cat(r.get(c), idx, codes)
                    for c, idx, codes in zip(self.category_cols, self.category_index, self.codes)
                ]
                for r in rows
            ],
            dtype=np.int64,
        ).reshape(len(rows), len(self.category_cols))
        return num, cat

    def features(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The model's float32 input matrix, column for column what the preprocessor gives."""
        num, cat = self.raw_arrays(rows)
        return np.ascontiguousarray(np.hstack([block(num, cat) for block in self.blocks]), dtype=np.float32)

    def raw_proba(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The estimator's output before calibration."""
        if not rows:
            return np.zeros(0)
        return np.asarray(self.forward(self.features(rows)), dtype=np.float64)


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _cat(v: Any, index: Mapping[str, int], codes: bool) -> int:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return -2
    return index.get(code_text(v) if codes else str(v).strip(), -1)


def compile_preprocessor(pre: Any, schema: Schema) -> tuple[list[str], list[str], list[dict[str, int]], list[Block]]:
    """The fitted ColumnTransformer as numpy blocks, in its output order; each kind replays its own step."""
    if not isinstance(pre, ColumnTransformer):
        raise Unsupported(f"preprocessor {type(pre).__name__}")
    number_cols = [c.name for c in schema.columns if KINDS[c.kind].fast_input == "number"]
    category_cols = [c.name for c in schema.columns if KINDS[c.kind].fast_input == "category"]
    indexes = [Categorical.index(schema.column(c)) for c in category_cols]
    blocks: list[Block] = []
    for name, transformer, cols in pre.transformers_:
        if name == "remainder":
            if transformer != "drop" and len(cols):
                raise Unsupported("remainder columns passed through")
            continue
        if isinstance(transformer, str) or not len(cols):
            if transformer == "drop" or not len(cols):
                continue
            raise Unsupported(f"transformer {name!r} is {transformer!r}")
        columns = [schema.column(str(c)) for c in cols]
        kinds = {c.kind for c in columns}
        if len(kinds) != 1:
            raise Unsupported(f"transformer {name!r} mixes column kinds")
        kind = KINDS[kinds.pop()]
        own = number_cols if kind.fast_input == "number" else category_cols
        positions = [own.index(c.name) for c in columns]
        if kind.fast_input == "number":
            blocks.append(kind.replay(transformer, positions, columns))
        else:  # categorical blocks index the category columns, which need their columns in that order
            all_columns = [schema.column(c) for c in category_cols]
            blocks.append(kind.replay(transformer, positions, all_columns))
    return number_cols, category_cols, indexes, blocks


def probe_rows(schema: Schema, margin: float, n: int = 64, seed: int = 0, unseen: bool = True) -> list[dict[str, Any]]:
    """Valid rows spread over the training ranges widened by ``margin`` and the categories, with some unknowns
    and some unseen categories (scored and flagged), for the start-up check."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        row: dict[str, Any] = {}
        for c in schema.columns:
            if i % 7 == 3:
                row[c.name] = None
            elif c.kind == "categorical" and unseen and i % 11 == 5 and not c.open:
                row[c.name] = 987_654 if c.dtype == "int" else "an unseen category"
            elif c.kind == "categorical":
                cats = c.categories or ["?"]
                v = cats[int(rng.integers(len(cats)))]
                row[c.name] = int(v) if c.dtype == "int" and v.lstrip("-").isdigit() else v
            elif c.kind == "binary":
                row[c.name] = int(rng.integers(2))
            elif KINDS[c.kind].fast_input == "category":
                row[c.name] = None
            else:
                lo, hi = bounds(c, margin)
                lo = 0.0 if lo is None else lo
                hi = 1.0 if hi is None else hi
                row[c.name] = float(rng.uniform(lo, hi))
        rows.append(row)
    return rows


def compile_fast(pipeline: Any, tolerance: float = TOLERANCE) -> FastBackend | None:
    """A :class:`FastBackend` for ``pipeline``, or ``None`` (with the reason logged) if it cannot replay it exactly."""
    schema = pipeline.schema
    try:
        number_cols, category_cols, indexes, blocks = compile_preprocessor(pipeline.preprocessor, schema)
        forward = pipeline.estimator.numpy_forward()
    except (Unsupported, FamilyUnsupported, AttributeError) as exc:
        log.info("fast path off: %s", exc)
        return None
    codes = [schema.column(c).dtype == "int" for c in category_cols]
    backend = FastBackend(schema, number_cols, category_cols, indexes, codes, blocks, forward)
    rows = probe_rows(schema, pipeline.policy.range_margin, unseen=not pipeline.policy.strict)
    try:
        fast = backend.raw_proba(rows)
        frame = pd.DataFrame(rows, columns=schema.feature_names)
        ref = pipeline.raw_proba_clean(pipeline.validate(frame, blank=np.zeros(len(frame), dtype=bool)).clean)
    except Exception as exc:  # noqa: BLE001 - any failure here just means "use the reference path"
        log.warning("fast path off: check failed (%s)", exc)
        return None
    gap = float(np.max(np.abs(fast - ref))) if len(rows) else 0.0
    if not gap <= tolerance:
        log.warning("fast path off: differs from the reference path by %.3g", gap)
        return None
    return backend


__all__ = ["TOLERANCE", "FastBackend", "compile_fast", "compile_preprocessor", "probe_rows"]
