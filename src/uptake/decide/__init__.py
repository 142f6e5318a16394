"""Deciding: the decision rule, the metrics at a threshold, money, threshold rules and calibration."""

from __future__ import annotations

from uptake.decide.calibration import Calibrator, fit_calibrator, load_calibrator, probability_note, save_calibrator
from uptake.decide.decision import check_threshold, confusion, decide, rank_desc
from uptake.decide.metrics import METRIC_KEYS, describe, metrics
from uptake.decide.thresholds import RULES, Choice, Rule, rule_from_dict, rule_from_options
from uptake.decide.thresholds import describe as describe_rule

__all__ = [
    "METRIC_KEYS",
    "RULES",
    "Calibrator",
    "Choice",
    "Rule",
    "check_threshold",
    "confusion",
    "decide",
    "describe",
    "describe_rule",
    "fit_calibrator",
    "load_calibrator",
    "metrics",
    "probability_note",
    "rank_desc",
    "rule_from_dict",
    "rule_from_options",
    "save_calibrator",
]
