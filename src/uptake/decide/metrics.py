"""Imbalance-aware metrics.

With 90% of customers saying no, a model that calls nobody is 90% accurate. The
numbers that matter are the four counts at the chosen threshold and the
threshold-free curves, PR-AUC first: it is the one that moves when the rare class
is ranked well. They live beside the decision because the counts are the
decision's, and every training and evaluation path reads them from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from uptake.decide.decision import confusion

#: The keys of ``uptake evaluate --json``, in order. Part of the public contract.
METRIC_KEYS = (
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


def metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Every headline metric for labels ``y`` and positive-class probabilities ``p``."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=np.float64)
    tp, fp, tn, fn = confusion(y, p, threshold)
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
        "n": len(y),
        "positives": int(y.sum()),
    }


def describe(m: dict[str, Any], positives: str = "acceptors") -> list[tuple[str, str]]:
    """Rows for a printed metrics table, with the confusion counts in plain words."""
    return [
        (f"{positives} found (TP)", f"{m['tp']}"),
        ("wasted calls (FP)", f"{m['fp']}"),
        ("correctly left alone (TN)", f"{m['tn']}"),
        (f"{positives} missed (FN)", f"{m['fn']}"),
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


__all__ = ["METRIC_KEYS", "describe", "metrics"]
