"""A scikit-learn compatible Keras network for rare-event classification.

:class:`NetworkClassifier` wraps one or more Keras 3 ``Sequential`` networks (an
ensemble averaged over seeds) behind the scikit-learn estimator API, so it works with
``clone``, ``cross_val_score`` and ``TunedThresholdClassifierCV`` on already
preprocessed float32 arrays.

Three presets name the recipes we compare (:data:`PRESETS`):

* ``seed``: the Keras structured-data loan example, layer for layer;
* ``tutorial``: the TensorFlow "Classification on imbalanced data" tutorial;
* ``default``: ours, tuned by cross-validation (docs/networks.md).

Every constructor argument left at ``None`` takes the preset's value;
:meth:`NetworkClassifier.resolved_config` shows the merged result and validates it.

Models are persisted as ``.keras`` files plus a JSON sidecar and loaded with
``safe_mode=True``; nothing here pickles.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import uptake  # noqa: F401  (pins KERAS_BACKEND before keras is imported)

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from uptake.errors import UptakeInputError
from uptake.imbalance import (
    CLASS_WEIGHT_FORMULAS,
    STRATEGIES,
    BalancedBatches,
    _binary_labels,
    class_weights,
    initial_bias,
    oversample,
    smote,
)

FORMAT = "uptake-network"
FORMAT_VERSION = 1

PREDICT_CHUNK = 1024
"""Rows per jitted forward call in :meth:`NetworkClassifier.predict_proba`.

Small on purpose: a 1024 x 256 float32 activation (1 MiB) stays in cache, while
131,072-row chunks made XLA allocate and fault in 128 MiB buffers per layer; on
the 2-core bench machine 1024 scored the seed network about 3x faster."""

MIN_EVAL_BATCH = 8192
"""Smallest batch for validation and the pre-training evaluation (no gradients, so big is cheap)."""


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that defines how the networks are built and trained.

    ``dropout[i]`` is the rate of a Dropout layer placed after hidden layer ``i``
    (0 means no Dropout layer), so per-layer layouts such as the loan example's are
    representable. ``monitor`` is the Keras log key early stopping watches; AUC-style
    keys are maximised, ``*loss``/``*cross_entropy`` keys minimised.

    ``numeric_encoding`` is what the preprocessor does to numeric columns
    (``uptake.features``: ``"standard"`` or piecewise-linear ``"ple"``); it lives here
    because the best encoding depends on the network it feeds. ``batch_norm`` puts a
    BatchNormalization between each hidden Dense layer and its activation.
    """

    name: str
    hidden: tuple[int, ...]
    dropout: tuple[float, ...]
    l2: float
    learning_rate: float
    batch_size: int
    epochs: int
    imbalance: str
    class_weight_formula: str
    initial_bias: bool
    early_stopping: bool
    monitor: str
    patience: int
    n_models: int
    activation: str = "relu"
    numeric_encoding: str = "standard"
    batch_norm: bool = False

    @property
    def monitor_mode(self) -> str:
        """``"min"`` for loss-like monitors, ``"max"`` for AUC, precision, recall, accuracy."""
        return "min" if self.monitor.endswith(("loss", "cross_entropy")) else "max"


