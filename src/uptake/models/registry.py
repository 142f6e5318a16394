"""One contract for every model family.

Each family provides an estimator with ``fit(X, y, X_val=None, y_val=None)``,
``predict_proba``, ``save(directory)`` and a ``load(directory)`` classmethod that
never unpickles. ``make_estimator`` builds one from a training config;
the artifact module finds its loader here by the ``model_type`` in metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from uptake.artifact import register_loader
from uptake.errors import UptakeInputError

#: model name -> factory(config, callbacks) -> unfitted estimator
FACTORIES: dict[str, Callable[[Any, Sequence[Any]], Any]] = {}


def register(name: str, factory: Callable[[Any, Sequence[Any]], Any], loader: Callable[[Any], Any]) -> None:
    FACTORIES[name] = factory
    register_loader(name, loader)


def make_estimator(config: Any, callbacks: Sequence[Any] = ()) -> Any:
    factory = FACTORIES.get(config.model)
    if factory is None:
        raise UptakeInputError(f"--model {config.model!r}: choose one of {', '.join(sorted(FACTORIES))}")
    return factory(config, callbacks)


def _network_factory(config: Any, callbacks: Sequence[Any]) -> Any:
    from uptake.models.network import NetworkClassifier

    return NetworkClassifier(**config.network_params(), callbacks=list(callbacks) or None)


def _network_loader(path: Any) -> Any:
    from uptake.models.network import NetworkClassifier

    return NetworkClassifier.load(path)


register("network", _network_factory, _network_loader)


# ---- other families: same contract, their own safe formats ---------------------------------
#: TrainConfig fields that only mean something for a network.
_NETWORK_ONLY = ("hidden", "dropout", "batch_size", "epochs", "class_weight_formula", "initial_bias")


def _refuse_network_options(config: Any, family: str, also: Sequence[str] = ()) -> None:
    """A network option given to another family would be silently ignored; say so instead."""
    for name in (*_NETWORK_ONLY, *also):
        if getattr(config, name, None) is not None:
            raise UptakeInputError(f"--{name.replace('_', '-')}: applies to networks, not to --model {family}")


def _gbm_factory(config: Any, callbacks: Sequence[Any]) -> Any:
    from uptake.models.gbm import LightGBMClassifier

    _refuse_network_options(config, "lightgbm")
    params: dict[str, Any] = {"seed": config.seed, "imbalance": config.imbalance or "none"}
    if config.learning_rate is not None:
        params["learning_rate"] = config.learning_rate
    return LightGBMClassifier(**params)


def _gbm_loader(path: Any) -> Any:
    from uptake.models.gbm import LightGBMClassifier

    return LightGBMClassifier.load(path)


def _logreg_factory(config: Any, callbacks: Sequence[Any]) -> Any:
    from uptake.models.linear import LogisticClassifier

    _refuse_network_options(config, "logreg", also=("learning_rate",))
    return LogisticClassifier(imbalance=config.imbalance or "none", seed=config.seed)


def _logreg_loader(path: Any) -> Any:
    from uptake.models.linear import LogisticClassifier

    return LogisticClassifier.load(path)


def _ensemble_factory(config: Any, callbacks: Sequence[Any]) -> Any:
    """The network configured as for ``--model network``, plus LightGBM with the same seed."""
    from uptake.models.ensemble import EnsembleClassifier

    network = {k: v for k, v in config.network_params().items() if v is not None}
    return EnsembleClassifier(network=network, gbm={"seed": config.seed}, callbacks=list(callbacks) or None)


def _ensemble_loader(path: Any) -> Any:
    from uptake.models.ensemble import EnsembleClassifier

    return EnsembleClassifier.load(path)


register("lightgbm", _gbm_factory, _gbm_loader)
register("logreg", _logreg_factory, _logreg_loader)
register("ensemble", _ensemble_factory, _ensemble_loader)
