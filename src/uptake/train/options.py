"""What decides a model: the options of ``uptake train`` (and ``train-stream``), stored in its card."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from uptake.decide.calibration import METHODS
from uptake.decide.thresholds import Rule, rule_from_options
from uptake.errors import UptakeInputError

#: The TF imbalanced-data tutorial's split: 64% train, 16% validation, 20% test.
DEFAULT_SPLIT = (0.64, 0.16, 0.20)


@dataclass
class TrainConfig:
    """Everything that decides a model. Stored in the model card as ``train_config``."""

    target: str | None = None
    positive: str | None = None
    positive_name: str | None = None
    drop: Sequence[str] = ()
    #: columns a rule would drop (an identifier, a name, near-constant) kept as features
    keep: Sequence[str] = ()
    kinds: dict[str, str] = field(default_factory=dict)
    model: str = "network"
    preset: str = "default"
    hidden: str | None = None
    dropout: float | None = None
    learning_rate: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    time_limit: float | None = None
    refit_full: bool | None = None
    #: serve a small table's measured model refit on every labelled row (``None``: by the family's rule)
    final_refit: bool | None = None
    imbalance: str | None = None
    class_weight_formula: str | None = None
    initial_bias: bool | None = None
    threshold: float | None = None
    min_recall: float | None = None
    min_precision: float | None = None
    contact_cost: float | None = None
    accept_value: float | None = None
    calibrate: str | None = None
    seed: int = 0
    split: tuple[float, float, float] = DEFAULT_SPLIT
    checkpoint_dir: str | None = None

    def options(self) -> dict[str, Any]:
        """The fields as the model families read them (``uptake.models.make_estimator``)."""
        return asdict(self)

    def rule(self) -> Rule:
        """The threshold rule these options ask for, validated."""
        return rule_from_options(
            self.threshold, self.min_recall, self.min_precision, self.contact_cost, self.accept_value
        )

    def check(self) -> None:
        """Bad threshold or calibration options fail before any training."""
        self.rule()
        if self.calibrate is not None and self.calibrate not in METHODS:
            raise UptakeInputError(f"--calibrate {self.calibrate!r}: choose one of {', '.join(METHODS)}")
        if self.time_limit is not None and not (math.isfinite(float(self.time_limit)) and self.time_limit > 0):
            raise UptakeInputError(f"--time-limit {self.time_limit}: give a positive number of seconds")


__all__ = ["DEFAULT_SPLIT", "TrainConfig"]
