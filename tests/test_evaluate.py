"""Metrics on hand-made data, where every number can be worked out on paper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.decide.metrics import METRIC_KEYS, describe, metrics
from uptake.decide.thresholds import best_f1_threshold


def test_metric_keys_are_the_contract() -> None:
    assert METRIC_KEYS == (
        "tp",
        "fp",
        "tn",
        "fn",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "pr_auc",
        "brier",
        "threshold",
        "n",
        "positives",
    )


def test_metrics_by_hand() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.1, 0.1, 0.05, 0.0])
    m = metrics(y, p, threshold=0.5)
    assert set(m) == set(METRIC_KEYS)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (2, 1, 6, 1)
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # 3 positives x 7 negatives = 21 pairs; only (0.3 vs 0.7) is out of order.
    assert m["roc_auc"] == pytest.approx(20 / 21)
    # Ranked: 1,1,0,1 -> AP = (1/1 + 2/2 + 3/4) / 3
    assert m["pr_auc"] == pytest.approx((1 + 1 + 0.75) / 3)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert (m["threshold"], m["n"], m["positives"]) == (0.5, 10, 3)


def test_threshold_is_inclusive() -> None:
    m = metrics(np.array([1, 0]), np.array([0.5, 0.49]), threshold=0.5)
    assert (m["tp"], m["tn"]) == (1, 1)


def test_no_predicted_positives_and_one_class() -> None:
    m = metrics(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.3]), threshold=0.9)
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    single = metrics(np.array([0, 0]), np.array([0.1, 0.7]), threshold=0.5)
    assert math.isnan(single["roc_auc"]) and math.isnan(single["pr_auc"])
    assert single["fp"] == 1


def test_describe_has_every_count() -> None:
    m = metrics(np.array([1, 0, 0]), np.array([0.9, 0.6, 0.1]), 0.5)
    rows = dict(describe(m))
    assert rows["acceptors found (TP)"] == "1" and rows["wasted calls (FP)"] == "1"
    assert rows["rows / positives"] == "3 / 1"


def test_best_f1_threshold_by_hand() -> None:
    y = np.array([0, 0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9])
    t = best_f1_threshold(y, p)
    # Best F1 is calling the top four (0.4 and up): F1 = 2*0.75*1/(1.75) = 0.857.
    assert 0.3 < t <= 0.4
    assert metrics(y, p, t)["f1"] == pytest.approx(6 / 7)


def test_best_f1_threshold_separable() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.7, 0.8])
    t = best_f1_threshold(y, p)
    assert 0.2 < t <= 0.7
    assert metrics(y, p, t)["f1"] == 1.0


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int((pred & (y == 1)).sum())
    return 2 * tp / (pred.sum() + y.sum()) if tp else 0.0


def test_best_f1_threshold_calls_everyone_at_score_zero() -> None:
    # Calling everyone is best here, and the lowest score is exactly 0.0.
    y, p = np.array([1, 0, 1]), np.array([0.0, 0.0, 0.0])
    t = best_f1_threshold(y, p)
    assert metrics(y, p, t)["f1"] == pytest.approx(0.8)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.5, 1.0]))), min_size=2, max_size=60
    ).filter(lambda r: 0 < sum(b for b, _ in r) < len(r))
)
def test_property_best_f1_threshold_is_optimal(records: list[tuple[bool, float]]) -> None:
    y = np.array([int(b) for b, _ in records])
    p = np.array([s for _, s in records])
    t = best_f1_threshold(y, p)
    assert 0.0 <= t <= 1.0
    best = max(_f1(y, p >= c) for c in np.unique(p))
    assert metrics(y, p, t)["f1"] == pytest.approx(best, abs=1e-12)
