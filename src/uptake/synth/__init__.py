"""Synthetic stand-ins for the customer tables uptake is built for.

Why this exists: the real bank table (``Bank_Personal_Loan_Modelling.csv``, 5000
customers, 9.6% took the personal loan) is not ours to redistribute, so it must never
be copied into the project. Demos, docs, tests and scale tests still need a table that
looks and behaves like it: the same columns, order and dtypes, similar marginals and
quirks (a few negative ``Experience`` values, ``Mortgage`` mostly 0, ``CCAvg`` in one
decimal), and an outcome with the same *kind* of structure -- acceptance almost only
above an income threshold *and* for graduates or larger families, or with a high card
spend or a CD account -- so that a tree ensemble beats a linear model on it, as on the
real data. ``make_fraud`` does the same for the highly imbalanced credit-card fraud
table (0.17% positives) used by the TensorFlow imbalanced-data tutorial.

Everything is vectorised numpy drawn from ``np.random.default_rng`` streams keyed by
``(seed, kind, block)``: rows are generated in fixed blocks of ``BLOCK_ROWS``, so the
same seed gives the same table whichever ``chunk_rows`` it is read with, and
``make_loan(10_000_000)`` takes seconds, not minutes. ``iter_table_chunks`` yields the
table in pieces (running ``ID`` / ``Time``) and ``write_table`` writes a frame or such
an iterator atomically to .csv, .parquet or .xlsx.
"""

from __future__ import annotations

from uptake.synth.generator import BLOCK_ROWS, FRAUD_COLUMNS, KINDS, LOAN_COLUMNS
from uptake.synth.shift import parse_shifts, shifted
from uptake.synth.tables import iter_table_chunks, make_fraud, make_loan, make_table, write_table

__all__ = [
    "BLOCK_ROWS",
    "FRAUD_COLUMNS",
    "KINDS",
    "LOAN_COLUMNS",
    "iter_table_chunks",
    "make_fraud",
    "make_loan",
    "make_table",
    "parse_shifts",
    "shifted",
    "write_table",
]