PRESETS: dict[str, NetworkConfig] = {
    # keras.io/examples/structured_data/imbalanced_classification (the loan example).
    "seed": NetworkConfig(
        name="seed",
        hidden=(256, 256, 256),
        dropout=(0.0, 0.3, 0.3),
        l2=0.0,
        learning_rate=1e-2,
        batch_size=2048,
        epochs=30,
        imbalance="class-weight",
        class_weight_formula="inverse",
        initial_bias=False,
        early_stopping=False,
        monitor="val_pr_auc",
        patience=10,
        n_models=1,
    ),
    # tensorflow.org/tutorials/structured_data/imbalanced_data.
    "tutorial": NetworkConfig(
        name="tutorial",
        hidden=(16,),
        dropout=(0.5,),
        l2=0.0,
        learning_rate=1e-3,
        batch_size=2048,
        epochs=100,
        imbalance="class-weight",
        class_weight_formula="balanced",
        initial_bias=True,
        early_stopping=True,
        monitor="val_roc_auc",
        patience=10,
        n_models=1,
    ),
    # Ours, tuned by 5x2 cross-validation (docs/networks.md): piecewise-linear numeric
    # inputs let the MLP learn the step-like income effects trees find; batch norm
    # and a small learning rate make training steadier; unweighted loss with the
    # base-rate bias keeps probabilities calibrated (the threshold is tuned
    # separately); PR-AUC is what ranking rare positives is judged by; a 5-seed
    # average smooths the small-data variance.
    "default": NetworkConfig(
        name="default",
        hidden=(128, 64),
        dropout=(0.2, 0.1),
        l2=1e-4,
        learning_rate=1e-3,
        batch_size=256,
        epochs=300,
        imbalance="none",
        class_weight_formula="balanced",
        initial_bias=True,
        early_stopping=True,
        monitor="val_pr_auc",
        patience=40,
        n_models=5,
        numeric_encoding="ple",
        batch_norm=True,
    ),
}


