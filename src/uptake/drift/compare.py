"""Has the data moved? Each column and the score of new rows against the training reference.

Per column: the population stability index (PSI) over the reference's bins, with
missing values as a bin of their own and, for categories, one bin for every category
training never saw, banded as is usual in credit risk (below 0.1 stable, 0.1 to 0.25
watch, above 0.25 act); a test for the sample size, Kolmogorov-Smirnov on the binned
distribution for numbers and chi-square on the counts for categories, with its
p-value; the change in the missing rate; the share outside the training range; the
new categories by name. A p-value alone would flag a harmless 0.1% move on ten million
rows, which is why the bands come from PSI and the p-value is reported beside it.

The score has a band of its own and so has the **call rate**, the share of customers at
or above the model's threshold: a move where decisions are made (the called customers'
scores squeezed below the threshold) can leave the score's PSI near zero while the model
would call nobody. The call rate is banded by its ratio to training's (:data:`CALL_WATCH`,
:data:`CALL_ACT`) when a two-proportion test says the move is more than chance
(p < :data:`CALL_P`), and told in a sentence a manager reads. The score's KS test runs on
200 equal-share bins of the training scores (0.5% resolution) where the profile has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import chdtrc, kolmogorov, ndtr  # scipy.special, not scipy.stats: a second less start-up

from uptake.drift.profile import SCORE

#: PSI band limits: below the first is stable, below the second watch, else act.
WATCH, ACT = 0.1, 0.25
BANDS = ("stable", "watch", "act")
#: Share floor inside the PSI's logarithm (an empty bin on one side stays finite).
EPS = 1e-4
#: Call rate against training's: outside [1/CALL_WATCH, CALL_WATCH] is watch, outside [1/CALL_ACT, CALL_ACT] act.
CALL_WATCH, CALL_ACT = 1.25, 1.5
#: A call-rate move is banded only when a two-proportion z-test gives a p-value below this.
CALL_P = 0.01
#: For the score's PSI, its fine top bins are merged until each holds this share of the training
#: scores (the threshold stays an edge): many thin bins would make PSI measure sample noise.
PSI_MIN_SHARE = 0.05


def psi_bins(counts: Any, edges: list[float], threshold: float | None) -> np.ndarray:
    """A group number per score bin: neighbours merged to :data:`PSI_MIN_SHARE`, never across the threshold."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum() or 1.0
    keep = {i + 1 for i, e in enumerate(edges) if threshold is not None and e == threshold}  # bin starting above it
    group, out, share = 0, [], 0.0
    for i, n in enumerate(c):
        if i in keep or (share >= PSI_MIN_SHARE and i):
            group, share = group + (1 if out else 0), 0.0
        out.append(group)
        share += n / total
    out_a = np.asarray(out)
    last = out_a == out_a[-1]
    if c[last].sum() / total < PSI_MIN_SHARE and out_a[-1] > 0 and (np.flatnonzero(last)[0] not in keep):
        out_a[last] = out_a[-1] - 1  # a thin last group joins its neighbour
    return out_a


def _grouped(counts: Any, groups: np.ndarray) -> np.ndarray:
    return np.bincount(groups, weights=np.asarray(counts, dtype=np.float64))


