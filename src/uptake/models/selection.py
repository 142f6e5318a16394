"""Combining bagged candidates: Caruana's greedy ensemble selection on out-of-fold predictions.

Caruana et al. (ICML 2004), as AutoGluon's ``WeightedEnsemble`` uses it: start from the
best single candidate, then repeatedly add (with replacement) whichever candidate makes
the running mean of probabilities score best, for a fixed number of rounds. The
weights are how often each was picked. Picking with replacement and a small number
of rounds keeps the weights coarse, which is what stops them fitting the noise of a few
hundred positives. Scored on out-of-fold predictions only, never on test rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.metrics import average_precision_score

#: Rounds of greedy selection (AutoGluon uses 25 for its weighted ensemble).
ROUNDS = 25


def greedy_weights(oof: Mapping[str, np.ndarray], y: np.ndarray, rounds: int = ROUNDS) -> dict[str, float]:
    """Weights (summing to 1) over the names in ``oof`` by greedy selection on PR-AUC.

    Ties go to the candidate listed first, so the result is deterministic.
    """
    names = list(oof)
    if not names:
        raise ValueError("no candidates to combine")
    y = np.asarray(y).astype(int)
    if len(names) == 1 or len(np.unique(y)) < 2:
        return {names[0]: 1.0}
    preds = np.column_stack([np.asarray(oof[n], dtype=np.float64) for n in names])
    counts = np.zeros(len(names), dtype=int)
    total = np.zeros(len(y))
    best_score, best_counts = -np.inf, counts.copy()
    for step in range(1, rounds + 1):
        scores = [average_precision_score(y, (total + preds[:, j]) / step) for j in range(len(names))]
        j = int(np.argmax(scores))
        counts[j] += 1
        total += preds[:, j]
        if scores[j] > best_score + 1e-12:  # keep the best round's mix, not the last one's
            best_score, best_counts = scores[j], counts.copy()
    counts = best_counts
    weights = counts / counts.sum()
    return {n: float(w) for n, w in zip(names, weights) if w > 0}


__all__ = ["ROUNDS", "greedy_weights"]
