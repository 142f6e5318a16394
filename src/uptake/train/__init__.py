"""Training: options, the validated and split table, fitting, the model card, streamed training, re-tuning."""

from __future__ import annotations

from uptake.train.card import build_card, save
from uptake.train.fit import Fitted, Trained, finish, fit_split, train, train_file
from uptake.train.options import DEFAULT_SPLIT, TrainConfig
from uptake.train.prepare import Prepared, prepare, split_indices

__all__ = [
    "DEFAULT_SPLIT",
    "Fitted",
    "Prepared",
    "TrainConfig",
    "Trained",
    "build_card",
    "finish",
    "fit_split",
    "prepare",
    "save",
    "split_indices",
    "train",
    "train_file",
]
