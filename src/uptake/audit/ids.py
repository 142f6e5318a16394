"""Customer ids: one spelling for the audit log and the outcomes table, whoever supplies them.

A served request may carry an ``id`` field; an uploaded table, an id column (the
column the model dropped as an identifier, such as the bank table's ``ID``, or one named
``id`` / ``customer_id``); ``uptake outcomes import`` reads one with ``--id``.
Each value becomes the same text key: integers (and integral floats, as a column
with a gap reads or writes them: ``39.0``) as decimal digits, other text stripped and
kept as written (``0042`` keeps its zeros, a 17-digit id every digit). Anything else
is refused with its location, never guessed: ``17.5`` as an id is a mistake, not
customer 17.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError, where
from uptake.io.cells import MISSING_TOKENS

#: The field of a JSON request that names the customer (``customer_id`` if a feature is called ``id``).
ID_FIELD = "id"
MAX_ID_LENGTH = 128
#: An id written as a decimal number (integer part, fraction); any other text is an id as written.
DECIMAL_ID = re.compile(r"^(-?[0-9]+)\.([0-9]+)$")
#: Column names taken as a table's customer ids when the model names none (case-insensitive).
ID_NAMES = ("id", "customer_id", "customerid", "customer id", "client_id")


def customer_key(value: Any) -> str | None:
    """The id's text key; ``None`` for a missing id. Raises ``ValueError`` saying why a value is not an id."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise ValueError("a true/false value is not a customer id")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        if not math.isfinite(value) or value != int(value):
            raise ValueError("a fractional number is not a customer id")
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        if text in MISSING_TOKENS:
            return None
        if len(text) > MAX_ID_LENGTH:
            raise ValueError(f"longer than {MAX_ID_LENGTH} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):  # NUL and friends: no database keeps them alike
            raise ValueError("a customer id holds a control character")
        decimal = DECIMAL_ID.match(text)
        if decimal:  # '39.0' is how a table with a gap writes integer ids; '39.5' is a mistake
            if decimal.group(2).strip("0"):
                raise ValueError("a fractional number is not a customer id")
            return decimal.group(1)
        return text
    raise ValueError(f"a {type(value).__name__} is not a customer id")


def keys_of(values: pd.Series, source: object, column: str, row_offset: int = 1) -> list[str | None]:
    """Every cell's key, or ``UptakeInputError`` naming the first cell that is not an id."""
    out: list[str | None] = []
    for i, v in enumerate(values.tolist()):
        try:
            out.append(customer_key(v))
        except ValueError as exc:
            raise UptakeInputError(f"{where(file=source, column=column, row=i + row_offset, value=v)}: {exc}") from None
    return out


def id_column(columns: Iterable[str], dropped: Iterable[dict[str, str]] = ()) -> str | None:
    """The table's customer-id column: the one the model dropped as an identifier, else a conventional name."""
    present = list(columns)
    for d in dropped:
        reason = d.get("reason", "")  # 'ID-like' in models saved before 0.2
        if reason.startswith(("identifier", "ID-like")) and d.get("column") in present:
            return d["column"]
    lowered = {c.lower().strip(): c for c in present}
    for name in ID_NAMES:
        if name in lowered:
            return lowered[name]
    return None


__all__ = ["ID_FIELD", "ID_NAMES", "MAX_ID_LENGTH", "customer_key", "id_column", "keys_of"]
