"""Imbalance-aware metrics.

With 90% of customers saying no, a model that calls nobody is 90% accurate. The
numbers that matter are the four counts at the chosen threshold and the
threshold-free curves, PR-AUC first: it is the one that moves when the rare class
is ranked well.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
)

#: The keys of ``uptake evaluate --json``, in order. Part of the public contract.
METRIC_KEYS = (
    "tp", "fp", "tn", "fn", "accuracy", "precision", "recall", "f1",
    "roc_auc", "pr_auc", "brier", "threshold", "n", "positives",
)


def metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Every headline metric for labels ``y`` and positive-class probabilities ``p``."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=np.float64)
    pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both = len(np.unique(y)) == 2
    return {
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "accuracy": (tp + tn) / len(y) if len(y) else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p, pos_label=1)) if len(y) else float("nan"),
        "threshold": float(threshold),
        "n": int(len(y)),
        "positives": int(y.sum()),
    }


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut that maximises F1 on (validation) data.

    Candidates are midpoints between neighbouring distinct scores, so the choice
    does not sit exactly on one customer's probability and is stable under tiny
    numeric differences.
    """
    precision, recall, thresholds = precision_recall_curve(y, p)
    if len(thresholds) == 0:
        return 0.5
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)[:-1]
    i = int(np.argmax(f1))
    cut = thresholds[i]
    if i > 0:
        mid = (thresholds[i] + thresholds[i - 1]) / 2
        cut = mid if mid > thresholds[i - 1] else cut  # neighbours one float apart have no midpoint
    # No lower clamp: when calling everyone is best and the lowest score is 0.0, a cut
    # above 0 would call no one (decisions are p >= threshold).
    return float(min(max(cut, 0.0), 1.0))


def describe(m: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows for a printed metrics table, with the confusion counts in plain words."""
    return [
        ("acceptors found (TP)", f"{m['tp']}"),
        ("wasted calls (FP)", f"{m['fp']}"),
        ("correctly left alone (TN)", f"{m['tn']}"),
        ("acceptors missed (FN)", f"{m['fn']}"),
        ("precision", f"{m['precision']:.4f}"),
        ("recall", f"{m['recall']:.4f}"),
        ("F1", f"{m['f1']:.4f}"),
        ("PR-AUC (average precision)", f"{m['pr_auc']:.4f}"),
        ("ROC-AUC", f"{m['roc_auc']:.4f}"),
        ("Brier score", f"{m['brier']:.4f}"),
        ("accuracy (misleading alone)", f"{m['accuracy']:.4f}"),
        ("threshold", f"{m['threshold']:.4f}"),
        ("rows / positives", f"{m['n']} / {m['positives']}"),
    ]
