"""Blending two models' probabilities with one weight chosen on validation data.

A fine weight tuned on a few hundred validation rows would just fit their noise, so the
share is chosen from a coarse grid, ties going to the plain average. Shared by the
ensemble family and ``uptake compare`` so both combine members the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score

#: Network shares tried on validation (1 - share goes to LightGBM).
WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 11))


def choose_weight(
    y_val: np.ndarray, p_network: np.ndarray, p_gbm: np.ndarray, grid: Sequence[float] = WEIGHT_GRID
) -> tuple[float, dict[str, float]]:
    """The network share with the best validation PR-AUC; ties go to the share nearest 0.5.

    Returns the share and the PR-AUC of every share tried (for the model's metadata).
    Shared by ``EnsembleClassifier.fit`` and ``uptake compare`` so both combine the
    members the same way.
    """
    y_val = np.asarray(y_val).astype(int)
    if len(np.unique(y_val)) < 2:
        return 0.5, {}
    scores = {float(w): float(average_precision_score(y_val, w * p_network + (1 - w) * p_gbm)) for w in grid}
    best = max(sorted(scores, key=lambda w: abs(w - 0.5)), key=lambda w: scores[w])
    return best, {f"{w:g}": s for w, s in scores.items()}


__all__ = ["WEIGHT_GRID", "choose_weight"]
