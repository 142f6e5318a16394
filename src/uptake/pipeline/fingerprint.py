"""Which rows a model learnt from: a compact fingerprint, so figures on them are called in-sample.

A figure measured on the rows a model was trained or validated on flatters it ("we reach
99% of the acceptors in the top 10%"). Checking a file's hash catches only the very
file; the same rows as CSV instead of Excel, reordered, or inside a larger table pass.
So the model keeps one 64-bit hash per row it learnt from (training and validation
rows; every labelled row when a small table's served model was refit on all of them):
hashes of the normalised feature values (numbers to 12 significant digits, dates as day counts,
categories as text), never the rows themselves. 8 bytes a row (40 KB for 5,000 rows),
saved as ``fingerprint.u64`` (raw little-endian ``uint64``: bytes, nothing to unpickle). A command that
computes figures from labelled rows counts how many of its rows have a hash in the
fingerprint, whatever the file's format or row order, and says so.

Two different rows share a hash with probability about 2^-64 per pair; two customers
with identical features count as one row seen (the model cannot tell them apart either).
Models saved before the fingerprint existed have none, and nothing is said.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uptake.schema import KINDS, Schema

FINGERPRINT = "fingerprint.u64"
#: Numbers are hashed at this precision (2^40: about 12 significant digits).
MANTISSA = float(2**40)


def _rounded(v: np.ndarray) -> np.ndarray:
    """Numbers to 40 bits of mantissa (about 12 significant digits): Excel keeps 15 digits, so
    2.6666666666666665 comes back as 2.666666666666667, and it is the same customer."""
    mantissa, exponent = np.frexp(v)
    return np.ldexp(np.round(mantissa * MANTISSA) / MANTISSA, exponent)


def row_hashes(schema: Schema, clean: pd.DataFrame) -> np.ndarray:
    """One uint64 per row of validated features (``Schema.validate``'s clean frame)."""
    if len(clean) == 0:
        return np.zeros(0, dtype=np.uint64)
    cols: dict[str, pd.Series] = {}
    for name in schema.feature_names:
        v = clean[name].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(v):
            cols[name] = (v.astype("int64") // 86_400_000_000_000).astype("float64").where(v.notna())
        elif KINDS[schema.column(name).kind].profiled_as == "numeric" and pd.api.types.is_numeric_dtype(v):
            cols[name] = pd.Series(_rounded(v.to_numpy(dtype=np.float64, na_value=np.nan)))
        else:
            cols[name] = v.astype(object).where(v.notna(), None).map(lambda x: "" if x is None else str(x))
    frame = pd.DataFrame(cols)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


def build(schema: Schema, clean: pd.DataFrame) -> np.ndarray:
    """The fingerprint of the rows a model learnt from: their sorted distinct hashes."""
    return np.unique(row_hashes(schema, clean))


def save(fingerprint: np.ndarray, path: Path) -> None:
    Path(path).write_bytes(np.asarray(fingerprint, dtype="<u8").tobytes())


def load(version_dir: Path) -> np.ndarray | None:
    """The model's fingerprint, or None for a model saved without one."""
    path = Path(version_dir) / FINGERPRINT
    if not path.is_file():
        return None
    raw = path.read_bytes()
    if len(raw) % 8:
        return None  # not a fingerprint this version wrote: say nothing rather than count wrongly
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


def seen(fingerprint: np.ndarray | None, schema: Schema, clean: pd.DataFrame) -> int | None:
    """How many rows of ``clean`` the model learnt from (None when it keeps no fingerprint)."""
    if fingerprint is None:
        return None
    return int(np.isin(row_hashes(schema, clean), fingerprint, assume_unique=False).sum())


def in_sample_note(rows_seen: int | None, rows: int) -> str | None:
    """The sentence a person reads next to figures measured on these rows, or None."""
    if not rows_seen:
        return None
    share = rows_seen / rows if rows else 0.0
    return (
        f"{rows_seen:,} of {rows:,} rows ({share:.0%}) were used to train or validate this model: "
        "figures measured on them are in-sample and flatter it; measure on rows it never saw"
    )


def card_entry(fingerprint: np.ndarray, rows_of: str) -> dict[str, Any]:
    return {"file": FINGERPRINT, "rows": int(len(fingerprint)), "bytes": int(fingerprint.nbytes), "of": rows_of}


__all__ = ["FINGERPRINT", "build", "card_entry", "in_sample_note", "load", "row_hashes", "save", "seen"]
