"""Saving the fitted preprocessor with skops, and loading it against an exact allow-list.

A pickle-like file can name any callable; skops lists the types a file needs before
building a single object from it, and we refuse anything not named here. A prefix
rule ("builtins.", "numpy.") would trust functions such as ``builtins.eval`` inside a
FunctionTransformer, which would then run on every row scored.
"""

from __future__ import annotations

from pathlib import Path

import skops.io as sio
from sklearn.compose import ColumnTransformer

from uptake.errors import UptakeInputError
from uptake.schema.encoders import Clip, DateParts, PiecewiseLinear

#: Types beyond skops' own trusted set (scikit-learn estimators, plain containers), by exact name.
ALLOWED_TYPES = frozenset({"numpy.dtype"})
#: uptake's own encoders, under their module and under the name release 0.1.0 saved them by.
ENCODERS = {cls.__name__: cls for cls in (Clip, PiecewiseLinear, DateParts)}
ENCODER_MODULES = frozenset({Clip.__module__, "uptake.features"})


def allowed(type_name: str) -> bool:
    if type_name in ALLOWED_TYPES:
        return True
    module, _, name = type_name.rpartition(".")
    return module in ENCODER_MODULES and name in ENCODERS


def save_preprocessor(pre: ColumnTransformer, path: Path) -> None:
    sio.dump(pre, path)


def load_preprocessor(path: Path) -> ColumnTransformer:
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - a damaged file is the user's input
        raise UptakeInputError(f"file '{path}': not a readable preprocessor ({exc})") from None
    refused = [t for t in untrusted if not allowed(t)]
    if refused:
        raise UptakeInputError(f"file '{path}': refuses to load untrusted type {refused[0]!r}")
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as exc:  # noqa: BLE001
        raise UptakeInputError(f"file '{path}': not a readable preprocessor ({exc})") from None


__all__ = ["ALLOWED_TYPES", "allowed", "load_preprocessor", "save_preprocessor"]
