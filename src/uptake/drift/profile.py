"""What the training rows looked like, as counts: the reference that new data is compared with.

A profile holds, per input column, binned counts and nothing else: quantile bins of the
training split for numeric columns (ten by default, fewer when values repeat), the
count of each category (binary columns are two categories), the missing count, and
for numbers the training range; plus the model's score, whose bins see the region where
decisions are made (:func:`score_edges`: the threshold is an edge, the top of the
distribution has finer bins), the count at or above the threshold (the call rate), and
200 bins of equal training share for a Kolmogorov-Smirnov test on the scores at a
resolution of 0.5% of the training customers. No customer row is stored. Profiles are
built and grown chunk by chunk (:class:`Counter`), so a 10-million-row file is profiled
in the memory of one chunk, and two profiles with the same bins are compared by
:mod:`uptake.drift.compare`. Profiles saved before the call rate existed compare as before.

Saved in the model directory as ``profile.json`` (format ``uptake-profile`` 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError
from uptake.schema import KINDS, Schema
from uptake.schema.values import category_factors, category_text

FORMAT = "uptake-profile"
VERSION = 1
PROFILE = "profile.json"
#: Quantile bins per numeric column and for the score.
BINS = 10
#: New categories remembered by name (with counts) per column; the rest are only counted.
MAX_NEW_CATEGORIES = 20
SCORE = "score"
#: Upper quantiles of the training scores added as score edges (the top decile split finer).
TOP_QUANTILES = (0.95, 0.975, 0.99, 0.995)
#: Quantiles of the called customers' scores added as edges (the called split in four).
CALLED_QUANTILES = (0.25, 0.5, 0.75)
#: Equal-share bins of the training scores for the score's Kolmogorov-Smirnov test.
KS_BINS = 200


def score_edges(scores: np.ndarray, threshold: float | None, called: np.ndarray | None = None) -> list[float]:
    """The score's PSI bins: ten quantile bins, the top decile split at :data:`TOP_QUANTILES`, the
    threshold as an edge and the scores at or above it split at :data:`CALLED_QUANTILES`.

    With 90% of the scores near 0, ten equal-count bins put every customer the model calls into
    one bin, so squeezing the called customers' scores together moves no count: these edges do.
    ``called``: the scores of the customers the model calls (its decisions, not a rule written here).
    """
    v = np.asarray(scores, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return []
    edges = set(quantile_edges(v))
    edges.update(float(q) for q in np.quantile(v, TOP_QUANTILES))
    if threshold is not None and 0.0 < float(threshold) < 1.0:
        edges.add(float(threshold))
    if called is not None and len(called) >= 4 * len(CALLED_QUANTILES):
        edges.update(float(q) for q in np.quantile(called, CALLED_QUANTILES))
    lo, hi = float(v.min()), float(v.max())
    return sorted(e for e in edges if lo <= e < hi or e == threshold)


def quantile_edges(values: np.ndarray, bins: int = BINS) -> list[float]:
    """Interior bin edges at the quantiles of the finite ``values`` (repeats merged)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return []
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1]))
    return [float(e) for e in edges]


