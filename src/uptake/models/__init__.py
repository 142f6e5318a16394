"""Model families.

``uptake.models.network`` holds the Keras network; importing this package does not
import Keras (which takes a few seconds), so ``NetworkClassifier`` and friends are
resolved lazily on first attribute access.
"""

from __future__ import annotations

from typing import Any

_NETWORK_NAMES = ("NetworkClassifier", "NetworkConfig", "PRESETS", "build_model")


def __getattr__(name: str) -> Any:
    if name in _NETWORK_NAMES:
        from uptake.models import network

        return getattr(network, name)
    raise AttributeError(f"module 'uptake.models' has no attribute {name!r}")


__all__ = list(_NETWORK_NAMES)
