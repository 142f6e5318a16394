"""A scikit-learn compatible Keras network for rare-event classification.

:class:`NetworkClassifier` wraps one or more Keras 3 ``Sequential`` networks (an
ensemble averaged over seeds) behind the uptake family contract, so it works with
``clone``, ``cross_val_score`` and ``TunedThresholdClassifierCV`` on already
preprocessed float32 arrays. Presets and their overrides are in
``uptake.models.network.config``; training in ``training``, inference in ``inference``.

Models are persisted as ``.keras`` files plus a JSON sidecar and loaded with
``safe_mode=True``; nothing here pickles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np
from sklearn.exceptions import NotFittedError

from uptake.errors import UptakeInputError
from uptake.models.base import Family
from uptake.models.network.config import PRESETS, NetworkConfig, fail, is_int, is_real, resolve
from uptake.models.network.inference import InferenceMixin, numpy_forward
from uptake.models.network.training import TrainingMixin, as_features

#: TrainConfig fields a network reads.
OPTIONS = (
    "preset",
    "hidden",
    "dropout",
    "learning_rate",
    "batch_size",
    "epochs",
    "imbalance",
    "class_weight_formula",
    "initial_bias",
    "seed",
    "checkpoint_dir",
)


class NetworkClassifier(TrainingMixin, InferenceMixin, Family):
    """Imbalance-aware Keras network ensemble with the scikit-learn classifier API.

    Parameters left at ``None`` take the value of ``preset`` (see :data:`PRESETS`).

    ``hidden`` is a tuple of layer widths or a string such as ``"256,256,256"``;
    ``dropout`` a rate applied after every hidden layer, or one rate per layer.
    ``imbalance`` is one of :data:`uptake.imbalance.STRATEGIES`; ``class_weight_formula``
    (``"inverse"`` or ``"balanced"``) applies to ``"class-weight"``. ``initial_bias``
    sets the output bias to ``log(pos/neg)`` of the distribution the network trains
    on, which is 0 for the 50/50 strategies (oversample, smote, balanced-batches).

    Fitted attributes: ``models_`` (Keras models), ``history_`` (one dict per member
    of metric name -> per-epoch floats), ``first_epoch_loss_`` (per member, the
    unweighted training cross-entropy before the first update), ``initial_bias_``
    (the output bias the members started from), ``config_``, ``classes_`` and
    ``n_features_in_``.
    """

    name = "network"
    sidecar = "network.json"
    format = "uptake-network"
    library = "keras"
    auto_member = True
    accepts: ClassVar[frozenset[str]] = frozenset(
        {"hidden", "dropout", "learning_rate", "batch_size", "epochs", "class_weight_formula", "initial_bias"}
    )

    def __init__(
        self,
        preset: str = "default",
        hidden: Any = None,
        dropout: Any = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        imbalance: str | None = None,
        class_weight_formula: str | None = None,
        initial_bias: bool | None = None,
        early_stopping: bool | None = None,
        patience: int | None = None,
        n_models: int | None = None,
        l2: float | None = None,
        bagging: bool | None = None,
        validation_fraction: float = 0.2,
        seed: int = 0,
        verbose: int = 0,
        checkpoint_dir: str | Path | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
    ) -> None:
        self.preset = preset
        self.hidden = hidden
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.imbalance = imbalance
        self.class_weight_formula = class_weight_formula
        self.initial_bias = initial_bias
        self.early_stopping = early_stopping
        self.patience = patience
        self.n_models = n_models
        self.l2 = l2
        self.bagging = bagging
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks

    @classmethod
    def from_options(cls, options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> NetworkClassifier:
        return cls(
            **{k: options.get(k) for k in OPTIONS if options.get(k) is not None}, callbacks=list(callbacks) or None
        )

    # ------------------------------------------------------------------ config

    def resolved_config(self) -> NetworkConfig:
        """The preset merged with every non-``None`` override, validated (before any training)."""
        config = resolve(self.get_params(deep=False))
        if not is_real(self.validation_fraction) or not 0.0 <= self.validation_fraction < 1.0:
            raise fail("validation_fraction", self.validation_fraction, "a number in [0, 1)")
        if not is_int(self.seed) or self.seed < 0:
            raise fail("seed", self.seed, "a non-negative integer")
        if not is_int(self.verbose) or self.verbose < 0:
            raise fail("verbose", self.verbose, "0, 1 or 2")
        return config

    def check_params(self) -> None:
        self.resolved_config()

    # ------------------------------------------------------------- prediction

    def check_is_fitted(self) -> None:
        if not getattr(self, "models_", None):
            raise NotFittedError("NetworkClassifier is not fitted yet; call fit or load first")

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` float64 class probabilities, the mean over ensemble members."""
        self.check_is_fitted()
        X = as_features(X)
        if X.shape[1] != self.n_features_in_:
            raise UptakeInputError(f"X has {X.shape[1]} features but the network was fitted on {self.n_features_in_}")
        p = self._positive_probability(X)
        return np.column_stack([1.0 - p, p])

    # ----------------------------------------------------------- capabilities

    @classmethod
    def member_class(cls) -> type[Family]:
        """Inside ``auto`` a network learns its own encoding of auto's shared inputs."""
        from uptake.models.coded_network import CodedNetwork  # it imports this module

        return CodedNetwork

    def numeric_encoding(self) -> str:
        """What this network was trained on once fitted (a loaded older model: its own), else what its preset asks."""
        return (getattr(self, "config_", None) or self.resolved_config()).numeric_encoding

    def training_history(self) -> list[dict[str, list[float]]] | None:
        return getattr(self, "history_", None)

    def hyperparameters(self) -> dict[str, Any]:
        return asdict(getattr(self, "config_", None) or self.resolved_config())

    def imbalance_info(self) -> dict[str, Any]:
        cfg = getattr(self, "config_", None) or self.resolved_config()
        return {
            "strategy": cfg.imbalance,
            "class_weight_formula": cfg.class_weight_formula,
            "initial_bias": cfg.initial_bias,
        }

    def numpy_forward(self) -> Callable[[np.ndarray], np.ndarray]:
        self.check_is_fitted()
        return numpy_forward(self.models_)

    # ------------------------------------------------------------ persistence

    def save_files(self, directory: Path) -> dict[str, Any]:
        """``member{i}.keras`` files; the configuration and history go to the sidecar."""
        for i, model in enumerate(self.models_):
            model.save(directory / f"member{i}.keras")
        return {
            "keras_version": keras.__version__,
            "config": asdict(self.config_),
            "params": {
                "validation_fraction": self.validation_fraction,
                "seed": self.seed,
                "verbose": self.verbose,
                "checkpoint_dir": self.checkpoint_dir,
            },
            "n_members": len(self.models_),
            "classes": self.classes_.tolist(),
            "n_features_in": self.n_features_in_,
            "initial_bias": self.initial_bias_,
            "first_epoch_loss": self.first_epoch_loss_,
            "history": self.history_,
        }

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> NetworkClassifier:
        """Rebuild a fitted classifier (Keras ``safe_mode=True``: no lambdas, no code)."""
        raw = dict(meta["config"])
        raw["hidden"] = tuple(raw["hidden"])
        raw["dropout"] = tuple(raw["dropout"])
        config = NetworkConfig(**raw)
        params = meta["params"]
        estimator = cls(
            preset=config.name if config.name in PRESETS else "default",
            hidden=config.hidden,
            dropout=config.dropout,
            learning_rate=config.learning_rate,
            batch_size=config.batch_size,
            epochs=config.epochs,
            imbalance=config.imbalance,
            class_weight_formula=config.class_weight_formula,
            initial_bias=config.initial_bias,
            early_stopping=config.early_stopping,
            patience=config.patience,
            n_models=config.n_models,
            l2=config.l2,
            bagging=config.bagging,
            validation_fraction=params["validation_fraction"],
            seed=params["seed"],
            verbose=params["verbose"],
            checkpoint_dir=params.get("checkpoint_dir"),
        )
        n = int(meta["n_members"])
        if n < 1:
            raise UptakeInputError(f"file '{directory / cls.sidecar}': the network has no members")
        models = []
        for i in range(n):
            path = directory / f"member{i}.keras"
            if not path.is_file():
                raise UptakeInputError(f"file '{path}' not found; the saved network is incomplete")
            try:
                models.append(keras.saving.load_model(path, safe_mode=True, compile=False))
            except Exception as exc:  # noqa: BLE001 - safe mode refuses code with ValueError; damage raises others
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise UptakeInputError(f"file '{path}': refused to load the network ({first})") from None
        widths = {int(m.inputs[0].shape[-1]) for m in models}
        if widths != {int(meta["n_features_in"])}:
            raise UptakeInputError(
                f"file '{directory / cls.sidecar}': members take {sorted(widths)} inputs but the "
                f"sidecar says {meta['n_features_in']}"
            )
        estimator.config_ = config
        estimator.models_ = models
        estimator.classes_ = np.asarray(meta["classes"])
        estimator.n_features_in_ = int(meta["n_features_in"])
        estimator.initial_bias_ = float(meta["initial_bias"])
        estimator.first_epoch_loss_ = [float(v) for v in meta["first_epoch_loss"]]
        estimator.history_ = meta["history"]
        estimator._forward = None
        return estimator


__all__ = ["NetworkClassifier"]
