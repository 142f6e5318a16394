"""The target column: which one it is, and which of its two labels is the positive outcome.

0/1, yes/no, true/false and y/n (any case) are understood; ``--positive`` names the
label to count as 1 for anything else (e.g. ``--positive accepted``), and the
positive class's name (acceptors, frauds, ...) is what summaries speak of.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.schema.values import is_missing, plain, row_numbers

DEFAULT_TARGET = "Personal Loan"
#: A whole number written with a decimal point ('1.0', '1.', '-3.00'): the same label as the number.
WHOLE_NUMBER_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)\.0*$")
TRUE_WORDS = {"1", "yes", "true", "y", "t", "1.0"}
FALSE_WORDS = {"0", "no", "false", "n", "f", "0.0"}


def resolve_target(df: pd.DataFrame, target: str | None, source: object | None = None) -> str:
    if target is None:
        if DEFAULT_TARGET in df.columns:
            return DEFAULT_TARGET
        raise UptakeInputError(
            f"{where(file=source, column=DEFAULT_TARGET)}: target column is missing; name the target with --target"
        )
    if target not in df.columns:
        raise UptakeInputError(f"{where(file=source, column=target)}: target column is missing")
    return target


def encode_target(
    series: pd.Series, positive: str | None = None, source: object | None = None, row_offset: int | None = None
) -> tuple[np.ndarray, str, str]:
    """Map the target to 1/0; return ``(y, positive_label, negative_label)``.

    0/1, yes/no, true/false and y/n (any case) are understood; ``positive`` names
    the label to count as 1 for anything else (e.g. ``--positive accepted``).
    """
    name = str(series.name)
    miss = is_missing(series)
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        if row_offset is None and "source" in series.attrs:  # a file's table: its own row numbers
            rows = row_numbers(series)
        else:
            rows = row_numbers(series, row_offset if row_offset is not None else int(series.attrs.get("row_offset", 2)))
        row = int(rows[i])
        raise UptakeInputError(f"{where(file=source, column=name, row=row)}: the target is missing")
    text = series.map(label_text)
    labels = sorted(text.unique().tolist())
    if len(labels) < 2:
        raise UptakeInputError(
            f"{where(file=source, column=name, value=plain(series.iloc[0]))}: the target has one class only; "
            "a model needs examples of both outcomes"
        )
    if len(labels) > 2:
        raise UptakeInputError(
            f"{where(file=source, column=name)}: the target has {len(labels)} classes "
            f"({', '.join(map(repr, labels[:6]))}{', ...' if len(labels) > 6 else ''}); it must have two"
        )
    if positive is not None:
        pos = label_text(positive)
        if pos not in labels:
            raise UptakeInputError(
                f"{where(file=source, column=name, value=positive)}: --positive is not one of the target's labels "
                f"({', '.join(map(repr, labels))})"
            )
    else:
        lowered = {lab.lower() for lab in labels}
        trues = [lab for lab in labels if lab.lower() in TRUE_WORDS]
        if len(trues) == 1 and len(lowered & FALSE_WORDS) == 1:
            pos = trues[0]
        else:
            raise UptakeInputError(
                f"{where(file=source, column=name)}: cannot tell which of {labels[0]!r} and {labels[1]!r} is the "
                "positive outcome; name it with --positive"
            )
    neg = labels[0] if labels[1] == pos else labels[1]
    y = (text == pos).to_numpy(dtype=np.int64)
    return y, pos, neg


def label_text(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    text = str(v).strip()
    if WHOLE_NUMBER_TEXT.match(text):  # '1.0' and '1' are one label, as 1.0 and 1 are ('01' stays '01')
        return text.split(".")[0]
    return text


#: What the positive class is called for well-known targets; others say "positives" unless told.
KNOWN_POSITIVE_NAMES = {
    "personal loan": "acceptors",
    "accepted": "acceptors",
    "churn": "churners",
    "churned": "churners",
    "fraud": "frauds",
    "is_fraud": "frauds",
    "default": "defaulters",
}


def positive_name(target: str, given: str | None = None) -> str:
    """The plural noun summaries use for the positive class: ``--positive-name``, a known target, or 'positives'."""
    if given is not None and str(given).strip():
        return str(given).strip()
    return KNOWN_POSITIVE_NAMES.get(str(target).strip().lower(), "positives")


def target_labels(
    schema: Any,
    df: pd.DataFrame,
    source: object | None = None,
    required: bool = True,
    why: str = "evaluation needs labels",
) -> np.ndarray | None:
    """0/1 labels of a table scored by a model with ``schema``, or None when absent and not ``required``."""
    target = schema.target
    if target not in df.columns or is_missing(df[target]).all():
        if not required:
            return None
        raise UptakeInputError(f"{where(file=source, column=target)}: target column is missing; {why}")
    y, _, _ = encode_target(df[target], schema.positive_label, source)
    return y


__all__ = [
    "DEFAULT_TARGET",
    "KNOWN_POSITIVE_NAMES",
    "encode_target",
    "label_text",
    "positive_name",
    "resolve_target",
    "target_labels",
]
