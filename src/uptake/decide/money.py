"""Money: what a call costs and an acceptance is worth, checked once for every command."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from uptake.errors import UptakeInputError


def finite(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def check_amount(name: str, v: float | None) -> float | None:
    """``None`` or a positive finite amount; anything else is refused naming the option."""
    if v is not None and (not finite(v) or v <= 0):
        raise UptakeInputError(f"{name} {v}: must be a positive amount of money")
    return None if v is None else float(v)


def check_money(contact_cost: float | None, accept_value: float | None) -> None:
    """Both must be positive: a free call or a worthless loan makes every plan degenerate."""
    for name, v in (("--contact-cost", contact_cost), ("--accept-value", accept_value)):
        if v is None:
            raise UptakeInputError(f"{name} {v}: must be a positive amount of money")
        check_amount(name, v)


def profit(tp: Any, fp: Any, contact_cost: float | None, accept_value: float | None) -> np.ndarray:
    """Expected money: every call costs, every acceptor found pays."""
    tp, fp = np.asarray(tp, dtype=np.float64), np.asarray(fp, dtype=np.float64)
    return float(accept_value) * tp - float(contact_cost) * (tp + fp)


__all__ = ["check_amount", "check_money", "finite", "profit"]
