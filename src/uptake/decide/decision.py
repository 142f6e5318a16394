"""The decision and the ranking: the one place a probability becomes "call" or "leave alone".

Every path that turns probabilities into decisions (batch, streaming and Dask
scoring, the web service, evaluation, threshold tuning, the report) calls
:func:`decide`; every ranking is :func:`rank_desc`. A threshold read from a model
card is checked by :func:`check_threshold` first: NaN or -1 would otherwise call
nobody or everybody without a word.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from uptake.errors import UptakeInputError

#: The highest cut a rule may choose: "call nobody" sits just above the highest score, which may be 1.0.
MAX_THRESHOLD = float(np.nextafter(1.0, 2.0))


def check_threshold(value: Any, source: object = "the model card") -> float:
    """A usable threshold: a finite number in [0, 1] (a hair above 1 means "call nobody")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UptakeInputError(f"{source}: the threshold {value!r} is not a number")
    t = float(value)
    if not math.isfinite(t) or not 0.0 <= t <= MAX_THRESHOLD:
        raise UptakeInputError(f"{source}: the threshold {value!r} must be a number between 0 and 1")
    return t


def decide(p: Any, threshold: float) -> np.ndarray:
    """1 where the probability is at or above the threshold ("call"), else 0; int8."""
    return (np.asarray(p, dtype=np.float64) >= threshold).astype(np.int8)


def rank_desc(p: np.ndarray) -> np.ndarray:
    """1 = most likely. Ties keep input order so the ranking is reproducible."""
    order = np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def confusion(y: Any, p: Any, threshold: float) -> tuple[int, int, int, int]:
    """``(tp, fp, tn, fn)`` of the decisions at ``threshold`` against labels ``y``."""
    y = np.asarray(y).astype(bool).reshape(-1)
    called = decide(p, threshold).astype(bool)
    tp = int(np.sum(called & y))
    fp = int(np.sum(called & ~y))
    fn = int(np.sum(~called & y))
    return tp, fp, int(len(y) - tp - fp - fn), fn


__all__ = ["MAX_THRESHOLD", "check_threshold", "confusion", "decide", "rank_desc"]
