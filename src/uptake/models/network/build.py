"""Building the Keras network: layers, compile metrics, and one compiled twin for all ensemble members."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from uptake.models.network.config import NetworkConfig
from uptake.models.network.tabm import build_tabm


def column(y: np.ndarray) -> np.ndarray:
    """Labels as an ``(n, 1)`` float32 column: Keras 3 metrics such as
    ``BinaryCrossentropy`` do not squeeze ``(n,)`` targets against ``(n, 1)`` outputs."""
    return np.asarray(y, dtype=np.float32).reshape(-1, 1)


def compile_metrics() -> list[keras.metrics.Metric]:
    """The compile metrics; their names are the keys of ``history_`` (``val_`` prefixed for validation)."""
    return [
        keras.metrics.BinaryCrossentropy(name="cross_entropy"),
        keras.metrics.TruePositives(name="tp"),
        keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"),
        keras.metrics.FalseNegatives(name="fn"),
        keras.metrics.BinaryAccuracy(name="accuracy"),
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
        keras.metrics.AUC(name="roc_auc"),
        keras.metrics.AUC(name="pr_auc", curve="PR"),
    ]


def optimizer(config: NetworkConfig) -> keras.optimizers.Optimizer:
    if config.weight_decay > 0:
        return keras.optimizers.AdamW(learning_rate=config.learning_rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(learning_rate=config.learning_rate)


def build_model(config: NetworkConfig, n_features: int, output_bias: float = 0.0, name: str = "member0") -> keras.Model:
    """The (uncompiled) network for ``config``, output bias set to ``output_bias``."""
    if config.architecture == "tabm":
        return build_tabm(config, n_features, output_bias, name)
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    layers: list[Any] = [keras.Input(shape=(n_features,), name="features")]
    for i, (units, rate) in enumerate(zip(config.hidden, config.dropout, strict=True), start=1):
        layers.append(
            keras.layers.Dense(
                units,
                activation=None if config.batch_norm else config.activation,
                kernel_regularizer=regularizer,
                name=f"hidden{i}",
            )
        )
        if config.batch_norm:
            # Normalise before the nonlinearity: piecewise-linear inputs are mostly 0s
            # and 1s, and BN lets the small-learning-rate default converge in fewer epochs.
            layers.append(keras.layers.BatchNormalization(name=f"batchnorm{i}"))
            layers.append(keras.layers.Activation(config.activation, name=f"activation{i}"))
        if rate > 0:
            layers.append(keras.layers.Dropout(rate, name=f"dropout{i}"))
    layers.append(
        keras.layers.Dense(
            1,
            activation="sigmoid",
            bias_initializer=keras.initializers.Constant(float(output_bias)),
            name="output",
        )
    )
    return keras.Sequential(layers, name=name)


class SharedTrainer:
    """One compiled network that trains every ensemble member in turn.

    Each Keras model jits its own train and evaluation programs, and on a loaded
    2-core CPU compiling them took 15-25 s per member, against about 3 s for the
    hundred epochs of actually training the default network. Members share the
    architecture, so each one is loaded into this twin, trained, and copied back out:
    the programs compile once. Every variable is copied (weights, batch-norm
    statistics, dropout seed states) and the optimizer state is reset to its
    freshly-built values, so a member trains exactly as it would on its own model.
    """

    def __init__(self, config: NetworkConfig, n_features: int, output_bias: float) -> None:
        self.model = build_model(config, n_features, output_bias, name="trainer")
        self.model.compile(
            optimizer=optimizer(config),
            loss=keras.losses.BinaryCrossentropy(),
            metrics=compile_metrics(),
        )
        self.model.optimizer.build(self.model.trainable_variables)
        self._optimizer_start = [np.array(v.value) for v in self.model.optimizer.variables]

    def load(self, member: keras.Sequential) -> keras.Sequential:
        """The compiled twin, holding ``member``'s initial state and a fresh optimizer."""
        for target, source in zip(self.model.variables, member.variables, strict=True):
            target.assign(source.value)
        for variable, value in zip(self.model.optimizer.variables, self._optimizer_start, strict=True):
            variable.assign(value)
        return self.model

    def store(self, member: keras.Sequential) -> None:
        """Copy the trained state back into ``member`` (which stays uncompiled)."""
        for target, source in zip(member.variables, self.model.variables, strict=True):
            target.assign(source.value)


__all__ = ["SharedTrainer", "build_model", "column", "compile_metrics", "optimizer"]
