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

import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from uptake.errors import UptakeInputError

__all__ = [
    "BLOCK_ROWS",
    "FRAUD_COLUMNS",
    "KINDS",
    "LOAN_COLUMNS",
    "iter_table_chunks",
    "make_fraud",
    "make_loan",
    "make_table",
    "write_table",
]

LOAN_COLUMNS: list[str] = [
    "ID",
    "Age",
    "Experience",
    "Income",
    "ZIP Code",
    "Family",
    "CCAvg",
    "Education",
    "Mortgage",
    "Personal Loan",
    "Securities Account",
    "CD Account",
    "Online",
    "CreditCard",
]
FRAUD_COLUMNS: list[str] = ["Time", *[f"V{i}" for i in range(1, 29)], "Amount", "Class"]
KINDS: tuple[str, ...] = ("loan", "fraud")

#: Rows per random stream. Data depend on (seed, kind, block), never on chunk sizes.
BLOCK_ROWS = 1 << 17
#: Excel's sheet limit is 1,048,576 rows including the header.
XLSX_MAX_ROWS = 1_048_575

_KIND_CODE = {"loan": 1, "fraud": 2}
_PLAN_STREAM = 2**31 - 1  # spawn key for per-table (not per-block) draws

# ---------------------------------------------------------------- loan calibration
_AGES = np.arange(23, 68)
_AGE_W = np.clip(np.minimum((_AGES - 22) / 7.0, (68 - _AGES) / 5.0), 0.05, 1.0)
_AGE_P = _AGE_W / _AGE_W.sum()
_EXP_NOISE = np.array([-2, -1, 0, 1])
_EXP_NOISE_P = np.array([0.05, 0.30, 0.30, 0.35])
_INCOME_MIN, _INCOME_SPAN, _INCOME_A, _INCOME_B = 8, 217, 1.3, 2.95
# Education 1/2/3 for low and high earners (high earners are mostly undergraduates).
_EDU_LO = np.array([0.355, 0.315, 0.330])
_EDU_HI = np.array([0.62, 0.17, 0.21])
# Family 1..4: low earners; high-earning undergraduates (mostly small households); others.
_FAM_LO = np.array([0.27, 0.225, 0.225, 0.28])
_FAM_HI_ED1 = np.array([0.44, 0.44, 0.07, 0.05])
_FAM_HI_OTHER = np.array([0.25, 0.25, 0.23, 0.27])
_N_ZIPS = 470

# --------------------------------------------------------------- fraud calibration
_FRAUD_RATE = 0.00173
_TIME_MAX = 172_792
_V_STD = np.geomspace(1.95, 0.33, 28)
# Mean shift of fraud rows, in units of each component's std (V1..V28).
_FRAUD_SHIFTS = {1: -0.8, 2: 0.7, 3: -1.4, 4: 1.9, 5: -0.5, 7: -0.9, 9: -0.9, 10: -1.8,
                 11: 1.6, 12: -2.0, 14: -2.3, 16: -1.1, 17: -1.7, 18: -0.6}  # fmt: skip
