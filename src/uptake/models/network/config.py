"""What defines a network: its configuration, the presets we compare, and parsing of overrides.

The presets name the recipes we compare (:data:`PRESETS`):

* ``seed``: the Keras structured-data loan example, layer for layer;
* ``tutorial``: the TensorFlow "Classification on imbalanced data" tutorial;
* ``default``: ours, tuned by cross-validation (docs/networks.md);
* ``single-split``: the previous ``default``, its members all on the training split;
* ``tabm``: a TabM network.

Every ``NetworkClassifier`` argument left at ``None`` takes the preset's value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Integral, Real
from typing import Any

import numpy as np

from uptake.errors import UptakeInputError
from uptake.imbalance import CLASS_WEIGHT_FORMULAS, STRATEGIES


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that defines how the networks are built and trained.

    ``dropout[i]`` is the rate of a Dropout layer placed after hidden layer ``i``
    (0 means no Dropout layer), so per-layer layouts such as the loan example's are
    representable. ``monitor`` is the Keras log key early stopping watches; AUC-style
    keys are maximised, ``*loss``/``*cross_entropy`` keys minimised.

    ``numeric_encoding`` is what the preprocessor does to numeric columns
    (``uptake.features``: ``"standard"``, or piecewise-linear on quantile bins ``"ple"`` or on
    target-aware tree bins ``"ple-tree"``); it lives here
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
    # : ``mlp`` (plain Dense layers) or ``tabm`` (BatchEnsemble layers with ``k`` submodels,
    # ``uptake.models.network.tabm``).
    architecture: str = "mlp"
    k: int = 1
    #: AdamW's decoupled weight decay (0: plain Adam).
    weight_decay: float = 0.0
    #: Cross-fitted members: the training and validation rows are pooled and cut into ``n_models``
    #: stratified folds; member ``i`` trains on all folds but ``i`` and stops early on fold ``i``, so
    #: together the members learn from every labelled row, and each validation row is scored by the
    #: member that never trained on it (``held_out_validation``). False: every member trains on the
    #: training rows and stops on the validation rows.
    bagging: bool = False
    #: Members on a table of ``BIG_TABLE`` training rows or more (``None``: ``n_models`` at any size). Many
    #: members pay on small tables, where one member's variance dominates and each costs seconds; on big
    #: ones a member costs minutes and varies less. An explicit ``n_models`` holds at every size.
    n_models_big: int | None = None

    @property
    def monitor_mode(self) -> str:
        """``"min"`` for loss-like monitors, ``"max"`` for AUC, precision, recall, accuracy."""
        return "min" if self.monitor.endswith(("loss", "cross_entropy")) else "max"


#: Training rows (validation rows included when members are cross-fitted) from which ``n_models_big`` applies.
BIG_TABLE = 20_000


def members_for(config: NetworkConfig, rows: int) -> NetworkConfig:
    """The configuration with the members a table of ``rows`` training rows gets (``n_models_big`` on big ones)."""
    if config.n_models_big is not None and rows >= BIG_TABLE:
        return replace(config, n_models=config.n_models_big)
    return config


# The default until 2026-12: piecewise-linear numeric inputs on bins a one-column tree
# puts where the outcome changes let the MLP learn the step-like income effects trees
# find; batch norm and a small learning rate make training steadier; unweighted loss
# with the base-rate bias keeps probabilities calibrated (the threshold is tuned
# separately); PR-AUC is what ranking rare positives is judged by; a 5-seed average
# smooths the small-data variance. Every member trains on the training split alone.
_SINGLE_SPLIT = NetworkConfig(
    name="single-split",
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
    numeric_encoding="ple-tree",
    batch_norm=True,
)

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
    # Ours, tuned by 5x2 cross-validation (docs/networks.md): the previous default (below),
    # with its members cross-fitted (each trains on 80% of the training and validation rows
    # and stops on the rest, so together they learn from every labelled row), numeric bins
    # from the column's own tree and from a small boosted model over all numeric columns, and
    # ten members below 20,000 training rows (five above, where each costs minutes).
    "default": replace(
        _SINGLE_SPLIT, name="default", n_models=10, numeric_encoding="ple-tree+boost", bagging=True, n_models_big=5
    ),
    "single-split": _SINGLE_SPLIT,
    # TabM (Gorishniy et al., ICLR 2025): one MLP holding k submodels that share their weights and
    # train jointly, stopping when their mean is best; on piecewise-linear inputs. Width and k are
    # smaller than the paper's defaults (512, 32) to train in about a minute on two cores.
    "tabm": NetworkConfig(
        name="tabm",
        hidden=(256, 256),
        dropout=(0.1, 0.1),
        l2=0.0,
        learning_rate=2e-3,
        batch_size=256,
        epochs=200,
        imbalance="none",
        class_weight_formula="balanced",
        initial_bias=True,
        early_stopping=True,
        monitor="val_pr_auc",
        patience=20,
        n_models=1,
        numeric_encoding="ple-tree",
        architecture="tabm",
        k=16,
        weight_decay=3e-4,
    ),
}


def fail(name: str, value: Any, expected: str) -> UptakeInputError:
    return UptakeInputError(f"{name} must be {expected}, got {value!r}")


def is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def parse_hidden(value: Any) -> tuple[int, ...]:
    expected = "comma-separated positive integers such as '256,256,256'"
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")] if value.strip() else []
        try:
            units = tuple(int(p) for p in parts)
        except ValueError:
            raise fail("hidden", value, expected) from None
    elif isinstance(value, (Sequence, np.ndarray)):
        units = tuple(value)
        if not all(is_int(u) for u in units):
            raise fail("hidden", value, expected)
        units = tuple(int(u) for u in units)
    else:
        raise fail("hidden", value, expected)
    if any(u < 1 for u in units):
        raise fail("hidden", value, expected)
    return units


def parse_dropout(value: Any, n_layers: int) -> tuple[float, ...]:
    expected = f"a rate in [0, 1) or {n_layers} comma-separated rates (one per hidden layer)"
    if isinstance(value, str):
        try:
            rates = tuple(float(p) for p in value.split(","))
        except ValueError:
            raise fail("dropout", value, expected) from None
        if len(rates) == 1:
            rates = rates * n_layers
    elif is_real(value):
        rates = (float(value),) * n_layers
    elif isinstance(value, (Sequence, np.ndarray)):
        if not all(is_real(r) for r in value):
            raise fail("dropout", value, expected)
        rates = tuple(float(r) for r in value)
    else:
        raise fail("dropout", value, expected)
    if len(rates) != n_layers or not all(0.0 <= r < 1.0 for r in rates):
        raise fail("dropout", value, expected)
    return rates


def fit_dropout_to(rates: tuple[float, ...], n_layers: int) -> tuple[float, ...]:
    """A preset's per-layer dropouts for a different number of hidden layers.

    Truncates, or pads with the last rate, so the loan example's "none after the first
    layer, 0.3 after the others" pattern carries over to other depths.
    """
    if len(rates) >= n_layers:
        return rates[:n_layers]
    last = rates[-1] if rates else 0.0
    return rates + (last,) * (n_layers - len(rates))


def resolve(params: Mapping[str, Any]) -> NetworkConfig:
    """The preset merged with every non-``None`` override, validated.

    ``params`` are ``NetworkClassifier``'s constructor arguments. Raises
    :class:`uptake.errors.UptakeInputError` naming the first bad parameter, before any training.
    """
    if not isinstance(params.get("preset"), str) or params.get("preset") not in PRESETS:
        raise fail("preset", params.get("preset"), f"one of {', '.join(PRESETS)}")
    base = PRESETS[params.get("preset")]

    hidden = base.hidden if params.get("hidden") is None else parse_hidden(params.get("hidden"))
    if params.get("dropout") is None:
        dropout = fit_dropout_to(base.dropout, len(hidden))
    else:
        dropout = parse_dropout(params.get("dropout"), len(hidden))

    def real(name: str, value: Any, default: float, lo: float, lo_open: bool) -> float:
        if value is None:
            return default
        ok = is_real(value) and (value > lo if lo_open else value >= lo)
        if not ok:
            raise fail(name, value, f"a number {'>' if lo_open else '>='} {lo:g}")
        return float(value)

    def integer(name: str, value: Any, default: int, lo: int) -> int:
        if value is None:
            return default
        if not is_int(value) or value < lo:
            raise fail(name, value, f"an integer >= {lo}")
        return int(value)

    def flag(name: str, value: Any, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, (bool, np.bool_)):
            raise fail(name, value, "true or false")
        return bool(value)

    def choice(name: str, value: Any, default: str, options: Sequence[str]) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or value not in options:
            raise fail(name, value, f"one of {', '.join(options)}")
        return value

    config = replace(
        base,
        hidden=hidden,
        dropout=dropout,
        l2=real("l2", params.get("l2"), base.l2, 0.0, lo_open=False),
        learning_rate=real("learning_rate", params.get("learning_rate"), base.learning_rate, 0.0, lo_open=True),
        batch_size=integer("batch_size", params.get("batch_size"), base.batch_size, 1),
        epochs=integer("epochs", params.get("epochs"), base.epochs, 1),
        imbalance=choice("imbalance", params.get("imbalance"), base.imbalance, STRATEGIES),
        class_weight_formula=choice(
            "class_weight_formula", params.get("class_weight_formula"), base.class_weight_formula, CLASS_WEIGHT_FORMULAS
        ),
        initial_bias=flag("initial_bias", params.get("initial_bias"), base.initial_bias),
        early_stopping=flag("early_stopping", params.get("early_stopping"), base.early_stopping),
        patience=integer("patience", params.get("patience"), base.patience, 0),
        n_models=integer("n_models", params.get("n_models"), base.n_models, 1),
        bagging=flag("bagging", params.get("bagging"), base.bagging),
        n_models_big=base.n_models_big if params.get("n_models") is None else None,
    )
    if config.imbalance == "balanced-batches" and config.batch_size < 2:
        raise fail("batch_size", params.get("batch_size"), "at least 2 with imbalance='balanced-batches'")
    return config


__all__ = [
    "BIG_TABLE",
    "PRESETS",
    "NetworkConfig",
    "fail",
    "fit_dropout_to",
    "is_int",
    "is_real",
    "parse_dropout",
    "parse_hidden",
    "resolve",
]
