"""The report's sections, one builder each, in the order of ``uptake.report.model.SECTIONS``."""

from __future__ import annotations

from uptake.report.sections.calibration import calibration
from uptake.report.sections.card import model_card
from uptake.report.sections.decisions import campaign, decisions, ranking
from uptake.report.sections.fairness import fairness
from uptake.report.sections.importance import comparison, importance, read_leaderboard
from uptake.report.sections.overview import data, learning, summary, who_accepts

#: One builder per section, in ``SECTIONS`` order.
BUILDERS = (
    summary,
    data,
    who_accepts,
    learning,
    decisions,
    ranking,
    campaign,
    calibration,
    importance,
    fairness,
    comparison,
    model_card,
)

__all__ = ["BUILDERS", "read_leaderboard"]
