"""Model families, and the one list of them.

``FAMILIES`` names each family's ``--model`` name and where its class lives. Families
are imported when first used, not when ``uptake`` starts: the network family imports
Keras and JAX, which a LightGBM-only command (or ``--help``) should not pay for.

Adding a family is one module with a :class:`~uptake.models.base.Family` subclass and
one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uptake.errors import UptakeInputError

if TYPE_CHECKING:
    from uptake.models.base import Family

#: --model name -> "module:Class". The one registry of model families.
FAMILIES: dict[str, str] = {
    "network": "uptake.models.network:NetworkClassifier",
    "lightgbm": "uptake.models.gbm:LightGBMClassifier",
    "logreg": "uptake.models.linear:LogisticClassifier",
    "ensemble": "uptake.models.ensemble:EnsembleClassifier",
    "catboost": "uptake.models.catboost:CatBoostClassifier",
    "forest": "uptake.models.forest:ForestClassifier",
    "auto": "uptake.models.auto:AutoClassifier",
}


def family(name: str) -> type[Family]:
    """The family class registered as ``name``."""
    where = FAMILIES.get(name)
    if where is None:
        raise UptakeInputError(f"--model {name!r}: choose one of {', '.join(FAMILIES)}")
    module, _, cls = where.partition(":")
    return getattr(importlib.import_module(module), cls)


def make_estimator(options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> Family:
    """An unfitted estimator for a training run, its options checked before any work."""
    cls = family(str(options.get("model") or "network"))
    cls.check_options(options)
    estimator = cls.from_options(options, callbacks)
    estimator.check_params()
    return estimator


def load_estimator(directory: Path, model_type: str) -> Family:
    """The fitted estimator saved in ``directory`` by the family ``model_type``; no code runs."""
    return family(model_type).load(directory)


__all__ = ["FAMILIES", "family", "load_estimator", "make_estimator"]
