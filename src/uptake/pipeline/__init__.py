"""Applying a model: the one scoring pipeline, its compiled numpy backend, and a saved model loaded whole."""

from __future__ import annotations

from uptake.pipeline.model import Model
from uptake.pipeline.scoring import Scored, ScoringPipeline, Validated

__all__ = ["Model", "Scored", "ScoringPipeline", "Validated"]
