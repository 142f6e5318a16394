"""The models ``uptake compare`` knows, and how to name a cross-validation design."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from uptake.errors import UptakeInputError

#: name -> (TrainConfig overrides, what it is). The tutorial's three training regimes
#: sit side by side: its own class-weighted model, its baseline and its oversampled one.
MODELS: dict[str, tuple[dict[str, Any], str]] = {
    "seed": ({"model": "network", "preset": "seed"}, "Keras loan example network"),
    "tutorial": ({"model": "network", "preset": "tutorial"}, "TF tutorial network, class-weighted"),
    "tutorial-baseline": (
        {"model": "network", "preset": "tutorial", "imbalance": "none"},
        "TF tutorial network, no re-weighting",
    ),
    "tutorial-oversample": (
        {"model": "network", "preset": "tutorial", "imbalance": "oversample"},
        "TF tutorial network, oversampled",
    ),
    "default": ({"model": "network", "preset": "default"}, "uptake's default network (cross-fitted members)"),
    "single-split": (
        {"model": "network", "preset": "single-split"},
        "uptake's previous default network (members on the training split)",
    ),
    "tabm": ({"model": "network", "preset": "tabm"}, "TabM network (k ensemble heads, piecewise-linear inputs)"),
    "logreg": ({"model": "logreg"}, "logistic regression on binned numbers"),
    "lightgbm": ({"model": "lightgbm"}, "LightGBM"),
    "catboost": ({"model": "catboost"}, "CatBoost"),
    "forest": ({"model": "forest"}, "forest (300 trees; random or extra trees, chosen on validation)"),
    "auto": ({"model": "auto"}, "auto: bagged search over families, stacked on out-of-fold logits"),
    "ensemble": ({}, "the default network (else the best by validation) + LightGBM"),
}
ENSEMBLE = "ensemble"


def is_network(name: str) -> bool:
    return MODELS[name][0].get("model") == "network"


def parse_cv(text: str) -> tuple[int, int]:
    """``"5x2"`` -> 5 repeats of 2-fold CV (Dietterich's 5x2cv); ``"1x5"`` is plain 5-fold."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 2:
        raise UptakeInputError(f"--cv {text!r}: write REPEATSxFOLDS with at least 1 repeat and 2 folds, e.g. 5x2")
    return int(m.group(1)), int(m.group(2))


def resolve_models(names: Sequence[str] | str | None) -> list[str]:
    """The models to run, in leaderboard-building order (the ensemble last, after its members)."""
    if names is None:
        return list(MODELS)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise UptakeInputError(f"--models {','.join(names)!r}: choose from {', '.join(MODELS)}")
    chosen = list(dict.fromkeys(names))
    if ENSEMBLE in chosen and ("lightgbm" not in chosen or not any(is_network(n) for n in chosen)):
        raise UptakeInputError("--models: 'ensemble' needs 'lightgbm' and at least one network among the models")
    return [n for n in chosen if n != ENSEMBLE] + ([ENSEMBLE] if ENSEMBLE in chosen else [])


__all__ = ["ENSEMBLE", "MODELS", "is_network", "parse_cv", "resolve_models"]