def _fail(name: str, value: Any, expected: str) -> UptakeInputError:
    return UptakeInputError(f"{name} must be {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _parse_hidden(value: Any) -> tuple[int, ...]:
    expected = "comma-separated positive integers such as '256,256,256'"
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")] if value.strip() else []
        try:
            units = tuple(int(p) for p in parts)
        except ValueError:
            raise _fail("hidden", value, expected) from None
    elif isinstance(value, Sequence) or isinstance(value, np.ndarray):
        units = tuple(value)
        if not all(_is_int(u) for u in units):
            raise _fail("hidden", value, expected)
        units = tuple(int(u) for u in units)
    else:
        raise _fail("hidden", value, expected)
    if any(u < 1 for u in units):
        raise _fail("hidden", value, expected)
    return units


def _parse_dropout(value: Any, n_layers: int) -> tuple[float, ...]:
    expected = f"a rate in [0, 1) or {n_layers} comma-separated rates (one per hidden layer)"
    if isinstance(value, str):
        try:
            rates = tuple(float(p) for p in value.split(","))
        except ValueError:
            raise _fail("dropout", value, expected) from None
        if len(rates) == 1:
            rates = rates * n_layers
    elif _is_real(value):
        rates = (float(value),) * n_layers
    elif isinstance(value, Sequence) or isinstance(value, np.ndarray):
        if not all(_is_real(r) for r in value):
            raise _fail("dropout", value, expected)
        rates = tuple(float(r) for r in value)
    else:
        raise _fail("dropout", value, expected)
    if len(rates) != n_layers or not all(0.0 <= r < 1.0 for r in rates):
        raise _fail("dropout", value, expected)
    return rates


def _fit_dropout_to(rates: tuple[float, ...], n_layers: int) -> tuple[float, ...]:
    """A preset's per-layer dropouts for a different number of hidden layers.

    Truncates, or pads with the last rate, so the loan example's "none after the first
    layer, 0.3 after the others" pattern carries over to other depths.
    """
    if len(rates) >= n_layers:
        return rates[:n_layers]
    last = rates[-1] if rates else 0.0
    return rates + (last,) * (n_layers - len(rates))


def _as_features(X: Any, name: str = "X") -> np.ndarray:
    arr = np.asarray(X, dtype=np.float32)
    if arr.ndim != 2:
        raise UptakeInputError(f"{name} must be a 2-d array of rows by features, got shape {arr.shape}")
    return arr


def _column(y: np.ndarray) -> np.ndarray:
    """Labels as an ``(n, 1)`` float32 column: Keras 3 metrics such as
    ``BinaryCrossentropy`` do not squeeze ``(n,)`` targets against ``(n, 1)`` outputs."""
    return np.asarray(y, dtype=np.float32).reshape(-1, 1)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def _metrics() -> list[keras.metrics.Metric]:
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


def build_model(config: NetworkConfig, n_features: int, output_bias: float = 0.0, name: str = "member0") -> keras.Sequential:
    """The (uncompiled) Sequential network for ``config``, output bias set to ``output_bias``."""
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


class _SharedTrainer:
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
            optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
            loss=keras.losses.BinaryCrossentropy(),
            metrics=_metrics(),
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


class NetworkClassifier(ClassifierMixin, BaseEstimator):
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
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks

    # ------------------------------------------------------------------ config

    def resolved_config(self) -> NetworkConfig:
        """The preset merged with every non-``None`` override, validated.

        Raises :class:`uptake.errors.UptakeInputError` naming the first bad parameter.
        Also checks the non-config parameters (``validation_fraction``, ``seed``,
        ``verbose``) so a bad value fails before any training starts.
        """
        if not isinstance(self.preset, str) or self.preset not in PRESETS:
            raise _fail("preset", self.preset, f"one of {', '.join(PRESETS)}")
        base = PRESETS[self.preset]

        hidden = base.hidden if self.hidden is None else _parse_hidden(self.hidden)
        if self.dropout is None:
            dropout = _fit_dropout_to(base.dropout, len(hidden))
        else:
            dropout = _parse_dropout(self.dropout, len(hidden))

        def real(name: str, value: Any, default: float, lo: float, lo_open: bool) -> float:
            if value is None:
                return default
            ok = _is_real(value) and (value > lo if lo_open else value >= lo)
            if not ok:
                raise _fail(name, value, f"a number {'>' if lo_open else '>='} {lo:g}")
            return float(value)

        def integer(name: str, value: Any, default: int, lo: int) -> int:
            if value is None:
                return default
            if not _is_int(value) or value < lo:
                raise _fail(name, value, f"an integer >= {lo}")
            return int(value)

        def flag(name: str, value: Any, default: bool) -> bool:
            if value is None:
                return default
            if not isinstance(value, (bool, np.bool_)):
                raise _fail(name, value, "true or false")
            return bool(value)

        def choice(name: str, value: Any, default: str, options: Sequence[str]) -> str:
            if value is None:
                return default
            if not isinstance(value, str) or value not in options:
                raise _fail(name, value, f"one of {', '.join(options)}")
            return value

        config = replace(
            base,
            hidden=hidden,
            dropout=dropout,
            l2=real("l2", self.l2, base.l2, 0.0, lo_open=False),
            learning_rate=real("learning_rate", self.learning_rate, base.learning_rate, 0.0, lo_open=True),
            batch_size=integer("batch_size", self.batch_size, base.batch_size, 1),
            epochs=integer("epochs", self.epochs, base.epochs, 1),
            imbalance=choice("imbalance", self.imbalance, base.imbalance, STRATEGIES),
            class_weight_formula=choice(
                "class_weight_formula", self.class_weight_formula, base.class_weight_formula, CLASS_WEIGHT_FORMULAS
            ),
            initial_bias=flag("initial_bias", self.initial_bias, base.initial_bias),
            early_stopping=flag("early_stopping", self.early_stopping, base.early_stopping),
            patience=integer("patience", self.patience, base.patience, 0),
            n_models=integer("n_models", self.n_models, base.n_models, 1),
        )
        if config.imbalance == "balanced-batches" and config.batch_size < 2:
            raise _fail("batch_size", self.batch_size, "at least 2 with imbalance='balanced-batches'")
        if not _is_real(self.validation_fraction) or not 0.0 <= self.validation_fraction < 1.0:
            raise _fail("validation_fraction", self.validation_fraction, "a number in [0, 1)")
        if not _is_int(self.seed) or self.seed < 0:
            raise _fail("seed", self.seed, "a non-negative integer")
        if not _is_int(self.verbose) or self.verbose < 0:
            raise _fail("verbose", self.verbose, "0, 1 or 2")
        return config

    # --------------------------------------------------------------- training

    def fit(
        self,
        X: Any,
        y: Any,
        X_val: Any | None = None,
        y_val: Any | None = None,
        sample_weight: Any | None = None,
    ) -> NetworkClassifier:
        """Train ``n_models`` networks with seeds ``seed, seed + 1, ...`` and keep them all.

        Without ``X_val``/``y_val`` a stratified ``validation_fraction`` of ``X`` is held
        out (with ``seed``) for validation metrics and early stopping, so plain
        ``fit(X, y)`` works inside scikit-learn cross-validation.

        ``X`` may also be a ``keras.utils.PyDataset`` of already balanced ``(x, y)``
        batches (``y`` is then ignored), for tables larger than memory; see
        :meth:`_fit_batches`.
        """
        if isinstance(X, keras.utils.PyDataset):
            return self._fit_batches(X, X_val, y_val)
        config = self.resolved_config()
        X = _as_features(X)
        y = _binary_labels(y)
        if len(X) != len(y):
            raise UptakeInputError(f"X has {len(X)} rows but y has {len(y)}")
        if not np.isfinite(X).all():
            raise UptakeInputError("X contains NaN or infinite values; preprocess them first")
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
            if len(sw) != len(y):
                raise UptakeInputError(f"sample_weight has {len(sw)} rows but y has {len(y)}")
            if config.imbalance == "smote":
                raise UptakeInputError(
                    "sample_weight cannot be combined with imbalance 'smote' (synthetic rows have no weight)"
                )

        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        if X_val is not None:
            X_val = _as_features(X_val, "X_val")
            y_val = _binary_labels(y_val)
            if X_val.shape[1] != X.shape[1] or len(X_val) != len(y_val):
                raise UptakeInputError(
                    f"X_val must have {X.shape[1]} columns and as many rows as y_val, got shape {X_val.shape}"
                )
            X_train, y_train, sw_train = X, y, sw
        elif self.validation_fraction > 0:
            X_train, y_train, sw_train, X_val, y_val = self._split(X, y, sw)
        else:
            X_train, y_train, sw_train = X, y, sw
        if config.early_stopping and X_val is None:
            raise UptakeInputError(
                "early_stopping needs validation data: set validation_fraction above 0 or pass X_val"
            )

        self.config_ = config
        self.n_features_in_ = int(X.shape[1])
        self.classes_ = np.array([0, 1])
        self.models_: list[keras.Sequential] = []
        self.history_: list[dict[str, list[float]]] = []
        self.first_epoch_loss_: list[float] = []
        self._forward = None

        bias = 0.0
        if config.initial_bias and config.imbalance in ("none", "class-weight"):
            # The resampling strategies train on 50/50 data, where log(pos/neg) = 0:
            # the tutorial resets the bias for its resampled model for this reason.
            bias = initial_bias(y_train)
        self.initial_bias_ = float(bias)

        validation = None if X_val is None else (X_val, _column(y_val))
        eval_batch = max(config.batch_size, MIN_EVAL_BATCH)
        shared = _SharedTrainer(config, X.shape[1], bias) if config.n_models > 1 else None
        for member in range(config.n_models):
            member_seed = int(self.seed) + member
            keras.utils.set_random_seed(member_seed)
            model = build_model(config, X.shape[1], bias, name=f"member{member}")
            if shared is None:
                model.compile(
                    optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
                    loss=keras.losses.BinaryCrossentropy(),
                    metrics=_metrics(),
                )
                trainee = model
            else:
                trainee = shared.load(model)
            start = trainee.evaluate(
                X_train, _column(y_train), batch_size=eval_batch, verbose=0, return_dict=True
            )
            self.first_epoch_loss_.append(float(start["cross_entropy"]))

            fit_kwargs: dict[str, Any] = dict(
                epochs=config.epochs,
                validation_data=validation,
                validation_batch_size=eval_batch,
                callbacks=self._callbacks(config, member),
                verbose=self.verbose,
            )
            if config.imbalance == "balanced-batches":
                data = BalancedBatches(X_train, y_train, config.batch_size, member_seed, sample_weight=sw_train)
                history = trainee.fit(data, shuffle=False, **fit_kwargs)
            else:
                xs, ys, ws = self._training_arrays(config, X_train, y_train, sw_train, member_seed)
                history = trainee.fit(
                    xs, ys, sample_weight=ws, batch_size=config.batch_size, shuffle=True, **fit_kwargs
                )
            if shared is not None:
                shared.store(model)
            self.models_.append(model)
            self.history_.append(
                {key: [float(v) for v in values] for key, values in history.history.items()}
            )
        return self

    def _fit_batches(self, data: keras.utils.PyDataset, X_val: Any, y_val: Any) -> NetworkClassifier:
        """Train from a dataset that streams balanced batches (``uptake.bigdata``).

        The dataset does the balancing, so the output bias starts at 0 as for the other
        50/50 strategies; validation is an in-memory (bounded) sample, which early
        stopping watches. ``first_epoch_loss_`` is measured on that sample here.
        """
        config = self.resolved_config()
        if X_val is None or y_val is None:
            raise UptakeInputError("training from a batch stream needs X_val and y_val")
        X_val, y_val = _as_features(X_val, "X_val"), _binary_labels(y_val)
        self.config_ = config
        self.n_features_in_ = int(X_val.shape[1])
        self.classes_ = np.array([0, 1])
        self.models_, self.history_, self.first_epoch_loss_ = [], [], []
        self.initial_bias_ = 0.0
        self._forward = None
        eval_batch = max(config.batch_size, MIN_EVAL_BATCH)
        for member in range(config.n_models):
            keras.utils.set_random_seed(int(self.seed) + member)
            model = build_model(config, self.n_features_in_, 0.0, name=f"member{member}")
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
                loss=keras.losses.BinaryCrossentropy(),
                metrics=_metrics(),
            )
            start = model.evaluate(X_val, _column(y_val), batch_size=eval_batch, verbose=0, return_dict=True)
            self.first_epoch_loss_.append(float(start["cross_entropy"]))
            history = model.fit(
                data, shuffle=False, epochs=config.epochs, validation_data=(X_val, _column(y_val)),
                validation_batch_size=eval_batch, callbacks=self._callbacks(config, member), verbose=self.verbose,
            )
            self.models_.append(model)
            self.history_.append({key: [float(v) for v in values] for key, values in history.history.items()})
        return self

    def _split(
        self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        from sklearn.model_selection import train_test_split

        try:
            train_idx, val_idx = train_test_split(
                np.arange(len(y)),
                test_size=self.validation_fraction,
                stratify=y,
                random_state=int(self.seed),
            )
        except ValueError as exc:
            raise UptakeInputError(
                f"validation_fraction {self.validation_fraction!r} cannot be stratified: {exc}"
            ) from None
        train_idx.sort()
        val_idx.sort()
        sw_train = None if sw is None else sw[train_idx]
        return X[train_idx], y[train_idx], sw_train, X[val_idx], y[val_idx]

    @staticmethod
    def _training_arrays(
        config: NetworkConfig,
        X: np.ndarray,
        y: np.ndarray,
        sw: np.ndarray | None,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Rows, labels and sample weights for an array-fed strategy."""
        if config.imbalance == "class-weight":
            weights = class_weights(y, config.class_weight_formula)  # type: ignore[arg-type]
            per_row = np.where(y == 1, weights[1], weights[0]).astype(np.float32)
            return X, _column(y), per_row if sw is None else per_row * sw
        if config.imbalance == "oversample":
            # Resample row numbers rather than rows so sample weights follow their rows.
            rows, y_res = oversample(np.arange(len(y)).reshape(-1, 1), y, seed)
            rows = rows[:, 0]
            return X[rows], _column(y_res), None if sw is None else sw[rows]
        if config.imbalance == "smote":
            X_res, y_res = smote(X, y, seed)
            return X_res.astype(np.float32), _column(y_res), None
        return X, _column(y), sw

    def _callbacks(self, config: NetworkConfig, member: int) -> list[keras.callbacks.Callback]:
        callbacks: list[keras.callbacks.Callback] = []
        if config.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=config.monitor,
                    mode=config.monitor_mode,
                    patience=config.patience,
                    restore_best_weights=True,
                    verbose=self.verbose,
                )
            )
        if self.checkpoint_dir is not None:
            directory = Path(self.checkpoint_dir)
            directory.mkdir(parents=True, exist_ok=True)
            callbacks.append(
                keras.callbacks.ModelCheckpoint(
                    str(directory / f"member{member}-epoch{{epoch:03d}}.keras"),
                    save_freq="epoch",
                    verbose=self.verbose,
                )
            )
        callbacks.extend(self.callbacks or [])
        return callbacks

    # ------------------------------------------------------------- prediction

    def _check_fitted(self) -> None:
        if not getattr(self, "models_", None):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("NetworkClassifier is not fitted yet; call fit or load first")

    def _forward_fn(self) -> Any:
        """A jitted ensemble-mean forward pass over all members (JAX backend).

        The weights are arguments, not constants, so the compiled program stays small
        and one compilation per input shape serves every later call.
        """
        if getattr(self, "_forward", None) is None:
            import jax
            import jax.numpy as jnp

            models = list(self.models_)

            def forward(weights: Any, x: Any) -> Any:
                total = None
                for model, (trainable, non_trainable) in zip(models, weights):
                    out, _ = model.stateless_call(trainable, non_trainable, x, training=False)
                    total = out[:, 0] if total is None else total + out[:, 0]
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
                preds = [np.asarray(m.predict_on_batch(chunk))[:, 0] for m in self.models_]
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

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` float64 class probabilities, the mean over ensemble members."""
        self._check_fitted()
        X = _as_features(X)
        if X.shape[1] != self.n_features_in_:
            raise UptakeInputError(f"X has {X.shape[1]} features but the network was fitted on {self.n_features_in_}")
        p = self._positive_probability(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Class labels at probability threshold 0.5 (tune the threshold separately)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(self.classes_.dtype)

    # ------------------------------------------------------------ persistence

    def save(self, directory: str | Path) -> Path:
        """Write ``member{i}.keras`` files and ``network.json`` into ``directory``; no pickle."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for i, model in enumerate(self.models_):
            model.save(directory / f"member{i}.keras")
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
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
        (directory / "network.json").write_text(json.dumps(_jsonable(meta), indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> NetworkClassifier:
        """Rebuild a fitted classifier saved by :meth:`save` (Keras ``safe_mode=True``)."""
        directory = Path(directory)
        meta_path = directory / "network.json"
        try:
            meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise UptakeInputError(f"file '{meta_path}' not found; is this a saved network?") from None
        except json.JSONDecodeError as exc:
            raise UptakeInputError(f"file '{meta_path}' is not valid JSON: {exc}") from None
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise UptakeInputError(
                f"file '{meta_path}' is not a {FORMAT} version {FORMAT_VERSION} file"
            )
        raw = dict(meta["config"])
        raw["hidden"] = tuple(raw["hidden"])
        raw["dropout"] = tuple(raw["dropout"])
        config = NetworkConfig(**raw)
        params = meta["params"]
        estimator = cls(
            preset=config.name,
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
            validation_fraction=params["validation_fraction"],
            seed=params["seed"],
            verbose=params["verbose"],
            checkpoint_dir=params.get("checkpoint_dir"),
        )
        models = []
        for i in range(int(meta["n_members"])):
            path = directory / f"member{i}.keras"
            if not path.is_file():
                raise UptakeInputError(f"file '{path}' not found; the saved network is incomplete")
            models.append(keras.saving.load_model(path, safe_mode=True, compile=False))
        estimator.config_ = config
        estimator.models_ = models
        estimator.classes_ = np.asarray(meta["classes"])
        estimator.n_features_in_ = int(meta["n_features_in"])
        estimator.initial_bias_ = float(meta["initial_bias"])
        estimator.first_epoch_loss_ = [float(v) for v in meta["first_epoch_loss"]]
        estimator.history_ = meta["history"]
        estimator._forward = None
        return estimator


__all__ = ["PRESETS", "NetworkClassifier", "NetworkConfig", "build_model"]
