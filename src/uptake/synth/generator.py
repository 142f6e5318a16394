"""The synthetic tables' generators: fixed random streams per block, the real tables' shapes.

See ``uptake.synth`` for why these tables exist and what they look like.
"""

from __future__ import annotations

import numpy as np

from uptake.errors import UptakeInputError

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

#: Monthly card spend relative to its income-driven mean: 21 quantiles (0%, 5%, ..., 100%) of the
#: bank table's CCAvg / mean ratio, drawn by inverse CDF. A gamma(2.6) put too little mass near 0 and
#: the unshifted table drifted from the real one (CCAvg PSI 0.12); this keeps every column under 0.05.
_SPEND_Q = np.linspace(0.0, 1.0, 21)
_SPEND_RATIO = np.array(
    [
        0.0,
        0.101,
        0.189,
        0.3,
        0.398,
        0.489,
        0.592,
        0.704,
        0.801,
        0.894,
        0.981,
        1.083,
        1.181,
        1.276,
        1.366,
        1.468,
        1.582,
        1.701,
        1.837,
        2.022,
        2.793,
    ]
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def check_args(kind: str, rows: int, seed: int) -> None:
    if kind not in _KIND_CODE:
        raise UptakeInputError(f"unknown synthetic kind '{kind}': choose loan or fraud")
    for name, value in (("rows", rows), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise UptakeInputError(f"{name} must be a whole number >= 0, got {value!r}")


def _rng(seed: int, kind: str, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_KIND_CODE[kind], int(stream))))


def _draw_categories(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """1-based category per row from uniforms ``u`` and per-row probabilities (n, k)."""
    cum = np.cumsum(probs, axis=1)[:, :-1]
    return 1 + (u[:, None] >= cum).sum(axis=1)


class Plan:
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
                self.block_positives = rng.multivariate_hypergeometric(sizes, positives, method="marginals")
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
        income = np.floor(_INCOME_MIN + _INCOME_SPAN * rng.beta(_INCOME_A, _INCOME_B, size=n)).astype(np.int64)
        high = _sigmoid((income - 98.0) / 6.0)[:, None]  # soft "is a high earner"
        education = _draw_categories(rng.random(n), _EDU_LO + (_EDU_HI - _EDU_LO) * high)
        fam_hi = np.where((education == 1)[:, None], _FAM_HI_ED1, _FAM_HI_OTHER)
        family = _draw_categories(rng.random(n), _FAM_LO + (fam_hi - _FAM_LO) * high)
        high = high[:, 0]

        spend_mean = 0.5 + 0.012 * income + 0.00007 * income.astype(np.float64) ** 2
        spend = np.clip(spend_mean * np.interp(rng.random(n), _SPEND_Q, _SPEND_RATIO), 0.0, 10.0)
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

    def _fraud_block(self, rng: np.random.Generator, start: int, n: int, positives: int) -> dict[str, np.ndarray]:
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


__all__ = ["BLOCK_ROWS", "FRAUD_COLUMNS", "KINDS", "LOAN_COLUMNS", "XLSX_MAX_ROWS", "Plan", "check_args"]
