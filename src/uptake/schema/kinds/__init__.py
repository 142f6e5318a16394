"""The column kinds: one object each, and the one list of them.

To add a kind, write a module here with a ``Kind`` subclass and add one line to
``KINDS``; every path (inference, validation, preprocessing, the fast path, the
API's request fields, explanations) then finds it by name.
"""

from __future__ import annotations

from uptake.schema.kinds.base import DEFAULT_MARGIN, LEARNING, Block, FieldSpec, Inferred, Kind, Policy, Unsupported
from uptake.schema.kinds.binary import Binary
from uptake.schema.kinds.categorical import MAX_CATEGORIES, MAX_RARE, Categorical
from uptake.schema.kinds.date import Date
from uptake.schema.kinds.numeric import Numeric, bounds

KINDS: dict[str, Kind] = {k.name: k for k in (Numeric(), Binary(), Categorical(), Date())}

__all__ = [
    "DEFAULT_MARGIN",
    "KINDS",
    "LEARNING",
    "MAX_CATEGORIES",
    "MAX_RARE",
    "Block",
    "FieldSpec",
    "Inferred",
    "Kind",
    "Policy",
    "Unsupported",
    "bounds",
]
