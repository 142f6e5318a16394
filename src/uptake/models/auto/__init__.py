"""``--model auto``: the search (:mod:`.classifier`), its candidates, its planner and its bagging."""

from __future__ import annotations

from uptake.models.auto.candidates import CANDIDATES
from uptake.models.auto.classifier import DEFAULT_TIME_LIMIT, HOLDOUT_ROWS, AutoClassifier

__all__ = ["CANDIDATES", "DEFAULT_TIME_LIMIT", "HOLDOUT_ROWS", "AutoClassifier"]