def bin_counts(values: np.ndarray, edges: list[float]) -> tuple[np.ndarray, int]:
    """Counts per bin ``(-inf, e1], (e1, e2], ..., (ek, inf)`` of the finite values, and the missing count."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), v[finite], side="left")
    return np.bincount(idx, minlength=len(edges) + 1), int((~finite).sum())


class Counter:
    """Counts new rows into a reference profile's bins, chunk by chunk."""

    def __init__(self, reference: Mapping[str, Any]) -> None:
        self.reference = reference
        self.rows = 0
        self.columns: dict[str, dict[str, Any]] = {}
        for name, ref in reference["columns"].items():
            entry: dict[str, Any] = {"missing": 0}
            if ref["kind"] == "numeric":
                entry.update(counts=np.zeros(len(ref["edges"]) + 1, dtype=np.int64), below=0, above=0)
            else:
                entry.update(counts=np.zeros(len(ref["categories"]), dtype=np.int64), new={}, new_other=0)
            self.columns[name] = entry
        ref_score = reference[SCORE]
        self.score: dict[str, Any] = {"counts": np.zeros(len(ref_score["edges"]) + 1, dtype=np.int64), "missing": 0}
        if ref_score.get("threshold") is not None:
            self.score["called"] = 0
        if ref_score.get("ks_edges") is not None:
            self.score["ks_counts"] = np.zeros(len(ref_score["ks_edges"]) + 1, dtype=np.int64)

    def add(self, clean: pd.DataFrame, scores: np.ndarray | None = None, decisions: np.ndarray | None = None) -> None:
        """Count validated rows (``Schema.validate``'s clean frame) and, optionally, their scores and
        the model's decisions on them at the reference's threshold (``uptake.decide.decision.decide``)."""
        self.rows += len(clean)
        for name, ref in self.reference["columns"].items():
            if name not in clean.columns:
                continue
            entry = self.columns[name]
            if ref["kind"] == "numeric":
                v = pd.to_numeric(clean[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                counts, missing = bin_counts(v, ref["edges"])
                entry["counts"] += counts
                entry["missing"] += missing
                if ref.get("min") is not None:
                    with np.errstate(invalid="ignore"):
                        entry["below"] += int((v < ref["min"]).sum())
                        entry["above"] += int((v > ref["max"]).sum())
            else:
                self._count_categories(entry, ref, clean[name])
        if scores is not None:
            ref_score = self.reference[SCORE]
            counts, missing = bin_counts(scores, ref_score["edges"])
            self.score["counts"] += counts
            self.score["missing"] += missing
            if "called" in self.score and decisions is not None:
                self.score["called"] += int(np.asarray(decisions).sum())
            if "ks_counts" in self.score:
                self.score["ks_counts"] += bin_counts(scores, ref_score["ks_edges"])[0]

    @staticmethod
    def _count_categories(entry: dict[str, Any], ref: Mapping[str, Any], column: pd.Series) -> None:
        # Factorise once, then count per distinct value: a per-row map of text cost ~3 s per million rows.
        values, labels = category_factors(column, codes=ref.get("codes", False))
        per_code = np.bincount(values + 1, minlength=len(labels) + 1)  # slot 0 is missing (code -1)
        entry["missing"] += int(per_code[0])
        position = {c: i for i, c in enumerate(ref["categories"])}
        # The most frequent new values first, so the ones remembered by name are the common ones.
        for n, label in sorted(zip(per_code[1:].tolist(), labels, strict=True), key=lambda t: -t[0]):
            if n == 0:
                continue
            if label in position:
                entry["counts"][position[label]] += n
            elif label in entry["new"] or len(entry["new"]) < MAX_NEW_CATEGORIES:
                entry["new"][label] = entry["new"].get(label, 0) + n
            else:
                entry["new_other"] += n

    def profile(self) -> dict[str, Any]:
        """The counted rows as a profile with the reference's bins."""
        columns: dict[str, Any] = {}
        for name, ref in self.reference["columns"].items():
            entry = self.columns[name]
            out = {k: v for k, v in ref.items() if k in ("kind", "edges", "categories", "codes", "min", "max")}
            out.update(counts=entry["counts"].tolist(), missing=int(entry["missing"]))
            if ref["kind"] == "numeric":
                out.update(below=int(entry["below"]), above=int(entry["above"]))
            else:
                out.update(new=dict(entry["new"]), new_other=int(entry["new_other"]))
            columns[name] = out
        score = {
            "edges": list(self.reference["score"]["edges"]),
            "counts": self.score["counts"].tolist(),
            "missing": int(self.score["missing"]),
        }
        ref_score = self.reference[SCORE]
        if "called" in self.score:
            score.update(threshold=float(ref_score["threshold"]), called=int(self.score["called"]))
        if "ks_counts" in self.score:
            score.update(ks_edges=list(ref_score["ks_edges"]), ks_counts=self.score["ks_counts"].tolist())
        return {"format": FORMAT, "version": VERSION, "rows": int(self.rows), "columns": columns, SCORE: score}


def build_reference(
    schema: Schema,
    clean: pd.DataFrame,
    scores: np.ndarray,
    threshold: float | None = None,
    decisions: np.ndarray | None = None,
) -> dict[str, Any]:
    """The training split's profile: bins from its own quantiles and categories, then its counts.

    ``threshold``: the model's; it becomes a score edge, and with ``decisions`` (the model's on these
    rows) the call rate is counted.
    """
    columns: dict[str, Any] = {}
    for col in schema.columns:
        if KINDS[col.kind].profiled_as == "numeric":  # numbers, and dates as day numbers
            v = pd.to_numeric(clean[col.name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            finite = v[np.isfinite(v)]
            columns[col.name] = {
                "kind": "numeric",
                "edges": quantile_edges(v),
                "min": float(finite.min()) if len(finite) else None,
                "max": float(finite.max()) if len(finite) else None,
            }
        else:
            codes = col.dtype == "int" or col.kind == "binary"
            text = category_text(clean[col.name], codes=codes).dropna().astype(str)
            columns[col.name] = {
                "kind": col.kind,
                "codes": codes,
                "categories": sorted(text.unique().tolist(), key=lambda c: (len(c), c)),
            }
    called = np.asarray(scores)[np.asarray(decisions, dtype=bool)] if decisions is not None else None
    score: dict[str, Any] = {
        "edges": score_edges(scores, threshold, called),
        "ks_edges": quantile_edges(scores, KS_BINS),
    }
    if threshold is not None and decisions is not None:
        score["threshold"] = float(threshold)
    skeleton = {"columns": columns, SCORE: score}
    counter = Counter(skeleton)
    counter.add(clean, scores, decisions)
    return counter.profile()


def check_profile(data: Any, source: object) -> dict[str, Any]:
    """A profile read from JSON, checked enough that comparing it cannot fail half-way."""
    try:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} version {VERSION} file")
        for name, col in data["columns"].items():
            bins = len(col["edges"]) + 1 if col["kind"] == "numeric" else len(col["categories"])
            if len(col["counts"]) != bins or min(col["counts"], default=0) < 0:
                raise ValueError(f"column {name!r}: counts do not match its bins")
        score = data[SCORE]
        if len(score["counts"]) != len(score["edges"]) + 1:
            raise ValueError("score: counts do not match its bins")
        if "ks_edges" in score and len(score["ks_counts"]) != len(score["ks_edges"]) + 1:
            raise ValueError("score: KS counts do not match their bins")
        if "threshold" in score and not (0 <= float(score["threshold"]) <= 1 and int(score["called"]) >= 0):
            raise ValueError("score: threshold or call count out of range")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UptakeInputError(f"file '{source}': not a usable reference profile ({exc})") from None
    return data


__all__ = [
    "BINS",
    "FORMAT",
    "PROFILE",
    "SCORE",
    "Counter",
    "bin_counts",
    "build_reference",
    "check_profile",
    "quantile_edges",
    "score_edges",
]
