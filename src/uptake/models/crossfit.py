"""Sizing a boosted model on a small table: early stopping cross-fitted over training and validation rows.

On a small table one validation split is a poor judge of when to stop: with a few
dozen positives its PR-AUC saturates after a handful of rounds (the bank table's
LightGBM stopped at 7 rounds on 62 validation positives, and ranked its holdout worse
than 400 fixed rounds), and the rows it holds are a fifth of what the model could
learn from. Below ``REFIT_ROWS`` training rows a boosted family therefore stops early
on each of :data:`FOLDS` folds of the training and validation rows together (each fold
model on its own held-out fold), takes the mean of the sizes they kept, and is trained
once more on all those rows at that size. The validation rows' scores, on which the
threshold and calibrator are chosen, are the fold models' out-of-fold predictions:
from models of that size that never trained on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

#: Folds of the cross-fitted early stopping.
FOLDS = 5


def cross_fitted(
    make: Callable[[], Any], X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, seed: int, key: str
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """``(X_all, y_all, size, validation_oof)``: all rows, the mean size (``refit_params()[key]``) the fold models
    kept, and the validation rows' out-of-fold predictions. ``make()`` is an unfitted model that does not refit."""
    X_all = np.vstack([np.asarray(X, dtype=np.float64), np.asarray(X_val, dtype=np.float64)])
    y_all = np.concatenate([np.asarray(y).astype(int).reshape(-1), np.asarray(y_val).astype(int).reshape(-1)])
    k = int(max(2, min(FOLDS, np.bincount(y_all, minlength=2).min())))
    oof = np.zeros(len(y_all))
    sizes = []
    for tr, ho in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X_all, y_all):
        model = make()
        model.fit(X_all[tr], y_all[tr], X_val=X_all[ho], y_val=y_all[ho])
        oof[ho] = model.predict_proba(X_all[ho])[:, 1]
        sizes.append(int(model.refit_params()[key]))
    return X_all, y_all, max(1, int(round(float(np.mean(sizes))))), oof[len(X) :]


__all__ = ["FOLDS", "cross_fitted"]
