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
# XLA compiles each new network's train and predict steps (4-5 s of CPU for a small
# MLP, most of a 5000-row training run). JAX's persistent cache makes the second run
# with the same shapes start in well under a second. UPTAKE_JAX_CACHE= (empty) turns it off.
_cache = os.environ.get("UPTAKE_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "uptake", "jax"))
if _cache:
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")

__version__ = "0.1.0"

from uptake.errors import UptakeInputError  # noqa: E402

__all__ = ["UptakeInputError", "__version__"]
