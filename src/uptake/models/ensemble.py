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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from uptake.errors import UptakeInputError
from uptake.models.base import Family
from uptake.models.blend import choose_weight
from uptake.models.gbm import LightGBMClassifier
from uptake.models.network import NetworkClassifier


class EnsembleClassifier(Family):
    """Weighted mean of a :class:`NetworkClassifier` and a :class:`LightGBMClassifier`.

    Parameters:
        network: keyword arguments for ``NetworkClassifier`` (preset, imbalance, ...).
        gbm: keyword arguments for ``LightGBMClassifier``.
        weight: the network's share in [0, 1]; ``None`` chooses it on validation
            data (0.5 when there is none).
        callbacks: Keras callbacks for the network (progress bars); not saved.
    """

    name = "ensemble"
    sidecar = "ensemble.json"
    format = "uptake-ensemble"
    library = "keras"
    accepts: ClassVar[frozenset[str]] = NetworkClassifier.accepts

    def __init__(
        self,
        network: dict[str, Any] | None = None,
        gbm: dict[str, Any] | None = None,
        weight: float | None = None,
        callbacks: list[Any] | None = None,
    ) -> None:
        self.network = network
        self.gbm = gbm
        self.weight = weight
        self.callbacks = callbacks

    @classmethod
    def from_options(cls, options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> EnsembleClassifier:
        """The network configured as for ``--model network``, plus LightGBM with the same seed."""
        network = NetworkClassifier.from_options(options).get_params(deep=False)
        network = {k: v for k, v in network.items() if v is not None and k != "callbacks"}
        return cls(network=network, gbm={"seed": options.get("seed", 0)}, callbacks=list(callbacks) or None)

    def _network(self) -> NetworkClassifier:
        return NetworkClassifier(**(self.network or {}), callbacks=self.callbacks)

    def _gbm(self) -> LightGBMClassifier:
        # its validation scores weigh the blend: it must not also train on the validation rows
        return LightGBMClassifier(**{"refit": False, **(self.gbm or {})})

    def check_params(self) -> None:
        if self.weight is not None and not (isinstance(self.weight, (int, float)) and 0.0 <= self.weight <= 1.0):
            raise UptakeInputError(f"weight must be in [0, 1], got {self.weight!r}")
        self._network().check_params()
        self._gbm().check_params()

    def numeric_encoding(self) -> str:
        """Both members share one preprocessor, so it is the network's choice."""
        return self._network().numeric_encoding()

    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> EnsembleClassifier:
        """Fit both members on the same rows; choose the weight on the validation rows."""
        self.check_params()
        self.validation_oof_ = None
        self.network_ = self._network().fit(X, y, X_val=X_val, y_val=y_val)
        self.gbm_ = self._gbm().fit(X, y, X_val=X_val, y_val=y_val)
        if self.weight is not None:
            self.weight_, self.weight_scores_ = float(self.weight), {}
        elif X_val is not None:
            held = self.network_.held_out_validation()  # cross-fitted members trained on the other rows
            net_val = self.network_.predict_proba(X_val)[:, 1] if held is None else held
            gbm_val = self.gbm_.predict_proba(X_val)[:, 1]
            self.weight_, self.weight_scores_ = choose_weight(y_val, net_val, gbm_val)
            self.validation_oof_ = None if held is None else self.weight_ * held + (1 - self.weight_) * gbm_val
        else:
            self.weight_, self.weight_scores_ = 0.5, {}
        self._set_fitted()
        return self

    def _set_fitted(self) -> None:
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = int(self.network_.n_features_in_)

    def held_out_validation(self) -> np.ndarray | None:
        """The blend's validation probabilities when its network's members trained on the validation rows too."""
        return getattr(self, "validation_oof_", None)

    def training_history(self) -> list[dict[str, list[float]]] | None:
        return self.network_.training_history()

    def hyperparameters(self) -> dict[str, Any]:
        return {"network": self.network, "gbm": self.gbm, "weight": self.weight}

    def libraries(self) -> list[str]:
        return ["keras", "lightgbm"]

    def imbalance_info(self) -> dict[str, Any]:
        return self.network_.imbalance_info() if hasattr(self, "network_") else self._network().imbalance_info()

    def predict_proba(self, X: Any) -> np.ndarray:
        self.check_is_fitted()
        p = self.weight_ * self.network_.predict_proba(X)[:, 1] + (1 - self.weight_) * self.gbm_.predict_proba(X)[:, 1]
        return np.column_stack([1.0 - p, p])

    # ---- persistence --------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        """Each member in its own sub-directory and format; the weight in the sidecar."""
        self.network_.save(directory / "network")
        self.gbm_.save(directory / "lightgbm")
        return {
            "weight": self.weight_,
            "weight_scores": self.weight_scores_,
            "members": [{"name": "network", "type": "network"}, {"name": "lightgbm", "type": "lightgbm"}],
            "params": {"network": self.network, "gbm": self.gbm, "weight": self.weight},
        }

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> EnsembleClassifier:
        """Load each member with its own family's loader (no pickle anywhere)."""
        params = meta.get("params") or {}
        est = cls(network=params.get("network"), gbm=params.get("gbm"), weight=params.get("weight"))
        est.network_ = NetworkClassifier.load(directory / "network")
        est.gbm_ = LightGBMClassifier.load(directory / "lightgbm")
        if est.network_.n_features_in_ != est.gbm_.n_features_in_:
            raise UptakeInputError(f"file '{directory / cls.sidecar}': the members take different inputs")
        est.weight_ = float(meta["weight"])
        est.weight_scores_ = dict(meta.get("weight_scores") or {})
        est._set_fitted()
        return est


__all__ = ["EnsembleClassifier", "choose_weight"]
