"""The Keras network family: configuration and presets, building, training, inference."""

from __future__ import annotations

from uptake.models.network.build import build_model
from uptake.models.network.classifier import NetworkClassifier
from uptake.models.network.config import PRESETS, NetworkConfig

__all__ = ["PRESETS", "NetworkClassifier", "NetworkConfig", "build_model"]
