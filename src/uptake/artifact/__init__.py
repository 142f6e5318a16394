"""The saved model: its typed card (``card``) and how versions are written and read (``store``)."""

from __future__ import annotations

from uptake.artifact.card import FORMAT, ModelCard
from uptake.artifact.store import (
    ESTIMATOR,
    HISTORY,
    METADATA,
    PREPROCESSOR,
    check_model_out,
    model_files,
    read_card,
    reading,
    resolve,
    save_model,
    verify_parts,
    write_card,
)

__all__ = [
    "ESTIMATOR",
    "FORMAT",
    "HISTORY",
    "METADATA",
    "PREPROCESSOR",
    "ModelCard",
    "check_model_out",
    "model_files",
    "read_card",
    "reading",
    "resolve",
    "save_model",
    "verify_parts",
    "write_card",
]
