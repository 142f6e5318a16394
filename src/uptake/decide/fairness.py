"""Fairness of the decisions across groups of customers (fairlearn's ``MetricFrame``).

Per group: customers, acceptors, the share called (selection rate), recall among
acceptors (equal opportunity) and precision of the calls, each with its ratio to the
best-treated group. The four-fifths rule flags a group whose selection rate, or
recall, is below 80% of the best group's. Groups too small to say anything (fewer
than ``MIN_GROUP`` customers or ``MIN_POSITIVES`` acceptors) are shown, not flagged.

Every rate and ratio has a 95% interval from a stratified bootstrap (``BOOTSTRAP``
resamples, seeded): each group's customers are resampled within the group, which is a
multinomial draw over its four cells (called or not, acceptor or not), so it costs the
same for ten rows or ten million. A flag whose ratio interval reaches four-fifths is
marked uncertain: the group may be treated alike and the data too few to tell.

A group column is taken as it is (``Family``, ``Education``) or cut into ranges at
given edges (``Age:25,35,45,55,65``: under 25, 25-35, ..., 65 and over). A number
column with many values and no edges is refused: its groups would be meaningless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.schema.values import is_missing, plain, row_numbers, to_number

FOUR_FIFTHS = 0.8
MIN_GROUP = 30
MIN_POSITIVES = 5
#: Most distinct values a group column may have without edges.
MAX_GROUPS = 20
MISSING = "missing"
#: Bootstrap resamples for the intervals, and the interval's quantiles.
BOOTSTRAP = 1000
QUANTILES = (0.025, 0.975)
#: The gate's metrics (``uptake fairness --fail-on-flag --fail-metric``), by flag name.
FLAG_METRICS = {"selection-rate": "selection rate", "equal-opportunity": "equal opportunity"}


def intervals(
    y: np.ndarray, decision: np.ndarray, groups: np.ndarray, order: list[Any], judged: list[Any], seed: int = 0
) -> dict[Any, dict[str, tuple[float, float] | None]]:
    """95% intervals of each group's selection rate and recall, and of their ratios to the best judged group."""
    rng = np.random.default_rng(seed)
    rates: dict[Any, dict[str, np.ndarray]] = {}
    for g in order:
        mask = groups == g
        yy, dd = y[mask], decision[mask]
        cells = np.array([((yy == 1) & (dd == 1)).sum(), ((yy == 0) & (dd == 1)).sum(), ((yy == 1) & (dd == 0)).sum()])
        n = int(mask.sum())
        draws = rng.multinomial(n, np.append(cells, n - cells.sum()) / n, size=BOOTSTRAP) if n else np.zeros((1, 4))
        tp, fp, fn = draws[:, 0], draws[:, 1], draws[:, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            rates[g] = {"selection_rate": (tp + fp) / max(n, 1), "recall": tp / (tp + fn)}
    out: dict[Any, dict[str, tuple[float, float] | None]] = {}
    for k in ("selection_rate", "recall"):
        best = np.nanmax(np.vstack([rates[g][k] for g in judged]), axis=0) if judged else None
        for g in order:
            ci = out.setdefault(g, {})
            ci[k] = _band(rates[g][k])
            with np.errstate(invalid="ignore", divide="ignore"):
                ci[f"{k}_ratio"] = _band(rates[g][k] / best) if best is not None and g in judged else None
    return out


def _band(values: np.ndarray) -> tuple[float, float] | None:
    v = values[np.isfinite(values)]
    if len(v) < len(values) // 2:
        return None  # mostly undefined (no acceptors drawn): no interval to give
    lo, hi = np.quantile(v, QUANTILES)
    return float(lo), float(hi)


@dataclass(frozen=True)
class GroupSpec:
    column: str
    edges: tuple[float, ...] = ()

    @property
    def text(self) -> str:
        return self.column + (":" + ",".join(num(e) for e in self.edges) if self.edges else "")


def parse_group(text: str) -> GroupSpec:
    """``Family`` or ``Age:25,35,45``; the column name may itself contain spaces (not colons)."""
    column, _, edges = text.rpartition(":") if ":" in text else (text, "", "")
    column = column.strip()
    if not column:
        raise UptakeInputError(f"--group {text!r}: name a column, optionally with edges (Age:25,35,45)")
    if not edges.strip():
        return GroupSpec(column)
    try:
        values = tuple(float(e) for e in edges.split(",") if e.strip())
    except ValueError:
        raise UptakeInputError(f"--group {text!r}: the edges after ':' must be numbers separated by commas") from None
    if not values or any(not math.isfinite(v) for v in values) or list(values) != sorted(set(values)):
        raise UptakeInputError(f"--group {text!r}: the edges must be finite numbers in increasing order")
    return GroupSpec(column, values)


def num(edge: float) -> str:
    """An edge as short as it can be written without becoming another number (``25``, not ``25.0``)."""
    text = f"{edge:g}"
    return text if float(text) == edge else repr(float(edge))


def _label(lo: float | None, hi: float | None) -> str:
    if lo is None:
        return f"under {num(hi)}"  # type: ignore[arg-type]
    if hi is None:
        return f"{num(lo)} and over"
    return f"{num(lo)}-{num(hi)}"


def group_labels(values: pd.Series, spec: GroupSpec, source: object | None = None) -> pd.Series:
    """Each row's group name (text), ranges in order; missing values are their own group."""
    missing = is_missing(values)
    if spec.edges:
        nums = to_number(values, str(values.attrs.get("decimal", ".")))
        bad = nums.isna().to_numpy() & ~missing
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            row = int(row_numbers(values)[i])  # the row a user sees (the header is row 1 in CSV and Excel)
            raise UptakeInputError(
                f"{where(file=source, column=spec.column, row=row, value=plain(values.iloc[i]))}: "
                "edges cut numbers; this value is not one"
            )
        bounds = [None, *spec.edges, None]
        names = [_label(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
        codes = np.searchsorted(np.asarray(spec.edges), nums.to_numpy(dtype=float, na_value=np.nan), side="right")
        out = pd.Series(
            pd.Categorical.from_codes(np.where(nums.isna(), -1, codes), categories=names), index=values.index
        ).astype(object)
        return out.where(nums.notna(), MISSING)
    labels = values.map(
        lambda v: str(int(v)) if isinstance(v, (float, np.floating)) and float(v).is_integer() else str(v).strip()
    ).where(~missing, MISSING)
    distinct = labels.nunique()
    if distinct > MAX_GROUPS:
        raise UptakeInputError(
            f"{where(file=source, column=spec.column)}: {distinct} distinct values are too many "
            f"groups; cut it into ranges, e.g. --group '{spec.column}:25,35,45'"
        )
    return labels


def fairness_table(
    y: np.ndarray, decision: np.ndarray, groups: pd.Series, spec: GroupSpec, seed: int = 0
) -> dict[str, Any]:
    """Per-group figures and ratios to the best-treated group, with intervals and the four-fifths flags."""
    from fairlearn.metrics import MetricFrame, count, selection_rate  # 2 s of imports: only when fairness is asked
    from sklearn.metrics import precision_score, recall_score

    y = np.asarray(y, dtype=np.int64)
    decision = np.asarray(decision, dtype=np.int64)
    frame = MetricFrame(
        metrics={
            "customers": count,
            "selection_rate": selection_rate,
            "recall": lambda t, p: recall_score(t, p, zero_division=np.nan),
            "precision": lambda t, p: precision_score(t, p, zero_division=np.nan),
        },
        y_true=y,
        y_pred=decision,
        sensitive_features=pd.Series(groups.to_numpy(), name=spec.column),
    )
    by = frame.by_group
    acceptors = pd.Series(y).groupby(groups.to_numpy()).sum()
    order = _order(list(by.index), spec)
    judged = [g for g in order if by.loc[g, "customers"] >= MIN_GROUP and acceptors.get(g, 0) >= MIN_POSITIVES]
    best = {
        k: max((by.loc[g, k] for g in judged if not np.isnan(by.loc[g, k])), default=np.nan)
        for k in ("selection_rate", "recall", "precision")
    }
    cis = intervals(y, decision, groups.to_numpy(), order, judged, seed)
    rows = []
    for g in order:
        small = g not in judged
        row: dict[str, Any] = {
            "group": str(g),
            "customers": int(by.loc[g, "customers"]),
            "acceptors": int(acceptors.get(g, 0)),
            "small": small,
        }
        row["base_rate"] = row["acceptors"] / row["customers"] if row["customers"] else None
        for k in ("selection_rate", "recall", "precision"):
            v = float(by.loc[g, k])
            row[k] = None if np.isnan(v) else v
            ratio = v / best[k] if not small and best[k] and not np.isnan(v) and not np.isnan(best[k]) else None
            row[f"{k}_ratio"] = ratio
        row["flags"] = (
            []
            if small
            else [
                name
                for k, name in (("selection_rate", "selection rate"), ("recall", "equal opportunity"))
                if row[f"{k}_ratio"] is not None and row[f"{k}_ratio"] < FOUR_FIFTHS
            ]
        )
        row["intervals"] = cis[g]
        # a flag whose ratio interval reaches four-fifths: the data are too few to be sure
        row["uncertain"] = [
            name
            for k, name in (("selection_rate", "selection rate"), ("recall", "equal opportunity"))
            if name in row["flags"] and (cis[g][f"{k}_ratio"] is None or cis[g][f"{k}_ratio"][1] >= FOUR_FIFTHS)
        ]
        rows.append(row)
    flagged = [r["group"] for r in rows if r["flags"]]
    overall = frame.overall
    return {
        "group": spec.text,
        "column": spec.column,
        "customers": len(y),
        "rule": f"four-fifths ({FOUR_FIFTHS:g})",
        "intervals": f"95%, stratified bootstrap of {BOOTSTRAP} resamples",
        "overall": {
            "selection_rate": float(overall["selection_rate"]),
            "recall": None if np.isnan(overall["recall"]) else float(overall["recall"]),
            "precision": None if np.isnan(overall["precision"]) else float(overall["precision"]),
        },
        "groups": rows,
        "flagged": flagged,
        "summary": _summary(spec, rows, flagged),
    }


def _order(groups: list[Any], spec: GroupSpec) -> list[Any]:
    if spec.edges:
        bounds = [None, *spec.edges, None]
        names = [_label(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])] + [MISSING]
        return [n for n in names if n in groups]

    def key(g: Any) -> tuple[int, float, str]:
        try:
            return (0, float(g), "")
        except ValueError:
            return (1 if g != MISSING else 2, 0.0, str(g))

    return sorted(groups, key=key)


def _summary(spec: GroupSpec, rows: list[dict[str, Any]], flagged: list[str]) -> str:
    small = [r["group"] for r in rows if r["small"]]
    note = f" ({len(small)} group(s) too small to judge: {', '.join(small)})" if small else ""
    if not flagged:
        return f"By {spec.text}: no group below four-fifths of the best-treated group{note}."
    parts = []
    for r in rows:
        for flag in r["flags"]:
            k = "selection_rate" if flag == "selection rate" else "recall"
            ci = r["intervals"][f"{k}_ratio"]
            band = f", 95% interval {ci[0]:.2f}-{ci[1]:.2f}" if ci else ""
            unsure = ": too uncertain to be sure" if flag in r["uncertain"] else ""
            parts.append(f"{r['group']} ({flag} {r[f'{k}_ratio']:.2f} of the best{band}{unsure})")
    return f"By {spec.text}: below four-fifths: " + "; ".join(parts) + note + "."


__all__ = [
    "BOOTSTRAP",
    "FLAG_METRICS",
    "FOUR_FIFTHS",
    "GroupSpec",
    "fairness_table",
    "group_labels",
    "intervals",
    "num",
    "parse_group",
]
