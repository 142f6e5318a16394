"""uptake: find the customers who will take up an offer, and other rare events in customer tables.

Keras reads ``KERAS_BACKEND`` once, at its first import, so the package pins the
JAX backend here before anything imports Keras. A user may still choose another
installed backend by setting the variable themselves.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
# Quiet XLA/absl start-up chatter that would otherwise reach a user's terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

from uptake.errors import UptakeInputError

__all__ = ["UptakeInputError", "__version__"]