_V_SHIFT = np.array([_FRAUD_SHIFTS.get(i, 0.0) for i in range(1, 29)])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _check_args(kind: str, rows: int, seed: int) -> None:
    if kind not in _KIND_CODE:
        raise UptakeInputError(f"unknown synthetic kind '{kind}': choose loan or fraud")
    for name, value in (("rows", rows), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise UptakeInputError(f"{name} must be a whole number >= 0, got {value!r}")


def _rng(seed: int, kind: str, stream: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(int(seed), spawn_key=(_KIND_CODE[kind], int(stream)))
    )


def _draw_categories(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """1-based category per row from uniforms ``u`` and per-row probabilities (n, k)."""
    cum = np.cumsum(probs, axis=1)[:, :-1]
    return 1 + (u[:, None] >= cum).sum(axis=1)


class _Plan:
    """Per-table draws shared by all blocks (ZIP pool, fraud counts per block)."""

    def __init__(self, kind: str, rows: int, seed: int) -> None:
        self.kind, self.rows, self.seed = kind, rows, seed
        rng = _rng(seed, kind, _PLAN_STREAM)
        n_blocks = -(-rows // BLOCK_ROWS)
        if kind == "loan":
            self.zips = rng.choice(np.arange(90_000, 96_700), size=_N_ZIPS, replace=False)
            weights = 1.0 / np.arange(1, _N_ZIPS + 1) ** 0.8
            self.zip_p = weights / weights.sum()
        else:
            positives = round(rows * _FRAUD_RATE)
            if rows >= 100:
                positives = max(positives, 1)
            sizes = np.full(n_blocks, BLOCK_ROWS, dtype=np.int64)
            if n_blocks:
                sizes[-1] = rows - BLOCK_ROWS * (n_blocks - 1)
                self.block_positives = rng.multivariate_hypergeometric(
                    sizes, positives, method="marginals"
                )
            else:
                self.block_positives = np.zeros(0, dtype=np.int64)
            # Two days of transactions, quieter at night: CDF of the intensity on a grid.
            grid = np.linspace(0.0, _TIME_MAX, 4097)
            intensity = 1.0 - 0.8 * ((1 + np.cos(2 * np.pi * (grid - 4 * 3600) / 86_400)) / 2) ** 4
            cdf = np.concatenate([[0.0], np.cumsum((intensity[1:] + intensity[:-1]) / 2)])
            self.time_grid, self.time_cdf = grid, cdf / cdf[-1]

    def block(self, index: int) -> dict[str, np.ndarray]:
        start = index * BLOCK_ROWS
        n = min(BLOCK_ROWS, self.rows - start)
        rng = _rng(self.seed, self.kind, index)
        if self.kind == "loan":
            return self._loan_block(rng, start, n)
        return self._fraud_block(rng, start, n, int(self.block_positives[index]))

    def _loan_block(self, rng: np.random.Generator, start: int, n: int) -> dict[str, np.ndarray]:
        age = rng.choice(_AGES, size=n, p=_AGE_P)
        experience = age - 25 + rng.choice(_EXP_NOISE, size=n, p=_EXP_NOISE_P)
        income = np.floor(
            _INCOME_MIN + _INCOME_SPAN * rng.beta(_INCOME_A, _INCOME_B, size=n)
        ).astype(np.int64)
        high = _sigmoid((income - 98.0) / 6.0)[:, None]  # soft "is a high earner"
        education = _draw_categories(rng.random(n), _EDU_LO + (_EDU_HI - _EDU_LO) * high)
        fam_hi = np.where((education == 1)[:, None], _FAM_HI_ED1, _FAM_HI_OTHER)
        family = _draw_categories(rng.random(n), _FAM_LO + (fam_hi - _FAM_LO) * high)
        high = high[:, 0]

        spend_mean = 0.5 + 0.012 * income + 0.00007 * income.astype(np.float64) ** 2
        spend = np.clip(rng.gamma(2.6, spend_mean / 2.6), 0.0, 10.0)
        thirds = rng.random(n) < 0.03  # a few monthly averages over 3 months: x.333333
        ccavg = np.where(thirds, np.round(np.round(spend * 3) / 3, 6), np.round(spend, 1))

        has_mortgage = rng.random(n) < 0.31
        amount = 75 + rng.lognormal(4.2 + 0.009 * (income - 74), 0.8, size=n)
        mortgage = np.where(has_mortgage, np.minimum(amount, 635), 0).astype(np.int64)

        zip_code = rng.choice(self.zips, size=n, p=self.zip_p)
        eligible = (education > 1) | (family >= 3)
        cd = rng.random(n) < 0.037 + 0.20 * high * eligible  # CDs go with well-off families
        securities = rng.random(n) < np.where(cd, 0.49, 0.08)
        online = rng.random(n) < np.where(cd, 0.94, 0.575)
        creditcard = rng.random(n) < np.where(cd, 0.80, 0.262)

        # Acceptance: a soft AND of "income over ~110k" and "graduate or family of 3+",
        # a smaller route through high card spend, and a strong CD-account effect.
        gate = _sigmoid((income - 110.0) / 4.0)
        logit = (
            -7.5
            + gate * np.where(eligible, 9.8, 1.0)
            + (1.0 - gate) * np.where((ccavg > 3.0) & (income > 75), 5.5, 0.0)
            + 3.0 * cd
            - 0.7 * (cd & securities)
            + 0.004 * (income - 110)
            + rng.normal(0.0, 0.4, size=n)
        )
        loan = rng.random(n) < _sigmoid(logit)

        return {
            "ID": np.arange(start + 1, start + n + 1, dtype=np.int64),
            "Age": age.astype(np.int64),
            "Experience": experience.astype(np.int64),
            "Income": income,
            "ZIP Code": zip_code.astype(np.int64),
            "Family": family.astype(np.int64),
            "CCAvg": ccavg.astype(np.float64),
            "Education": education.astype(np.int64),
            "Mortgage": mortgage,
            "Personal Loan": loan.astype(np.int64),
            "Securities Account": securities.astype(np.int64),
            "CD Account": cd.astype(np.int64),
            "Online": online.astype(np.int64),
            "CreditCard": creditcard.astype(np.int64),
        }

    def _fraud_block(
        self, rng: np.random.Generator, start: int, n: int, positives: int
    ) -> dict[str, np.ndarray]:
        position = (np.arange(start, start + n) + rng.random(n)) / self.rows
        time = np.floor(np.interp(position, self.time_cdf, self.time_grid))
        label = np.zeros(n, dtype=np.int64)
        label[rng.choice(n, size=positives, replace=False)] = 1
        is_pos = label.astype(bool)

        z = rng.standard_normal((n, 28))
        if positives:
            # Frauds: shifted on a few components by a per-row strength (some look normal),
            # and more spread out.
            strength = rng.beta(2.0, 1.3, size=(positives, 1)) * 1.5
            z[is_pos] = z[is_pos] * 1.6 + strength * _V_SHIFT
        v = z * _V_STD

        log_amount = np.where(
            is_pos,
            rng.normal(2.3, 2.0, size=n),
            rng.normal(3.1, 1.45, size=n) - 0.25 * z[:, 1] + 0.15 * z[:, 6],
        )
        amount = np.round(np.exp(log_amount), 2)
        amount[rng.random(n) < 0.006] = 0.0  # a few zero-amount verification charges
        amount = np.minimum(amount, 25_691.16)

        out: dict[str, np.ndarray] = {"Time": time}
        for j in range(28):
            out[f"V{j + 1}"] = np.ascontiguousarray(v[:, j])
        out["Amount"] = amount
        out["Class"] = label
        return out


def _empty(kind: str) -> pd.DataFrame:
    columns = LOAN_COLUMNS if kind == "loan" else FRAUD_COLUMNS
    floats = {"CCAvg", "Time", "Amount", *FRAUD_COLUMNS[1:29]}
    return pd.DataFrame(
        {c: np.zeros(0, dtype=np.float64 if c in floats else np.int64) for c in columns}
    )


def iter_table_chunks(
    kind: str, rows: int, seed: int = 0, chunk_rows: int = 1_000_000
) -> Iterator[pd.DataFrame]:
    """Yield a synthetic table in frames of ``chunk_rows`` rows (the last may be shorter).

    ``ID`` (loan) and ``Time`` (fraud) run on across chunks, and the concatenation is
    identical to ``make_table(kind, rows, seed)`` for any ``chunk_rows``.
    """
    _check_args(kind, rows, seed)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise UptakeInputError(f"chunk_rows must be a whole number >= 1, got {chunk_rows!r}")
    return _iter_chunks(kind, int(rows), int(seed), int(chunk_rows))


def _iter_chunks(kind: str, rows: int, seed: int, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if rows == 0:
        yield _empty(kind)
        return
    plan = _Plan(kind, rows, seed)
    buffer: dict[str, np.ndarray] = {}
    offset = size = 0
    for index in range(-(-rows // BLOCK_ROWS)):
        block = plan.block(index)
        if offset < size:  # carry the rows left over from the previous block
            block = {c: np.concatenate([buffer[c][offset:], a]) for c, a in block.items()}
        buffer, offset = block, 0
        size = len(next(iter(buffer.values())))
        while size - offset >= chunk_rows:
            yield pd.DataFrame({c: a[offset : offset + chunk_rows] for c, a in buffer.items()})
            offset += chunk_rows
    if offset < size:
        yield pd.DataFrame({c: a[offset:] for c, a in buffer.items()})


def _make(kind: str, rows: int, seed: int) -> pd.DataFrame:
    _check_args(kind, rows, seed)
    rows, seed = int(rows), int(seed)
    if rows == 0:
        return _empty(kind)
    plan = _Plan(kind, rows, seed)
    out: dict[str, np.ndarray] | None = None
    for index in range(-(-rows // BLOCK_ROWS)):
        block = plan.block(index)
        if out is None:  # preallocate once: no concat, so peak memory stays ~1x the frame
            out = {c: np.empty(rows, dtype=a.dtype) for c, a in block.items()}
        start = index * BLOCK_ROWS
        for c, a in block.items():
            out[c][start : start + len(a)] = a
    assert out is not None
    return pd.DataFrame(out, copy=False)


def make_loan(rows: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic bank-customer table shaped like the personal-loan data (~9.6% ``Personal Loan``)."""
    return _make("loan", rows, seed)


def make_fraud(rows: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic card-transaction table shaped like the Kaggle fraud data (0.17% ``Class``)."""
    return _make("fraud", rows, seed)


def make_table(kind: str, rows: int, seed: int = 0) -> pd.DataFrame:
    """``make_loan`` or ``make_fraud`` by name; any other ``kind`` is an ``UptakeInputError``."""
    _check_args(kind, rows, seed)
    return make_loan(rows, seed) if kind == "loan" else make_fraud(rows, seed)


# ------------------------------------------------------------------------- writing
_WRITERS = (".csv", ".parquet", ".xlsx")


def _temp_path(path: Path) -> Path:
    """Create (exclusively, honouring the umask) a hidden temp file beside ``path``."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        os.close(fd)
        return tmp


def _frames(data: pd.DataFrame | Iterable[pd.DataFrame], path: Path) -> Iterator[pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        yield data
        return
    for frame in data:
        if not isinstance(frame, pd.DataFrame):
            raise UptakeInputError(
                f"cannot write file '{path}': expected DataFrame chunks, got {type(frame).__name__}"
            )
        yield frame


def _write_csv(frames: Iterator[pd.DataFrame], tmp: Path) -> int:
    written = 0
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        for i, frame in enumerate(frames):
            frame.to_csv(handle, index=False, header=i == 0, lineterminator="\n")
            written += 1
    return written


def _write_parquet(frames: Iterator[pd.DataFrame], tmp: Path, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    written = 0
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            elif not table.schema.equals(writer.schema):
                raise UptakeInputError(
                    f"cannot write file '{path}': chunk {written + 1} has different columns "
                    "or types from the first"
                )
            writer.write_table(table)
            written += 1
    finally:
        if writer is not None:
            writer.close()
    return written


def _write_xlsx(frames: Iterator[pd.DataFrame], tmp: Path, path: Path) -> int:
    parts = list(frames)
    if not parts:
        return 0
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(frame) > XLSX_MAX_ROWS:
        raise UptakeInputError(
            f"cannot write file '{path}': {len(frame)} rows is more than an Excel sheet holds "
            f"({XLSX_MAX_ROWS}); use .csv or .parquet"
        )
    frame.to_excel(tmp, sheet_name="Data", index=False, engine="openpyxl")
    return len(parts)


def write_table(data: pd.DataFrame | Iterable[pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Write a frame, or an iterator of frames, to .csv / .parquet / .xlsx (sheet "Data").

    The file appears only when complete: rows go to a hidden temp file in the same
    directory, which replaces ``path`` at the end; on any failure it is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _WRITERS:
        raise UptakeInputError(
            f"cannot write file '{path}': unknown extension '{path.suffix}'; "
            "use .csv, .parquet or .xlsx"
        )
    if not path.parent.is_dir():
        raise UptakeInputError(f"cannot write file '{path}': directory '{path.parent}' does not exist")
    frames = _frames(data, path)
    tmp = _temp_path(path)
    try:
        if suffix == ".csv":
            written = _write_csv(frames, tmp)
        elif suffix == ".parquet":
            written = _write_parquet(frames, tmp, path)
        else:
            written = _write_xlsx(frames, tmp, path)
        if written == 0:
            raise UptakeInputError(f"cannot write file '{path}': no tables to write")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
