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
