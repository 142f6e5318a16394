"""What a training table means, checked before anyone trusts a model trained on it.

* **Target proxies.** A column that on its own separates the target almost perfectly
  on the validation split (ROC-AUC at least :data:`PROXY_AUC`, its direction or
  per-category rates learnt on the training split) is a copy of the target, the
  target written as text, or a status known only afterwards. It is kept (the user
  decides) and warned about loudly: in the summary, the card and the report.
* **Duplicated rows.** Identical feature rows are counted. From :data:`DUPLICATE_SHARE`
  of the rows they are a join gone wrong (a bad join repeats every row), and identical
  rows are kept on one side of every split (:func:`duplicate_groups`), so a test row
  is never also a training row: test precision 1.0000 from a table whose every row
  appears twice is a leak, not a model. Below it they are different customers who
  answered alike (the bank table has 13 in 5,000, with different ZIP codes) and stay
  where the stratified split puts them.
* **Too few positives to judge.** Test figures on fewer than :data:`MIN_TEST_POSITIVES`
  positives move by tenths between samples: said next to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from uptake.schema import KINDS, Schema
from uptake.schema.values import category_text

#: Validation ROC-AUC of one column alone from which it is warned about as a proxy of the target.
PROXY_AUC = 0.99
#: Share of repeated rows from which identical rows are kept on one side of every split.
DUPLICATE_SHARE = 0.01
#: Test positives below which test figures are said to be too few to judge.
MIN_TEST_POSITIVES = 30


def _scores(col: Any, train: pd.Series, y_train: np.ndarray, other: pd.Series) -> np.ndarray:
    """One column as a score learnt on the training rows: a number's own order (its sign chosen on the
    training rows), a category's training positive rate (missing is a category)."""
    if KINDS[col.kind].profiled_as == "numeric":
        x_train = train.to_numpy(dtype=float, na_value=np.nan)
        x_other = other.to_numpy(dtype=float, na_value=np.nan)
        low = np.nanmin(x_train) - 1.0 if np.isfinite(x_train).any() else 0.0
        x_train, x_other = np.nan_to_num(x_train, nan=low), np.nan_to_num(x_other, nan=low)
        sign = 1.0 if len(np.unique(y_train)) < 2 or roc_auc_score(y_train, x_train) >= 0.5 else -1.0
        return sign * x_other
    codes = col.dtype == "int" or col.kind == "binary"
    t = category_text(train, codes).fillna("\x00missing")
    o = category_text(other, codes).fillna("\x00missing")
    rates = pd.Series(y_train, index=t.index).groupby(t.to_numpy()).mean()
    return o.map(rates).fillna(float(np.mean(y_train))).to_numpy(dtype=float)


def target_proxies(
    schema: Schema, clean: pd.DataFrame, y: np.ndarray, idx_train: np.ndarray, idx_val: np.ndarray
) -> list[str]:
    """Warnings for the columns that alone separate the target on the validation rows (see the docstring)."""
    y_val = y[idx_val]
    if len(np.unique(y_val)) < 2:
        return []
    out = []
    for col in schema.columns:
        scores = _scores(col, clean[col.name].iloc[idx_train], y[idx_train], clean[col.name].iloc[idx_val])
        auc = float(roc_auc_score(y_val, scores))
        if auc >= PROXY_AUC:
            out.append(
                f"'{col.name}' alone separates the target almost perfectly on the validation split (ROC-AUC "
                f"{auc:.3f}): a copy of the target, or an outcome known only afterwards? It is kept; "
                f"if so, train again with --drop '{col.name}'"
            )
    return out


def duplicate_groups(clean: pd.DataFrame) -> tuple[np.ndarray, int]:
    """A group per distinct feature row (identical rows share one), and how many rows repeat an earlier one."""
    hashed = pd.util.hash_pandas_object(clean, index=False).to_numpy()
    groups, uniques = pd.factorize(hashed)
    return np.asarray(groups, dtype=np.int64), int(len(clean) - len(uniques))


def few_positives(test: dict[str, Any], positive_name: str = "positives") -> str | None:
    """A note beside test figures resting on too few positives, or None."""
    n = int(test.get("positives") or 0)
    if n >= MIN_TEST_POSITIVES:
        return None
    return (
        f"only {n} {positive_name} in the test split: too few to judge the test figures (PR-AUC and recall "
        f"move by tenths between samples of this size); compare models with `uptake compare --cv` instead"
    )


__all__ = ["DUPLICATE_SHARE", "MIN_TEST_POSITIVES", "PROXY_AUC", "duplicate_groups", "few_positives", "target_proxies"]
