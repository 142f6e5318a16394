"""The one scoring pipeline: raw rows -> validate -> transform -> raw probability ->
calibrated probability -> decision -> rank.

Every path that scores customers goes through :class:`ScoringPipeline`: batch,
streaming and Dask scoring, the web service (whose numpy fast path is a compiled
backend of this object, checked against it at start-up), explanations, the report,
campaign plans, evaluation, threshold tuning, comparison and both training paths
(which build one from the parts they have just fitted). A saved model is a pipeline
loaded from disk (``uptake.pipeline.model.Model``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from uptake.decide.decision import decide, rank_desc
from uptake.errors import UptakeInputError
from uptake.features import transform
from uptake.pipeline.fast import compile_fast
from uptake.schema import DEFAULT_POLICY, Policy, RowError, Schema
from uptake.schema.flags import Flags
from uptake.schema.table import blank_rows, check_not_empty, filled_counts
from uptake.schema.values import row_numbers

#: Columns uptake writes into scored files (predict, plan, --explain). An input holding any of them was
#: scored before: its old values are dropped (and the user told), never left beside the new ones.
OUTPUT_COLUMN = re.compile(r"^(probability|decision|rank|flags|expected_value|reason_\d+)$")


def earlier_outputs(columns: Sequence[object]) -> list[str]:
    """Input columns that an earlier scoring run wrote (:data:`OUTPUT_COLUMN`)."""
    return [str(c) for c in columns if OUTPUT_COLUMN.match(str(c))]


@dataclasses.dataclass
class Scored:
    """Scores for the valid rows of a frame, and what was wrong with the others."""

    probability: np.ndarray
    decision: np.ndarray
    index: pd.Index
    errors: list[RowError] = dataclasses.field(default_factory=list)
    invalid_rows: list[int] = dataclasses.field(default_factory=list)
    #: the flags of the scored rows (in their order), and how many rows were blank (not customers)
    flags: Flags | None = None
    blank_rows: int = 0
    #: the scored rows as the model read them (validated values: numbers parsed, categories as text)
    clean: pd.DataFrame | None = None

    def flag_texts(self) -> np.ndarray:
        return self.flags.texts() if self.flags is not None else np.full(len(self.probability), "", dtype=object)


@dataclasses.dataclass
class Validated:
    """Rows that passed validation (``clean``), and the cells and rows that did not.

    ``flags``: the unusual cells of the rows in ``clean`` (scored and said so);
    ``blank_rows``: rows whose every cell is empty (an export's leftovers), left out.
    """

    clean: pd.DataFrame
    errors: list[RowError]
    invalid_rows: list[int]
    flags: Flags = dataclasses.field(default_factory=lambda: Flags(0))
    blank_rows: int = 0


class ScoringPipeline:
    """Schema, preprocessor, estimator, calibrator and threshold: every stage of applying a model."""

    #: Hashes of the rows the model learnt from (``uptake.pipeline.fingerprint``); a loaded model's, else None.
    fingerprint: np.ndarray | None = None

    def __init__(
        self,
        schema: Schema,
        preprocessor: Any,
        estimator: Any,
        calibrator: Any = None,
        threshold: float | None = None,
        policy: Policy = DEFAULT_POLICY,
    ) -> None:
        self.schema = schema
        self.preprocessor = preprocessor
        self.estimator = estimator
        self.calibrator = calibrator  # maps raw to calibrated probabilities (uptake.decide.calibration), or None
        self._threshold = threshold
        self.policy = policy
        self.fast: Any = None  # a compiled numpy backend (uptake.pipeline.fast), once compile_fast() succeeded

    def with_(self, **changes: Any) -> ScoringPipeline:
        """A copy with some stages replaced (training sets the calibrator, then the threshold)."""
        new = ScoringPipeline(
            self.schema, self.preprocessor, self.estimator, self.calibrator, self._threshold, self.policy
        )
        for name, value in changes.items():
            setattr(new, "_threshold" if name == "threshold" else name, value)
        return new

    @property
    def threshold(self) -> float:
        if self._threshold is None:
            raise RuntimeError("this pipeline has no threshold yet (it is still being trained)")
        return self._threshold

    # ---- stages ---------------------------------------------------------------------------
    def validate(
        self,
        df: pd.DataFrame,
        source: object | None = None,
        skip_invalid: bool = False,
        row_offset: int | None = None,
        require_values: bool = False,
        blank: np.ndarray | None = None,
    ) -> Validated:
        """Check raw rows against the schema with the pipeline's policy.

        Invalid rows make the whole call fail (naming the first bad cell) unless
        ``skip_invalid``; then they are left out and listed. Unusual but valid cells are
        flagged, and their rows scored. Rows whose every cell is empty are not
        customers: they are left out and counted. ``require_values``: the rows are a
        file, in which a feature column without a single value is a damaged export,
        not unknowns to impute. ``blank``: which rows are blank, where the caller read more
        columns than ``df`` holds (a streamed chunk); all ``False`` for request rows, which
        are customers whatever they hold.
        """
        if require_values:
            self.schema.check_columns(df, source)
            check_not_empty(self.schema, filled_counts(self.schema, df), len(df), source)
        checked = self.schema.check(df, source=source, row_offset=row_offset, policy=self.policy)
        clean, errors, flags = checked.clean, checked.errors, checked.flags
        blank = blank_rows(df) if blank is None else np.asarray(blank, dtype=bool)
        keep = ~blank
        invalid: list[int] = []
        if errors:
            if not skip_invalid:
                more = (
                    f" ({len(errors) - 1} more invalid cells; --skip-invalid skips such rows)"
                    if len(errors) > 1
                    else ""
                )
                raise UptakeInputError(errors[0].message(source) + more)
            rows = row_numbers(df, row_offset)
            position = {int(r): i for i, r in enumerate(rows)}
            bad_pos = sorted({position[e.row] for e in errors})
            invalid = [int(rows[p]) for p in bad_pos]
            keep[bad_pos] = False
        if not keep.all():
            clean, flags = clean.iloc[keep], flags.take(keep)
        return Validated(clean, errors, invalid, flags, int(blank.sum()))

    def features(self, clean: pd.DataFrame) -> np.ndarray:
        return transform(self.preprocessor, clean)

    def raw_from_features(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(x)[:, 1], dtype=np.float64)

    def raw_proba_clean(self, clean: pd.DataFrame) -> np.ndarray:
        """The estimator's probabilities for rows :meth:`validate` returned (``.clean``), before calibration."""
        if len(clean) == 0:
            return np.zeros(0)
        return self.raw_from_features(self.features(clean))

    def calibrate(self, p_raw: Any) -> np.ndarray:
        p = np.asarray(p_raw, dtype=np.float64)
        return self.calibrator(p) if self.calibrator is not None and len(p) else p

    def proba_clean(self, clean: pd.DataFrame) -> np.ndarray:
        """Positive-class probabilities (calibrated when the model has one) of rows :meth:`validate` returned."""
        return self.calibrate(self.raw_proba_clean(clean))

    def proba(self, df: pd.DataFrame) -> np.ndarray:
        """Positive-class probabilities of raw rows, one per row of ``df`` (a notebook's first call).

        The rows are validated with the model's policy first, as every path validates them: integer
        codes and text codes, extra and reordered columns read as ``uptake predict`` reads them; a row
        that cannot be scored raises ``UptakeInputError`` naming it. Blank rows are scored (as customers
        about whom nothing is known), so the answer lines up with ``df``.
        """
        v = self.validate(df, blank=np.zeros(len(df), dtype=bool))
        return self.proba_clean(v.clean)

    def raw_proba(self, df: pd.DataFrame) -> np.ndarray:
        """:meth:`proba` before the calibrator (the same validation)."""
        v = self.validate(df, blank=np.zeros(len(df), dtype=bool))
        return self.raw_proba_clean(v.clean)

    def decide(self, p: Any) -> np.ndarray:
        return decide(p, self.threshold)

    def score(
        self,
        df: pd.DataFrame,
        source: object | None = None,
        skip_invalid: bool = False,
        row_offset: int | None = None,
        require_values: bool = False,
        blank: np.ndarray | None = None,
    ) -> Scored:
        """Validate and score raw rows (see :meth:`validate`)."""
        v = self.validate(df, source, skip_invalid, row_offset, require_values, blank)
        p = self.proba_clean(v.clean)
        return Scored(p, self.decide(p), v.clean.index, v.errors, v.invalid_rows, v.flags, v.blank_rows, v.clean)

    @staticmethod
    def frame(df: pd.DataFrame, scored: Scored) -> pd.DataFrame:
        """The input's scored rows, every column as it came in (less an earlier run's outputs), plus
        probability, decision, rank (1 = most likely) and flags (unusual cells, '' for none)."""
        out = df.loc[scored.index].drop(columns=earlier_outputs(df.columns))
        out["probability"] = scored.probability
        out["decision"] = scored.decision.astype(np.int64)
        out["rank"] = rank_desc(scored.probability)
        out["flags"] = scored.flag_texts()
        return out

    # ---- validated request rows (the web service) ----------------------------------------------
    def rows_frame(self, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame(list(rows), columns=self.schema.feature_names)

    def raw_proba_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Raw probabilities of request rows: the compiled backend when there is one, else the reference path."""
        if self.fast is not None:
            return self.fast.raw_proba(rows)
        frame = self.rows_frame(rows)
        return self.raw_proba_clean(self.validate(frame, blank=np.zeros(len(frame), dtype=bool)).clean)

    def score_rows(self, rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and decisions for rows the request models already validated."""
        p = self.calibrate(self.raw_proba_rows(rows))
        return p, self.decide(p)

    def compile_fast(self) -> Any:
        """Compile the numpy backend (checked against this pipeline); ``None`` if it cannot replay it exactly."""
        self.fast = compile_fast(self)
        return self.fast


__all__ = ["OUTPUT_COLUMN", "Scored", "ScoringPipeline", "Validated", "earlier_outputs"]
