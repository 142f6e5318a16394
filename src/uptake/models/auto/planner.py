"""Keeping ``--model auto`` within its time limit: deadlines, and what a fold is expected to cost.

A fold is estimated before it starts: from the same family's folds measured earlier in
the search, else from the family's declared prior (``cost_per_1k_rows``, ``cost_floor``,
``cost_rows_cap``) scaled by the rows. A candidate that would not finish is not started,
or dropped once its first folds show it; the first always runs, so a tiny limit gives
one LightGBM instead of a crash. The clock is injectable, so the plan is tested with
costs in milliseconds of fake time, never against the machine's speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from uptake.models.base import Family

#: Share of the limit the search may plan to use (the rest is selection and slack).
PLANNED_SHARE = 0.9
#: Share of the limit new candidates may plan to use when the chosen ones are refit afterwards; repeats
#: of the bagging then stop short of PLANNED_SHARE by the refits' estimated cost, and the refits may use
#: the whole limit.
BAGGING_SHARE_WITH_REFIT = 0.8


@dataclass
class Planner:
    """The search's clock, its deadlines and the fold times measured so far (per family name)."""

    limit: float
    refit: bool
    clock: Callable[[], float] = time.perf_counter
    measured: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start = self.clock()
        #: new candidates are started only if their folds end before this
        self.bagging_deadline = self.start + (BAGGING_SHARE_WITH_REFIT if self.refit else PLANNED_SHARE) * self.limit
        #: repeats of the bagging end before this (less the refits' reserve)
        self.repeat_deadline = self.start + PLANNED_SHARE * self.limit
        #: refits end before this (they may use the slack)
        self.end = self.start + (1.0 if self.refit else PLANNED_SHARE) * self.limit

    def now(self) -> float:
        return self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def fits(self, seconds: float, deadline: float) -> bool:
        """Whether work of ``seconds`` started now ends by ``deadline``."""
        return self.clock() + seconds <= deadline

    def fold_cost(self, family: type[Family], rows: int) -> float:
        """Estimated seconds of one fold of ``family`` on ``rows`` training rows."""
        seen = self.measured.get(family.name)
        if seen:
            return float(sum(seen) / len(seen))
        cap = family.cost_rows_cap or rows
        rows = max(min(rows, cap), 1000)
        return max(family.cost_per_1k_rows * rows / 1000, family.cost_floor)

    def refit_cost(self, family: type[Family], rows: int, k: int) -> float:
        """Estimated seconds of training ``family`` once on all ``rows`` after ``k``-fold bagging."""
        return self.fold_cost(family, rows) * k / (k - 1)  # all rows, not k-1 folds of them

    def record(self, family: type[Family], seconds: float) -> None:
        self.measured.setdefault(family.name, []).append(seconds)


__all__ = ["BAGGING_SHARE_WITH_REFIT", "PLANNED_SHARE", "Planner"]
