"""The first steps of training: a validated table, and its stratified split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from uptake.errors import UptakeInputError, where
from uptake.schema import LEARNING, Schema, infer_schema
from uptake.schema.summary import DataSummary, summarize
from uptake.schema.table import blank_rows
from uptake.schema.target import encode_target, resolve_target
from uptake.train.options import DEFAULT_SPLIT, TrainConfig
from uptake.train.sanity import DUPLICATE_SHARE, duplicate_groups

#: Rows of the rarer class needed to split a table three ways.
MIN_MINORITY = 5


@dataclass
class Prepared:
    """A validated training table: schema, clean feature frame and 0/1 target."""

    schema: Schema
    clean: pd.DataFrame
    y: np.ndarray
    summary: DataSummary
    #: one group per distinct feature row: identical rows stay on one side of every split
    groups: np.ndarray | None = None


def prepare(
    df: pd.DataFrame, config: TrainConfig, source: object | None = None, descriptions: dict[str, str] | None = None
) -> Prepared:
    """Find the target, infer the schema, and validate every training row.

    Rows whose every cell is empty (an export's leftovers) are not customers: they are
    left out and counted; the others keep the row numbers of the file in every message.
    """
    target = resolve_target(df, config.target, source)
    blank = blank_rows(df)
    if blank.any():
        df = df.loc[~blank]
    y, pos, neg = encode_target(df[target], config.positive, source)
    schema = infer_schema(
        df, target, drop=config.drop, kinds=config.kinds, descriptions=descriptions, source=source, keep=config.keep
    )
    schema.positive_label, schema.negative_label = pos, neg
    clean, errors = schema.validate(df, source=source, policy=LEARNING)
    if errors:
        raise UptakeInputError(errors[0].message(source) + (f" ({len(errors) - 1} more)" if len(errors) > 1 else ""))
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < MIN_MINORITY:
        raise UptakeInputError(
            f"{where(file=source, column=target)}: only {minority} rows of the rarer class; "
            f"need at least {MIN_MINORITY} to split"
        )
    summary = summarize(df, schema, y)
    summary.blank_rows = int(blank.sum())
    groups, summary.duplicate_rows = duplicate_groups(clean)
    grouped = summary.duplicate_rows >= DUPLICATE_SHARE * len(clean)
    return Prepared(schema, clean, y, summary, groups if grouped and summary.duplicate_rows else None)


def split_indices(
    y: np.ndarray, seed: int, split: Sequence[float] = DEFAULT_SPLIT, groups: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Stratified train / validation / test indices, fixed by ``seed``.

    ``groups`` (identical rows share one, ``uptake.train.sanity.duplicate_groups``): the
    distinct rows are split, each taking its duplicates with it, so no row is on both sides.
    """
    if groups is not None:
        first = np.unique(groups, return_index=True)[1]
        label = np.zeros(len(first), dtype=np.int64)
        np.maximum.at(label, groups, np.asarray(y).astype(np.int64))  # a group is positive if any row is
        parts = split_indices(label, seed, split)
        return tuple(np.sort(np.flatnonzero(np.isin(groups, part))) for part in parts)
    train_f, val_f, test_f = split
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_f, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_f / (train_f + val_f), stratify=y[rest], random_state=seed)
    return np.sort(train), np.sort(val), np.sort(test)


__all__ = ["Prepared", "prepare", "split_indices"]
