"""Inferring a schema from the training table: which columns are features, and of what kind.

Real exports carry columns that are not features. Each rule below decides from the
data alone (its size, missing share, cardinality, spelling), in this order; every
decision is printed in the data summary with its reason, stored in the model card,
and can be overridden: ``--kind COLUMN=KIND`` keeps a column as that kind (only an
empty column is still dropped), ``--drop`` drops more, ``--keep`` keeps a column a
rule would drop (its kind then guessed as for any other).

1. **Empty**: no value in any row.
2. **Mostly missing**: missing in more than :data:`MAX_MISSING_SHARE` of the rows.
3. **ZIP/postal codes** (by name, with more than :data:`MANY_TEXT_VALUES` distinct values): a
   location proxy, and thousands of categories (a ``zip_code`` column of three areas is kept).
4. **Identifiers**: integers or text with one distinct value per row; or almost so
   (at least :data:`NEAR_UNIQUE_SHARE` of the filled cells distinct, an identifier
   with a repeated value is still one) when the name says so (``id``, ``number``,
   ``account`` ...) or the values are a dense run of integers (row numbers).
5. **Dates** (a date type, or text that reads as dates in one format in at least 90%
   of its cells): kept as a date (``uptake.schema.kinds.date``: day number, year,
   month, day of week), unless day-first and month-first cannot be told apart.
6. **Names, free text and identifiers written as text**: more than
   :data:`MANY_TEXT_VALUES` distinct values, most of them seen once. A person's name is
   a proxy for ethnicity and sex and no reason to call anyone; an e-mail address or
   free text is an identifier or noise.
7. **Constant or near-constant**: a single value, or fewer than :data:`MIN_VARYING_ROWS`
   rows differing from the most common one: nothing a model can learn from.

A column is **numeric** when at least :data:`MOSTLY_NUMERIC` of its filled cells read as
numbers (``uptake.schema.values.to_number``: ``5e+05``, ``1,234.5``, ``12%``, ``$120``,
``TRUE``); its other cells are refused at training, naming the first and counting them,
never imputed in silence. Below that share it is text (categorical, or dropped by rule
6). Integer columns with 3 to 10 distinct non-negative values are codes (categorical).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.schema.column import Column
from uptake.schema.kinds import KINDS, Inferred
from uptake.schema.table import Schema
from uptake.schema.values import AMBIGUOUS, date_format, is_missing, is_text, plain, row_numbers, to_number

#: Integer columns with this many distinct values or fewer (and at least three) are
#: treated as codes, like the bank table's Education (1/2/3), not as quantities.
MAX_CODE_CARDINALITY = 10
#: A column whose filled cells are at least this share numbers is numeric (its other cells are refused).
MOSTLY_NUMERIC = 0.5
#: Columns missing in more than this share of rows are dropped.
MAX_MISSING_SHARE = 0.95
#: Integer or text columns with at least this share of distinct filled values may be identifiers (rule 4).
NEAR_UNIQUE_SHARE = 0.95
#: Text columns with more distinct values than this, most seen once, are names or free text (rule 6).
MANY_TEXT_VALUES = 50
#: Columns where fewer rows than this differ from the most common value are near-constant (rule 7).
MIN_VARYING_ROWS = 5
#: Rows a table needs before the identifier rules apply (a 10-row table's columns are all "unique").
MIN_ROWS_FOR_IDS = 20

ZIP_PATTERN = re.compile(r"(^|[^a-z])(zip|postal|postcode|post_code|plz)([^a-z]|$)|zipcode", re.I)
ID_NAME = re.compile(
    r"(^|[^a-z])(id|ids|key|no|nr|num|number|code|account|acct|uuid|guid|row|rownumber|index|ref)([^a-z]|$)"
    r"|(id|number|no|nr|key|num)$",
    re.I,
)
PERSON_NAME = re.compile(r"name|surname|forename|first|last|given", re.I)
EMAIL_NAME = re.compile(r"e-?mail", re.I)
ADDRESS_NAME = re.compile(r"address|street|addr|city_line|line1|line2", re.I)

#: Help texts for the bank table's columns, from its workbook's Description sheet.
#: Used by the web form and the report when a table brings no descriptions of its own.
KNOWN_DESCRIPTIONS: dict[str, str] = {
    "ID": "Customer ID",
    "Age": "Customer's age in completed years",
    "Experience": "Years of professional experience",
    "Income": "Annual income of the customer ($000)",
    "ZIP Code": "Home address ZIP code",
    "Family": "Family size of the customer",
    "CCAvg": "Average monthly credit-card spending ($000)",
    "Education": "Education level: 1 undergraduate, 2 graduate, 3 advanced/professional",
    "Mortgage": "Value of house mortgage, if any ($000)",
    "Personal Loan": "Did this customer accept the personal loan offered in the last campaign?",
    "Securities Account": "Does the customer have a securities account with the bank?",
    "CD Account": "Does the customer have a certificate of deposit (CD) account with the bank?",
    "Online": "Does the customer use internet banking facilities?",
    "CreditCard": "Does the customer use a credit card issued by the bank?",
}


@dataclass
class Decision:
    """What a rule decided of a column: drop it (``reason``), or keep it with a kind (``kind``, ``fmt``)."""

    reason: str | None = None
    kind: str | None = None
    fmt: str | None = None


def infer_schema(
    df: pd.DataFrame,
    target: str,
    drop: Iterable[str] = (),
    kinds: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    source: object | None = None,
    keep: Iterable[str] = (),
) -> Schema:
    """Decide each column's kind from the training table, and which columns are not features.

    ``kinds`` overrides the guess per column, e.g. ``{"Family": "numeric"}``; ``keep`` keeps
    columns a rule would drop (see the module docstring).
    """
    kinds = dict(kinds or {})
    keep = set(keep)
    for name, kind in kinds.items():
        if kind not in KINDS:
            raise UptakeInputError(f"kind {kind!r} for column '{name}' is not one of {', '.join(KINDS)}")
        if name not in df.columns:
            raise UptakeInputError(f"{where(file=source, column=name)}: --kind names a column the table does not have")
    for name in keep:
        if name not in df.columns:
            raise UptakeInputError(f"{where(file=source, column=name)}: --keep names a column the table does not have")
    descriptions = {**KNOWN_DESCRIPTIONS, **dict(descriptions or {})}
    dropped: list[dict[str, str]] = []
    for name in drop:
        if name not in df.columns:
            raise UptakeInputError(f"{where(file=source, column=name)}: --drop names a column the table does not have")
        if name == target:
            raise UptakeInputError(f"{where(file=source, column=name)}: cannot drop the target column")
        dropped.append({"column": name, "reason": "dropped on request"})
    dropped_names = {d["column"] for d in dropped}
    columns: list[Column] = []
    for name in df.columns:
        if name == target or name in dropped_names:
            continue
        raw = df[name]
        decision = decide(str(name), raw, forced=kinds.get(name), keep=name in keep)
        if decision.reason:
            dropped.append({"column": str(name), "reason": decision.reason})
            continue
        kind = kinds.get(name) or decision.kind
        columns.append(infer_column(str(name), raw, kind, descriptions.get(name, ""), source, decision.fmt))
    if not columns:
        raise UptakeInputError(
            f"{where(file=source)}: no feature columns left after dropping {sorted(d['column'] for d in dropped)}"
        )
    return Schema(columns=columns, target=target, dropped=dropped)


def decide(name: str, raw: pd.Series, forced: str | None = None, keep: bool = False) -> Decision:
    """The rules of the module docstring, in order, for one training column."""
    present = ~is_missing(raw)
    filled = int(present.sum())
    n = len(raw)
    if not filled:
        return Decision("empty: no value in any row")
    if forced == "date" or (forced is None and pd.api.types.is_datetime64_any_dtype(raw)):
        fmt = date_format(raw)
        return Decision(kind="date", fmt=fmt if fmt not in (None, AMBIGUOUS) else "ISO8601")
    if forced is not None or keep:
        return Decision(kind=forced)
    if n and 1 - filled / n > MAX_MISSING_SHARE:
        return Decision(f"mostly missing: empty in {1 - filled / n:.0%} of rows (more than {MAX_MISSING_SHARE:.0%})")
    values = raw[present]
    text = is_text(raw)
    distinct = int(values.nunique(dropna=True))
    if ZIP_PATTERN.search(name) and distinct > MANY_TEXT_VALUES:  # 'zip_code' of three areas is a category
        return Decision("ZIP/postal code: a location proxy, and thousands of categories")
    numbers = to_number(values, str(raw.attrs.get("decimal", ".")))
    mostly_numbers = bool(numbers.notna().mean() >= MOSTLY_NUMERIC)
    finite = numbers.to_numpy(dtype=float, na_value=np.nan)
    finite = finite[np.isfinite(finite)]
    integral = mostly_numbers and bool(np.all(np.mod(finite, 1) == 0))
    reason = identifier(name, values, numbers, distinct, filled, n, text and not mostly_numbers, integral)
    if reason:
        return Decision(reason)
    if text and not mostly_numbers:
        fmt = date_format(raw)
        if fmt == AMBIGUOUS:
            return Decision(
                "dates whose day and month cannot be told apart (no day above 12): write them as 2027-04-03, "
                "or --kind COLUMN=date to read them ISO-first"
            )
        if fmt is not None:
            return Decision(kind="date", fmt=fmt)
        reason = free_text(name, values, distinct)
        if reason:
            return Decision(reason)
    top = int(values.value_counts().iloc[0]) if distinct else 0
    if distinct <= 1:
        return Decision("constant: a single value in every row")
    if filled - top < MIN_VARYING_ROWS and n >= MIN_ROWS_FOR_IDS:
        return Decision(f"near-constant: only {filled - top} of {filled:,} rows differ from the most common value")
    return Decision()


def identifier(
    name: str,
    values: pd.Series,
    numbers: pd.Series,
    distinct: int,
    filled: int,
    n: int,
    text: bool,
    integral: bool,
) -> str | None:
    """Rule 4: why the column is an identifier, or None."""
    if n < MIN_ROWS_FOR_IDS or not (text or integral):
        return None
    if distinct == filled and filled == n:
        return "identifier: one distinct value per row"
    if distinct < NEAR_UNIQUE_SHARE * filled:
        return None
    share = f"{distinct:,} distinct values in {filled:,} filled rows"
    if distinct == filled:
        return f"identifier: one distinct value per filled row ({share})"
    if ID_NAME.search(name):
        return f"identifier: almost one distinct value per row ({share}) and named as one"
    if integral:
        whole = numbers.dropna()
        span = float(whole.max() - whole.min() + 1)
        if span <= 1.5 * distinct:
            return f"identifier: almost one distinct value per row ({share}), a run of consecutive numbers"
    if text:
        return f"identifier: almost one distinct value per row ({share})"
    return None


def free_text(name: str, values: pd.Series, distinct: int) -> str | None:
    """Rule 6: why a text column is names, addresses or free text rather than a category, or None."""
    if distinct <= MANY_TEXT_VALUES:
        return None
    counts = values.astype(str).str.strip().value_counts()
    if float(counts.median()) > 1:  # most values recur: a real category with many levels (a city, a product)
        return None
    many = f"{distinct:,} distinct values, most of them seen once"
    if EMAIL_NAME.search(name) or values.astype(str).str.contains("@", regex=False).mean() > 0.5:
        return f"e-mail addresses ({many}): an identifier, not a reason to call"
    if PERSON_NAME.search(name):
        return f"a person's name ({many}): a proxy for ethnicity and sex, and no reason to call anyone"
    if ADDRESS_NAME.search(name):
        return f"addresses ({many}): a location proxy and an identifier"
    if values.astype(str).str.len().mean() > 30:
        return f"free text ({many}): not a category"
    return f"identifier-like text ({many}): too many values seen once to learn from"


def infer_column(
    name: str,
    raw: pd.Series,
    kind: str | None,
    description: str,
    source: object | None,
    fmt: str | None = None,
) -> Column:
    missing = is_missing(raw)
    if kind == "date":
        return KINDS["date"].infer(
            Inferred(name, raw, None, is_text(raw), int(missing.sum()), description, fmt), source
        )
    text = is_text(raw)
    decimal = str(raw.attrs.get("decimal", "."))
    values = to_number(raw, decimal)
    numeric = bool(values[~missing].notna().mean() >= MOSTLY_NUMERIC) if (~missing).any() else False
    if text and not numeric:
        values = None
    rows = row_numbers(raw)
    if values is not None:
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        if text and kind != "categorical":
            # A numeric column with words in it: name the first offending cell, and say how many there are.
            bad = np.flatnonzero(np.isnan(arr) & ~missing)
            if len(bad):
                i = int(bad[0])
                more = f" ({len(bad):,} such cells, {len(bad) / max(int((~missing).sum()), 1):.0%} of the filled)"
                raise UptakeInputError(
                    f"{where(file=source, column=name, row=int(rows[i]), value=plain(raw.iloc[i]))}: "
                    f"text in a numeric column{more if len(bad) > 1 else ''}; mark such cells empty, or "
                    f"--kind '{name}=categorical' to read the column as categories"
                )
        inf = np.flatnonzero(np.isinf(arr))
        if len(inf):
            i = int(inf[0])
            raise UptakeInputError(
                f"{where(file=source, column=name, row=int(rows[i]), value=plain(raw.iloc[i]))}: not a finite number"
            )
    if kind is None:
        kind = guess_kind(values)
    if kind not in ("categorical",) and values is None:
        raise UptakeInputError(f"{where(file=source, column=name)}: --kind {kind} needs numbers, the column holds text")
    return KINDS[kind].infer(Inferred(name, raw, values, text, int(missing.sum()), description), source)


def guess_kind(values: pd.Series | None) -> str:
    if values is None:
        return "categorical"
    distinct = values.dropna().unique()
    if len(distinct) <= 2 and set(distinct.tolist()) <= {0.0, 1.0}:
        return "binary"
    integral = len(distinct) > 0 and bool(np.all(np.equal(np.mod(distinct, 1), 0)))
    if integral and 3 <= len(distinct) <= MAX_CODE_CARDINALITY and float(np.min(distinct)) >= 0:
        return "categorical"
    return "numeric"


__all__ = [
    "KNOWN_DESCRIPTIONS",
    "MAX_CODE_CARDINALITY",
    "MOSTLY_NUMERIC",
    "ZIP_PATTERN",
    "Decision",
    "decide",
    "guess_kind",
    "infer_column",
    "infer_schema",
]