def band(psi: float) -> str:
    return "stable" if psi < WATCH else "watch" if psi < ACT else "act"


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.sum() == 0 or a.sum() == 0:
        return 0.0
    e = np.maximum(e / e.sum(), EPS)
    a = np.maximum(a / a.sum(), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def binned_ks(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Kolmogorov-Smirnov statistic on binned counts, and its asymptotic p-value."""
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    n, m = e.sum(), a.sum()
    if n == 0 or m == 0:
        return 0.0, 1.0
    d = float(np.max(np.abs(np.cumsum(e) / n - np.cumsum(a) / m)))
    return d, float(kolmogorov(d * np.sqrt(n * m / (n + m))))  # the limiting distribution's survival function


def chi_square(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity on two count vectors (empty bins left out)."""
    table = np.vstack([np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    fitted = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()  # counts if nothing had moved
    chi2 = float(np.sum((table - fitted) ** 2 / fitted))
    return chi2, float(chdtrc(table.shape[1] - 1, chi2))  # (2 - 1) x (bins - 1) degrees of freedom


def _rate(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def column_drift(ref: Mapping[str, Any], now: Mapping[str, Any], ref_rows: int, now_rows: int) -> dict[str, Any]:
    """One column's drift: PSI and band, the test, missing and out-of-range changes, new categories."""
    numeric = ref["kind"] == "numeric"
    if numeric:
        expected = [*ref["counts"], ref["missing"]]
        actual = [*now["counts"], now["missing"]]
        stat, p = binned_ks(ref["counts"], now["counts"])
        test = "ks"
    else:
        new_total = sum(now["new"].values()) + now["new_other"]
        expected = [*ref["counts"], ref["missing"], 0]
        actual = [*now["counts"], now["missing"], new_total]
        stat, p = chi_square([*ref["counts"], 0], [*now["counts"], new_total])
        test = "chi2"
    value = psi(expected, actual)
    out: dict[str, Any] = {
        "kind": ref["kind"],
        "psi": value,
        "band": band(value),
        "test": test,
        "statistic": stat,
        "p_value": p,
        "missing_reference": _rate(ref["missing"], ref_rows),
        "missing_now": _rate(now["missing"], now_rows),
    }
    if numeric:
        out["out_of_range_reference"] = _rate(ref.get("below", 0) + ref.get("above", 0), ref_rows)
        out["out_of_range_now"] = _rate(now.get("below", 0) + now.get("above", 0), now_rows)
    else:
        out["new_categories"] = dict(sorted(now["new"].items(), key=lambda kv: -kv[1]))
        out["new_share"] = _rate(sum(now["new"].values()) + now["new_other"], now_rows)
    return out


def compare_profiles(reference: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, Any]:
    """Every column's and the score's drift, and the worst band among them."""
    columns = {
        name: column_drift(ref, now["columns"][name], reference["rows"], now["rows"])
        for name, ref in reference["columns"].items()
    }
    score = None
    calls = None
    if sum(now[SCORE]["counts"]):
        r, n = reference[SCORE], now[SCORE]
        groups = psi_bins(r["counts"], list(r["edges"]), r.get("threshold"))
        value = psi(_grouped(r["counts"], groups), _grouped(n["counts"], groups))
        fine = "ks_counts" in r and "ks_counts" in n
        stat, p = binned_ks(r["ks_counts"], n["ks_counts"]) if fine else binned_ks(r["counts"], n["counts"])
        calls = call_rate(r, n)
        score = {
            "psi": value,
            "band": band(value),
            "test": "ks",
            "statistic": stat,
            "p_value": p,
            "ks_on": f"{len(r['ks_edges']) + 1} equal-share bins of the training scores" if fine else "the PSI bins",
            "reference_shares": _shares(r["counts"]),
            "now_shares": _shares(n["counts"]),
        }
    bands = [c["band"] for c in columns.values()] + ([score["band"]] if score else [])
    bands += [calls["band"]] if calls else []
    worst = max(bands, key=BANDS.index) if bands else "stable"
    return {
        "rows_reference": int(reference["rows"]),
        "rows_now": int(now["rows"]),
        "worst": worst,
        "columns": columns,
        "score": score,
        "call_rate": calls,
    }


def call_rate(ref: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, Any] | None:
    """The share of customers at or above the threshold, now against training, banded (None without one)."""
    if ref.get("threshold") is None or "called" not in now:
        return None
    n_ref, n_now = float(sum(ref["counts"])), float(sum(now["counts"]))
    if not n_ref or not n_now:
        return None
    a, b = ref["called"] / n_ref, now["called"] / n_now
    pooled = (ref["called"] + now["called"]) / (n_ref + n_now)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_now))
    p_value = float(2 * ndtr(-abs(b - a) / se)) if se > 0 else (1.0 if a == b else 0.0)
    ratio = b / a if a else (np.inf if b else 1.0)
    if p_value >= CALL_P or 1 / CALL_WATCH <= ratio <= CALL_WATCH:
        level = "stable"
    elif 1 / CALL_ACT <= ratio <= CALL_ACT:
        level = "watch"
    else:
        level = "act"
    sentence = (
        f"At the threshold {ref['threshold']:.3g} the model would now call {b:.1%} of customers "
        f"instead of {a:.1%} in training"
    )
    if level == "stable":
        sentence += " (within the usual variation)" if p_value >= CALL_P else " (a small move)"
    return {
        "threshold": float(ref["threshold"]),
        "reference": a,
        "now": b,
        "ratio": None if not np.isfinite(ratio) else float(ratio),
        "p_value": p_value,
        "band": level,
        "sentence": sentence,
    }


def _shares(counts: Any) -> list[float]:
    c = np.asarray(counts, dtype=np.float64)
    return (c / c.sum()).tolist() if c.sum() else c.tolist()


__all__ = [
    "ACT",
    "BANDS",
    "WATCH",
    "band",
    "binned_ks",
    "call_rate",
    "chi_square",
    "column_drift",
    "compare_profiles",
    "psi",
]
