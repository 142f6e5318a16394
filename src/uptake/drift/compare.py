"""Has the data moved? Each column and the score of new rows against the training reference.

Per column: the population stability index (PSI) over the reference's bins, with
missing values as a bin of their own and, for categories, one bin for every category
training never saw, banded as is usual in credit risk (below 0.1 stable, 0.1 to 0.25
watch, above 0.25 act); a test for the sample size, Kolmogorov-Smirnov on the binned
distribution for numbers and chi-square on the counts for categories, with its
p-value; the change in the missing rate; the share outside the training range; the
new categories by name. A p-value alone would flag a harmless 0.1% move on ten million
rows, which is why the bands come from PSI and the p-value is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import chdtrc, kolmogorov  # scipy.special, not scipy.stats: a second less start-up

from uptake.drift.profile import SCORE

#: PSI band limits: below the first is stable, below the second watch, else act.
WATCH, ACT = 0.1, 0.25
BANDS = ("stable", "watch", "act")
#: Share floor inside the PSI's logarithm (an empty bin on one side stays finite).
EPS = 1e-4


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
    if sum(now[SCORE]["counts"]):
        r, n = reference[SCORE], now[SCORE]
        value = psi(r["counts"], n["counts"])
        stat, p = binned_ks(r["counts"], n["counts"])
        score = {
            "psi": value,
            "band": band(value),
            "test": "ks",
            "statistic": stat,
            "p_value": p,
            "reference_shares": _shares(r["counts"]),
            "now_shares": _shares(n["counts"]),
        }
    bands = [c["band"] for c in columns.values()] + ([score["band"]] if score else [])
    worst = max(bands, key=BANDS.index) if bands else "stable"
    return {
        "rows_reference": int(reference["rows"]),
        "rows_now": int(now["rows"]),
        "worst": worst,
        "columns": columns,
        "score": score,
    }


def _shares(counts: Any) -> list[float]:
    c = np.asarray(counts, dtype=np.float64)
    return (c / c.sum()).tolist() if c.sum() else c.tolist()


__all__ = ["ACT", "BANDS", "WATCH", "band", "binned_ks", "chi_square", "column_drift", "compare_profiles", "psi"]
