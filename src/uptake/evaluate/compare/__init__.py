"""``uptake compare``: a leaderboard on identical folds (catalogue, cross-validation, leaderboard, files)."""

from __future__ import annotations

from uptake.evaluate.compare.catalogue import MODELS, parse_cv, resolve_models
from uptake.evaluate.compare.cv import compare, fingerprint
from uptake.evaluate.compare.leaderboard import Comparison
from uptake.evaluate.compare.outputs import FILES, plot, save_outputs

__all__ = ["FILES", "MODELS", "Comparison", "compare", "fingerprint", "parse_cv", "plot", "resolve_models",
           "save_outputs"]
