"""Network inference: a jitted ensemble-mean forward pass, and the same pass in plain numpy.

The numpy copy (``numpy_forward``) reads the Dense and BatchNormalization weights
once and replays them, for the web service's single-customer fast path; the
pipeline checks it against the jitted pass before it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from uptake.models.base import Unsupported
from uptake.models.network.tabm import is_tabm
from uptake.models.network.tabm import replay as tabm_replay

PREDICT_CHUNK = 1024
"""Rows per jitted forward call in :meth:`NetworkClassifier.predict_proba`.

Small on purpose: a 1024 x 256 float32 activation (1 MiB) stays in cache, while
131,072-row chunks made XLA allocate and fault in 128 MiB buffers per layer; on
the 2-core bench machine 1024 scored the seed network about 3x faster."""


class InferenceMixin:
    """The jitted forward pass over ``self.models_`` (the fitted members)."""

    def _forward_fn(self) -> Any:
        """A jitted ensemble-mean forward pass over all members (JAX backend).

        The weights are arguments, not constants, so the compiled program stays small
        and one compilation per input shape serves every later call.
        """
        if getattr(self, "_forward", None) is None:
            # Only on the JAX backend, which a user may have swapped for another.
            import jax
            import jax.numpy as jnp

            models = list(self.models_)

            def forward(weights: Any, x: Any) -> Any:
                total = None
                for model, (trainable, non_trainable) in zip(models, weights):
                    out, _ = model.stateless_call(trainable, non_trainable, x, training=False)
                    member = jnp.mean(out, axis=-1)  # one column, or the mean of a TabM network's k
                    total = member if total is None else total + member
                return total / jnp.float32(len(models))

            self._forward = jax.jit(forward)
        return self._forward

    def _positive_probability(self, X: np.ndarray) -> np.ndarray:
        n = len(X)
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        if keras.backend.backend() != "jax":
            for start in range(0, n, PREDICT_CHUNK):
                chunk = X[start : start + PREDICT_CHUNK]
                preds = [np.asarray(m.predict_on_batch(chunk)).mean(axis=-1) for m in self.models_]
                out[start : start + len(chunk)] = np.mean(preds, axis=0)
            return out
        fn = self._forward_fn()
        # Read the variables on every call: Keras may replace (and JAX delete) the
        # underlying buffers when a model is trained or called again.
        weights = [
            ([v.value for v in m.trainable_variables], [v.value for v in m.non_trainable_variables])
            for m in self.models_
        ]
        pending = []
        for start in range(0, n, PREDICT_CHUNK):
            chunk = X[start : start + PREDICT_CHUNK]
            rows = len(chunk)
            if rows < PREDICT_CHUNK:
                # Pad to a power of two (>= 1024) so only a handful of shapes get compiled.
                size = min(PREDICT_CHUNK, max(1024, 1 << (rows - 1).bit_length()))
                if size != rows:
                    padded = np.zeros((size, X.shape[1]), dtype=np.float32)
                    padded[:rows] = chunk
                    chunk = padded
            # JAX dispatch is asynchronous: queue every chunk, then collect.
            pending.append((start, rows, fn(weights, chunk)))
        for start, rows, result in pending:
            out[start : start + rows] = np.asarray(result)[:rows]
        return out


# ---- the same forward pass in plain numpy ------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "linear": lambda x: x,
}
Step = Callable[[np.ndarray], np.ndarray]


def _activation(name: Any) -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise Unsupported(f"activation {name!r}")
    return name


def _dense(w: np.ndarray, b: np.ndarray, act: Step) -> Step:
    return lambda h: act(h @ w + b)


def _batchnorm(layer: Any) -> Step:
    """Inference-time batch normalisation is an affine map: fold it into one scale and shift."""
    cfg = layer.get_config()
    axis = cfg.get("axis", -1)
    if axis not in (-1, 1, [-1], [1]):
        raise Unsupported(f"batch normalisation over axis {axis!r}")
    mean = np.asarray(layer.moving_mean, dtype=np.float32)
    var = np.asarray(layer.moving_variance, dtype=np.float32)
    gamma = np.asarray(layer.gamma, dtype=np.float32) if cfg.get("scale", True) else np.ones_like(mean)
    beta = np.asarray(layer.beta, dtype=np.float32) if cfg.get("center", True) else np.zeros_like(mean)
    inv = (gamma / np.sqrt(var + np.float32(cfg.get("epsilon", 1e-3)))).astype(np.float32)
    shift = (beta - mean * inv).astype(np.float32)
    return lambda h: h * inv + shift


def member_steps(model: Any) -> list[Step]:
    """One member's layers as numpy steps: Dense (weights, bias, activation), BatchNormalization
    (folded scale and shift), Activation; Dropout is the identity at inference."""
    steps: list[Step] = []
    last_units, last_act = None, None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            steps.append(_batchnorm(layer))
            continue
        if isinstance(layer, keras.layers.Activation):
            last_act = _activation(layer.get_config()["activation"])
            steps.append(ACTIVATIONS[last_act])
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise Unsupported(f"layer {type(layer).__name__}")
        last_act = _activation(layer.get_config()["activation"])
        weights = layer.get_weights()
        w = np.asarray(weights[0], dtype=np.float32)
        b = np.asarray(weights[1], dtype=np.float32) if layer.use_bias else np.zeros(w.shape[1], np.float32)
        last_units = w.shape[1]
        steps.append(_dense(w, b, ACTIVATIONS[last_act]))
    if last_units != 1 or last_act != "sigmoid":
        raise Unsupported("network does not end in one sigmoid unit")
    return steps


def numpy_forward(models: list[Any]) -> Callable[[np.ndarray], np.ndarray]:
    """The ensemble mean of every member's numpy replay: float32 rows -> float64 probabilities."""
    if any(is_tabm(m) for m in models):
        try:
            forwards = [tabm_replay(m) for m in models]
        except TypeError as exc:
            raise Unsupported(str(exc)) from None
        return lambda x: np.mean([f(x) for f in forwards], axis=0)
    members = [member_steps(m) for m in models]

    def forward(x: np.ndarray) -> np.ndarray:
        total = None
        for steps in members:
            h = x
            for step in steps:
                h = step(h)
            total = h[:, 0] if total is None else total + h[:, 0]
        assert total is not None
        return (total / np.float32(len(members))).astype(np.float64)

    return forward


__all__ = ["PREDICT_CHUNK", "InferenceMixin", "numpy_forward"]
