"""TabM: one MLP that is an ensemble of ``k`` MLPs (Gorishniy et al., ICLR 2025), in Keras 3.

Read from the authors' reference implementation (yandex-research/tabm), rebuilt here
for Keras on JAX. Every customer row is seen by ``k`` submodels at once: the hidden
layers are BatchEnsemble layers, one weight matrix shared by all submodels plus, per
submodel, an input scaling ``r``, an output scaling ``s`` and a bias (TabM's
initialisation: ``r`` of the first layer random signs, every other scaling ones, so
the submodels differ at the start only in what they look at first). Each submodel
has its own output head. Training minimises the mean of the submodels' losses, so
they are trained jointly and stop together when their *mean* prediction, the one
served, is best on validation; the prediction is the mean of their probabilities.

The layers are registered Keras serialisables, so saved models load in safe mode,
and :func:`replay` gives the same forward pass in numpy for the serving fast path.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="uptake")
class BatchEnsembleDense(keras.layers.Layer):
    """``y_i = ((x_i * r_i) @ W) * s_i + b_i`` for each of ``k`` submodels.

    Input ``(batch, d)`` or ``(batch, k, d)``.
    """

    def __init__(
        self, units: int, k: int, first: bool = False, activation: str | None = None, l2: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.k, self.first, self.l2 = int(units), int(k), bool(first), float(l2)
        self.activation = keras.activations.get(activation)
        self._activation_name = activation

    def build(self, input_shape: Any) -> None:
        d_in = int(input_shape[-1])
        reg = keras.regularizers.L2(self.l2) if self.l2 > 0 else None
        self.kernel = self.add_weight(
            name="kernel", shape=(d_in, self.units), initializer="glorot_uniform", regularizer=reg
        )
        r_init = RandomSigns() if self.first else "ones"
        self.r = self.add_weight(name="r", shape=(self.k, d_in), initializer=r_init)
        self.s = self.add_weight(name="s", shape=(self.k, self.units), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(self.k, self.units), initializer="zeros")

    def call(self, x: Any) -> Any:
        if len(x.shape) == 2:  # the first layer: every submodel sees the same row
            x = ops.expand_dims(x, 1)
        y = ops.matmul(x * self.r, self.kernel) * self.s + self.bias
        return self.activation(y) if self.activation is not None else y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "k": self.k,
            "first": self.first,
            "activation": self._activation_name,
            "l2": self.l2,
        }


@keras.saving.register_keras_serializable(package="uptake")
class EnsembleHead(keras.layers.Layer):
    """One sigmoid output per submodel: ``(batch, k, d)`` -> ``(batch, k)`` probabilities."""

    def __init__(self, k: int, output_bias: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.k, self.output_bias = int(k), float(output_bias)

    def build(self, input_shape: Any) -> None:
        d = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(self.k, d), initializer="glorot_uniform")
        self.bias = self.add_weight(
            name="bias", shape=(self.k,), initializer=keras.initializers.Constant(self.output_bias)
        )

    def call(self, x: Any) -> Any:
        return ops.sigmoid(ops.sum(x * self.kernel, axis=-1) + self.bias)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k, "output_bias": self.output_bias}


@keras.saving.register_keras_serializable(package="uptake")
class RandomSigns(keras.initializers.Initializer):
    """+1 or -1 with equal chance: TabM's initialisation of the first layer's input scalings."""

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        u = keras.random.uniform(shape, dtype=dtype or "float32")
        return ops.where(u < 0.5, -1.0, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {}


@keras.saving.register_keras_serializable(package="uptake")
def ensemble_cross_entropy(y_true: Any, y_pred: Any) -> Any:
    """The mean of the k submodels' binary cross-entropies (each row's label against each of its k predictions)."""
    y = ops.broadcast_to(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
    p = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
    return -ops.mean(y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p), axis=-1)


def build_tabm(config: Any, n_features: int, output_bias: float = 0.0, name: str = "member0") -> keras.Model:
    """The (uncompiled) TabM network: BatchEnsemble blocks (Dense -> ReLU -> Dropout), then k heads."""
    inputs = keras.Input(shape=(n_features,), name="features")
    h = inputs
    for i, (units, rate) in enumerate(zip(config.hidden, config.dropout, strict=True), start=1):
        h = BatchEnsembleDense(
            units, config.k, first=i == 1, activation=config.activation, l2=config.l2, name=f"hidden{i}"
        )(h)
        if rate > 0:
            h = keras.layers.Dropout(rate, name=f"dropout{i}")(h)
    return keras.Model(inputs, EnsembleHead(config.k, output_bias, name="output")(h), name=name)


def is_tabm(model: Any) -> bool:
    return any(isinstance(layer, EnsembleHead) for layer in model.layers)


def replay(model: Any) -> Any:
    """The TabM forward pass in numpy: float32 rows -> the mean of the k submodels' probabilities."""
    steps = []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
            continue
        if isinstance(layer, BatchEnsembleDense):
            w, r, s, b = (np.asarray(v, dtype=np.float32) for v in (layer.kernel, layer.r, layer.s, layer.bias))
            act = layer._activation_name
            steps.append(("dense", w, r, s, b, act))
        elif isinstance(layer, EnsembleHead):
            steps.append(("head", np.asarray(layer.kernel, np.float32), np.asarray(layer.bias, np.float32)))
        else:
            raise TypeError(f"layer {type(layer).__name__}")

    def forward(x: np.ndarray) -> np.ndarray:
        h = x[:, None, :]
        for step in steps:
            if step[0] == "dense":
                _, w, r, s, b, act = step
                h = ((h * r) @ w) * s + b
                if act == "relu":
                    h = np.maximum(h, 0)
                elif act not in (None, "linear"):
                    raise TypeError(f"activation {act}")
            else:
                _, kernel, bias = step
                z = (h * kernel).sum(axis=-1) + bias
                h = 1.0 / (1.0 + np.exp(-z))
        return h.mean(axis=1).astype(np.float64)

    return forward


__all__ = [
    "BatchEnsembleDense",
    "EnsembleHead",
    "RandomSigns",
    "build_tabm",
    "ensemble_cross_entropy",
    "is_tabm",
    "replay",
]
