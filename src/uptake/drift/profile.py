"""What the training rows looked like, as counts: the reference that new data is compared with.

A profile holds, per input column, binned counts and nothing else: quantile bins of the
training split for numeric columns (ten by default, fewer when values repeat), the
count of each category (binary columns are two categories), the missing count, and
for numbers the training range; plus the same bins for the model's score. No customer
row is stored. Profiles are built and grown chunk by chunk (:class:`Counter`), so a
10-million-row file is profiled in the memory of one chunk, and two profiles with the
same bins are compared by :mod:`uptake.drift.compare`.

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
        self.score = {"counts": np.zeros(len(reference["score"]["edges"]) + 1, dtype=np.int64), "missing": 0}

    def add(self, clean: pd.DataFrame, scores: np.ndarray | None = None) -> None:
        """Count validated rows (``Schema.validate``'s clean frame) and, optionally, their scores."""
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
            counts, missing = bin_counts(scores, self.reference["score"]["edges"])
            self.score["counts"] += counts
            self.score["missing"] += missing

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
        return {"format": FORMAT, "version": VERSION, "rows": int(self.rows), "columns": columns, SCORE: score}


def build_reference(schema: Schema, clean: pd.DataFrame, scores: np.ndarray) -> dict[str, Any]:
    """The training split's profile: bins from its own quantiles and categories, then its counts."""
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
    skeleton = {"columns": columns, SCORE: {"edges": quantile_edges(scores)}}
    counter = Counter(skeleton)
    counter.add(clean, scores)
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
        if len(data[SCORE]["counts"]) != len(data[SCORE]["edges"]) + 1:
            raise ValueError("score: counts do not match its bins")
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
]
