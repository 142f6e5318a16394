"""A private XLA compilation cache for runs that train many networks of the same shapes.

Keras compiles a fresh XLA program for every new network; cross-validation trains
dozens that share a handful of shapes, so compiled programs are cached for the run in
a private temporary directory, removed afterwards. JAX executes what it finds in its
cache, so it is never shared with other users or kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def shared_compilation_cache(directory: str | None = None) -> Iterator[None]:
    """Let every network in this run reuse compiled XLA programs of the same shape.

    A private temporary directory (``directory``, shared by this run's workers, or a
    new one removed on exit), because JAX executes what it finds there. Skipped
    when the user configured a cache of their own, or off JAX.
    """
    # The backend Keras will use (uptake pins it to JAX unless the user chose another).
    if os.environ.get("KERAS_BACKEND", "jax") != "jax" or os.environ.get("UPTAKE_NO_COMPILE_CACHE") == "1":
        yield
        return
    import jax  # only on the JAX backend, which a user may have swapped for another
    from jax.experimental.compilation_cache import compilation_cache as cc

    if jax.config.jax_compilation_cache_dir:
        yield
        return
    names = ("jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")
    saved = {n: getattr(jax.config, n) for n in names}
    tmp = directory or tempfile.mkdtemp(prefix="uptake-xla-")
    try:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        cc.reset_cache()
        cc.set_cache_dir(tmp)
        yield
    finally:
        jax.config.update("jax_compilation_cache_dir", None)
        for n, v in saved.items():
            jax.config.update(n, v)
        cc.reset_cache()
        if directory is None:
            shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["shared_compilation_cache"]
