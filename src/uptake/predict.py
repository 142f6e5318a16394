"""Applying a saved model: the one path every consumer uses.

raw rows -> validate against the stored schema -> preprocessor -> estimator ->
probability -> decision at the stored threshold -> rank. The CLI, the web app, the
API, streaming and Dask scoring all call ``Model.score``; none re-implements a step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uptake.artifact import HISTORY, PREPROCESSOR, load_estimator, read_metadata
from uptake.errors import UptakeInputError
from uptake.features import load_preprocessor, transform
from uptake.schema import RowError, Schema


@dataclass
class Scored:
    """Scores for the valid rows of a frame, and what was wrong with the others."""

    probability: np.ndarray
    decision: np.ndarray
    index: pd.Index
    errors: list[RowError] = field(default_factory=list)
    invalid_rows: list[int] = field(default_factory=list)


class Model:
    """A loaded uptake model: schema, preprocessor, estimator and threshold."""

    def __init__(self, path: Path, metadata: dict[str, Any], preprocessor: Any, estimator: Any,
                 calibrator: Any = None) -> None:
        self.path = Path(path)
        self.calibrator = calibrator  # maps raw to calibrated probabilities (uptake.calibration), or None
        self.metadata = metadata
        self.schema = Schema.from_dict(metadata["schema"])
        self.preprocessor = preprocessor
        self.estimator = estimator

    @classmethod
    def load(cls, path: str | Path) -> Model:
        path = Path(path)
        meta = read_metadata(path)
        pre = load_preprocessor(path / PREPROCESSOR)
        est = load_estimator(path, meta.get("model_type", "network"))
        from uptake.calibration import load_calibrator

        return cls(path, meta, pre, est, load_calibrator(path))

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def version(self) -> str:
        return str(self.metadata.get("version") or self.path.name)

    def history(self) -> Any:
        p = self.path / HISTORY
        return json.loads(p.read_text()) if p.exists() else None

    # ---- scoring ----------------------------------------------------------------------
    def features(self, clean: pd.DataFrame) -> np.ndarray:
        return transform(self.preprocessor, clean)

    def proba(self, clean: pd.DataFrame) -> np.ndarray:
        """Positive-class probabilities for already-validated rows."""
        if len(clean) == 0:
            return np.zeros(0)
        p = np.asarray(self.estimator.predict_proba(self.features(clean))[:, 1], dtype=np.float64)
        return self.calibrator(p) if self.calibrator is not None else p

    def score(
        self, df: pd.DataFrame, source: object | None = None, skip_invalid: bool = False, row_offset: int | None = None
    ) -> Scored:
        """Validate and score raw rows.

        Invalid rows make the whole call fail (naming the first bad cell) unless
        ``skip_invalid``; then they are left out and listed in ``errors``.
        """
        clean, errors = self.schema.validate(df, source=source, row_offset=row_offset)
        invalid: list[int] = []
        if errors:
            if not skip_invalid:
                more = f" ({len(errors) - 1} more invalid cells; --skip-invalid skips such rows)" if len(errors) > 1 else ""
                raise UptakeInputError(errors[0].message(source) + more)
            offset = row_offset if row_offset is not None else int(df.attrs.get("row_offset", 1))
            bad_pos = sorted({e.row - offset for e in errors})
            invalid = [p + offset for p in bad_pos]
            keep = np.ones(len(clean), dtype=bool)
            keep[bad_pos] = False
            clean = clean.iloc[keep]
        p = self.proba(clean)
        return Scored(p, (p >= self.threshold).astype(np.int8), clean.index, errors, invalid)


def rank_desc(p: np.ndarray) -> np.ndarray:
    """1 = most likely. Ties keep input order so the ranking is reproducible."""
    order = np.argsort(-p, kind="stable")
    rank = np.empty(len(p), dtype=np.int64)
    rank[order] = np.arange(1, len(p) + 1)
    return rank


def scored_frame(df: pd.DataFrame, scored: Scored) -> pd.DataFrame:
    """The input's valid rows plus probability, decision and rank."""
    out = df.loc[scored.index].copy()
    out["probability"] = scored.probability
    out["decision"] = scored.decision.astype(np.int64)
    out["rank"] = rank_desc(scored.probability)
    return out
