"""The network and LightGBM, averaged.

A network and a tree ensemble make different mistakes (smooth versus step-shaped
decision surfaces), so a weighted mean of their probabilities usually ranks at least
as well as the better one. The network's share is chosen on validation data from a
coarse grid, ties going to the plain average, because a fine weight tuned on a few
hundred validation rows would just fit their noise.

Saved as ``ensemble.json`` plus one sub-directory per member in that member's own
safe format (``network/`` .keras files, ``lightgbm/`` LightGBM text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import average_precision_score

from uptake.errors import UptakeInputError
from uptake.models.gbm import _read_meta

FORMAT = "uptake-ensemble"
FORMAT_VERSION = 1
META_FILE = "ensemble.json"
#: Network shares tried on validation (1 - share goes to LightGBM).
WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 11))


def choose_weight(y_val: np.ndarray, p_network: np.ndarray, p_gbm: np.ndarray,
                  grid: Sequence[float] = WEIGHT_GRID) -> tuple[float, dict[str, float]]:
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


class EnsembleClassifier(ClassifierMixin, BaseEstimator):
    """Weighted mean of a :class:`NetworkClassifier` and a :class:`LightGBMClassifier`.

    Parameters:
        network: keyword arguments for ``NetworkClassifier`` (preset, imbalance, ...).
        gbm: keyword arguments for ``LightGBMClassifier``.
        weight: the network's share in [0, 1]; ``None`` chooses it on validation
            data (0.5 when there is none).
        callbacks: Keras callbacks for the network (progress bars); not saved.
    """

    def __init__(self, network: dict[str, Any] | None = None, gbm: dict[str, Any] | None = None,
                 weight: float | None = None, callbacks: list[Any] | None = None) -> None:
        self.network = network
        self.gbm = gbm
        self.weight = weight
        self.callbacks = callbacks

    def _network(self) -> Any:
        from uptake.models.network import NetworkClassifier

        return NetworkClassifier(**(self.network or {}), callbacks=self.callbacks)

    def _gbm(self) -> Any:
        from uptake.models.gbm import LightGBMClassifier

        return LightGBMClassifier(**(self.gbm or {}))

    @property
    def numeric_encoding(self) -> str:
        """Both members share one preprocessor, so it is the network's choice."""
        cfg = self._network().resolved_config()
        return getattr(cfg, "numeric_encoding", "standard")

    def fit(self, X: Any, y: Any, X_val: Any | None = None, y_val: Any | None = None) -> EnsembleClassifier:
        """Fit both members on the same rows; choose the weight on the validation rows."""
        if self.weight is not None and not (isinstance(self.weight, (int, float)) and 0.0 <= self.weight <= 1.0):
            raise UptakeInputError(f"weight must be in [0, 1], got {self.weight!r}")
        self.network_ = self._network().fit(X, y, X_val=X_val, y_val=y_val)
        self.gbm_ = self._gbm().fit(X, y, X_val=X_val, y_val=y_val)
        if self.weight is not None:
            self.weight_, self.weight_scores_ = float(self.weight), {}
        elif X_val is not None:
            self.weight_, self.weight_scores_ = choose_weight(
                y_val, self.network_.predict_proba(X_val)[:, 1], self.gbm_.predict_proba(X_val)[:, 1]
            )
        else:
            self.weight_, self.weight_scores_ = 0.5, {}
        self._set_fitted()
        return self

    def _set_fitted(self) -> None:
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = int(self.network_.n_features_in_)
        self.history_ = getattr(self.network_, "history_", None)

    def predict_proba(self, X: Any) -> np.ndarray:
        if not hasattr(self, "network_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("EnsembleClassifier is not fitted yet; call fit or load first")
        p = self.weight_ * self.network_.predict_proba(X)[:, 1] + (1 - self.weight_) * self.gbm_.predict_proba(X)[:, 1]
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    # ---- persistence --------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Each member in its own sub-directory and format; the weight in ``ensemble.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network_.save(directory / "network")
        self.gbm_.save(directory / "lightgbm")
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "weight": self.weight_,
            "weight_scores": self.weight_scores_,
            "members": [{"name": "network", "type": "network"}, {"name": "lightgbm", "type": "lightgbm"}],
            "params": {"network": self.network, "gbm": self.gbm, "weight": self.weight},
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> EnsembleClassifier:
        """Load each member with its own family's loader (no pickle anywhere)."""
        from uptake.models.gbm import LightGBMClassifier
        from uptake.models.network import NetworkClassifier

        directory = Path(directory)
        meta = _read_meta(directory / META_FILE, FORMAT, FORMAT_VERSION)
        params = meta.get("params") or {}
        est = cls(network=params.get("network"), gbm=params.get("gbm"), weight=params.get("weight"))
        est.network_ = NetworkClassifier.load(directory / "network")
        est.gbm_ = LightGBMClassifier.load(directory / "lightgbm")
        est.weight_ = float(meta["weight"])
        est.weight_scores_ = dict(meta.get("weight_scores") or {})
        est._set_fitted()
        return est


__all__ = ["EnsembleClassifier", "choose_weight"]
