"""Campaign planning: whom to call, how many, and what that earns.

A model's ranking only becomes a decision once it meets two numbers from the
business: what one contact costs and what one accepted offer is worth. Everything
here works on the scores alone (expected figures: the sum of probabilities is the
expected number of acceptors) and adds the actual figures when labels exist, so
the same functions plan a campaign on new customers and audit one on old ones.

Ranking is always best-first with ties in input order, as ``uptake.decide.rank_desc``,
so the decile table, the gains curve and the contact list agree row for row.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from uptake.decide.money import check_money
from uptake.errors import UptakeInputError

N_DECILES = 10


# ---- the business inputs ----------------------------------------------------------------
def parse_top(text: str | float) -> float:
    """``"10%"``, ``"10"`` or ``10.0`` -> the share 0.10; anything outside (0, 100] is refused."""
    raw = str(text).strip()
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*%?", raw)
    if not m:
        raise UptakeInputError(f"--top {raw!r}: write a percentage such as 10%")
    pct = float(m.group(1))
    if not 0.0 < pct <= 100.0:
        raise UptakeInputError(f"--top {raw!r}: must be more than 0% and at most 100%")
    return pct / 100.0


def contacts_for(n: int, contact_cost: float, budget: float | None = None, top: float | None = None) -> int:
    """How many customers to call: from a money budget (floor(budget / cost)) or a top share.

    A budget that pays for more calls than there are customers is refused rather than
    silently capped: the analyst has misjudged the list or the budget, and should know.
    """
    if budget is not None and top is not None:
        raise UptakeInputError("--budget and --top: give one of them, not both")
    if budget is not None:
        if not math.isfinite(float(budget)) or budget <= 0:
            raise UptakeInputError(f"--budget {budget}: must be a positive amount of money")
        calls = float(budget) / float(contact_cost)
        if calls < 1 - 1e-9:
            raise UptakeInputError(f"--budget {budget:g}: pays for no call at {contact_cost:g} per contact")
        if calls > n + 1e-9:
            # said in the customers' terms: a budget that pays for 1e297 calls is a typo, not a number to print
            raise UptakeInputError(
                f"--budget {budget:g}: pays for more calls than the list's {n:,} customers at {contact_cost:g} each "
                f"(calling all of them costs {n * contact_cost:g})"
            )
        return int(math.floor(calls + 1e-9))
    if top is not None:
        return max(1, int(math.ceil(top * n - 1e-9)))
    raise UptakeInputError("give --budget or --top (or neither, to contact the most profitable share)")


# ---- curves -------------------------------------------------------------------------------
def _order(p: np.ndarray) -> np.ndarray:
    return np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")


def _labels(y: np.ndarray | None, n: int) -> np.ndarray | None:
    if y is None:
        return None
    y = np.asarray(y).astype(np.int64)
    if len(y) != n:
        raise ValueError(f"{len(y)} labels for {n} scores")
    return y


@dataclass
class Curves:
    """Cumulative figures after contacting the top 1, 2, ..., n customers (index k-1)."""

    share: np.ndarray  # k / n
    expected: np.ndarray  # cumulative sum of probabilities
    actual: np.ndarray | None  # cumulative acceptors found (labels only)
    total_expected: float
    total_actual: int | None

    @property
    def gain(self) -> np.ndarray:
        """Share of all acceptors reached: actual when labels exist, else expected."""
        if self.actual is not None and self.total_actual:
            return self.actual / self.total_actual
        return self.expected / self.total_expected if self.total_expected > 0 else np.zeros_like(self.expected)

    @property
    def lift(self) -> np.ndarray:
        return self.gain / self.share


def _ranked(p: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, int, np.ndarray | None, np.ndarray]:
    """Probabilities as floats, their count, checked labels and the best-first order."""
    p = np.asarray(p, dtype=np.float64)
    n = len(p)
    if n == 0:
        raise UptakeInputError("no customers to rank")
    return p, n, _labels(y, n), _order(p)


def curves(p: np.ndarray, y: np.ndarray | None = None) -> Curves:
    """The cumulative gains behind every other figure in this module."""
    p, n, y, order = _ranked(p, y)
    k = np.arange(1, n + 1)
    expected = np.cumsum(p[order])
    actual = np.cumsum(y[order]) if y is not None else None
    return Curves(k / n, expected, actual, float(p.sum()), int(y.sum()) if y is not None else None)


def gains_by_decile(p: np.ndarray, y: np.ndarray | None = None) -> pd.DataFrame:
    """Cumulative gains and lift at 10%, 20%, ..., 100% contacted."""
    c = curves(p, y)
    n = len(c.share)
    rows = []
    for d in range(1, N_DECILES + 1):
        k = max(1, int(math.ceil(d * n / N_DECILES - 1e-9)))
        rows.append(
            {
                "share_contacted": d / N_DECILES,
                "customers": k,
                "gain": float(c.gain[k - 1]),
                "lift": float(c.lift[k - 1]),
            }
        )
    return pd.DataFrame(rows)


def profit(c: Curves, contact_cost: float, accept_value: float, actual: bool = False) -> np.ndarray:
    """Cumulative profit after each contact (index k-1): value of acceptances minus cost of calls."""
    k = np.arange(1, len(c.share) + 1)
    acc = c.actual if actual and c.actual is not None else c.expected
    return accept_value * acc - contact_cost * k


@dataclass
class ProfitCurve:
    share: np.ndarray  # 0, 1/n, ..., 1
    profit: np.ndarray  # same length, profit[0] == 0 (nobody called)
    best_contacts: int
    best_share: float
    best_profit: float
    basis: str  # "actual" (labels) or "expected" (probabilities)


def profit_curve(p: np.ndarray, contact_cost: float, accept_value: float, y: np.ndarray | None = None) -> ProfitCurve:
    """Profit over the share contacted, with its maximum (calling nobody earns 0).

    With labels the curve is what the campaign would actually have earned; without,
    it is the expectation under the model's probabilities (only as good as their
    calibration).
    """
    check_money(contact_cost, accept_value)
    c = curves(p, y)
    use_actual = c.actual is not None
    prof = np.concatenate([[0.0], profit(c, contact_cost, accept_value, actual=use_actual)])
    share = np.concatenate([[0.0], c.share])
    best = int(np.argmax(prof))
    return ProfitCurve(share, prof, best, float(share[best]), float(prof[best]), "actual" if use_actual else "expected")


def decile_table(p: np.ndarray, y: np.ndarray | None, contact_cost: float, accept_value: float) -> pd.DataFrame:
    """One row per tenth of the ranked list, best customers first.

    Columns: decile, customers, min/max probability, expected acceptances (sum of
    probabilities), cumulative expected recall, expected profit of the decile and
    cumulative; with labels also actual acceptances, precision, cumulative recall,
    actual profit and cumulative actual profit.
    """
    check_money(contact_cost, accept_value)
    p, _n, y, order = _ranked(p, y)
    groups = np.array_split(order, N_DECILES)
    total_p = float(p.sum())
    total_y = int(y.sum()) if y is not None else None
    rows: list[dict[str, Any]] = []
    cum_exp = cum_act = 0.0
    cum_profit_exp = cum_profit_act = 0.0
    for d, g in enumerate(groups, start=1):
        if len(g) == 0:
            continue
        exp = float(p[g].sum())
        cum_exp += exp
        prof_exp = accept_value * exp - contact_cost * len(g)
        cum_profit_exp += prof_exp
        row: dict[str, Any] = {
            "decile": d,
            "customers": len(g),
            "min_probability": float(p[g].min()),
            "max_probability": float(p[g].max()),
            "expected_acceptances": exp,
            "expected_cumulative_recall": cum_exp / total_p if total_p > 0 else 0.0,
            "expected_profit": prof_exp,
            "expected_cumulative_profit": cum_profit_exp,
        }
        if y is not None:
            act = int(y[g].sum())
            cum_act += act
            prof_act = accept_value * act - contact_cost * len(g)
            cum_profit_act += prof_act
            row.update(
                {
                    "actual_acceptances": act,
                    "precision": act / len(g),
                    "cumulative_recall": cum_act / total_y if total_y else 0.0,
                    "profit": prof_act,
                    "cumulative_profit": cum_profit_act,
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def reach_sentence(
    p: np.ndarray, y: np.ndarray | None = None, share: float = 0.10, positives: str = "acceptors"
) -> str:
    """'If we call the top 10% (500 customers), we reach 62% of the acceptors (...)'."""
    c = curves(p, y)
    n = len(c.share)
    k = max(1, int(math.ceil(share * n - 1e-9)))
    pct = f"{share * 100:g}%"
    if c.actual is not None and c.total_actual:
        found = int(c.actual[k - 1])
        return (
            f"If we call the top {pct} ({k:,} customers), we reach {found / c.total_actual:.0%} of the {positives} "
            f"({found:,} of {c.total_actual:,})."
        )
    exp = float(c.expected[k - 1])
    frac = exp / c.total_expected if c.total_expected > 0 else 0.0
    return (
        f"If we call the top {pct} ({k:,} customers), we expect to reach {frac:.0%} of the {positives} "
        f"(about {exp:,.0f} of an expected {c.total_expected:,.0f}; no labels, so from the model's probabilities)."
    )


def contact_list(frame: pd.DataFrame, contacts: int) -> pd.DataFrame:
    """The ``contacts`` best customers of a scored frame (``ScoringPipeline.frame``), best first."""
    if "rank" not in frame.columns:
        raise ValueError("contact_list needs a scored frame with a 'rank' column")
    return frame.sort_values("rank", kind="stable").head(int(contacts)).reset_index(drop=True)


# ---- the whole plan -------------------------------------------------------------------------
@dataclass
class Plan:
    deciles: pd.DataFrame
    gains: pd.DataFrame
    profit: ProfitCurve
    contacts: int
    contacts_rule: str
    sentence: str
    contact_cost: float
    accept_value: float
    has_labels: bool
    expected_at_contacts: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "contact_cost": self.contact_cost,
            "accept_value": self.accept_value,
            "has_labels": self.has_labels,
            "contacts": self.contacts,
            "contacts_rule": self.contacts_rule,
            "at_contacts": self.expected_at_contacts,
            "sentence": self.sentence,
            "best": {
                "contacts": self.profit.best_contacts,
                "share": self.profit.best_share,
                "profit": self.profit.best_profit,
                "basis": self.profit.basis,
            },
            "deciles": self.deciles.to_dict(orient="records"),
            "gains": self.gains.to_dict(orient="records"),
        }


def plan(
    p: np.ndarray,
    y: np.ndarray | None,
    contact_cost: float,
    accept_value: float,
    budget: float | None = None,
    top: float | None = None,
    positives: str = "acceptors",
) -> Plan:
    """Everything ``uptake plan`` prints: decile table, gains, profit curve and the list size.

    With neither ``budget`` nor ``top`` the list is the most profitable share.
    """
    check_money(contact_cost, accept_value)
    n = len(p)
    pc = profit_curve(p, contact_cost, accept_value, y)
    if budget is None and top is None:
        k, rule = max(pc.best_contacts, 0), f"most profitable share ({pc.basis} profit)"
    else:
        k = contacts_for(n, contact_cost, budget, top)
        rule = f"budget {budget:g} / {contact_cost:g} per contact" if budget is not None else f"top {top * 100:g}%"
    c = curves(p, y)
    at: dict[str, float] = {"cost": contact_cost * k}
    if k > 0:
        at["expected_acceptances"] = float(c.expected[k - 1])
        at["expected_profit"] = float(accept_value * c.expected[k - 1] - contact_cost * k)
        if c.actual is not None:
            at["actual_acceptances"] = float(c.actual[k - 1])
            at["actual_profit"] = float(accept_value * c.actual[k - 1] - contact_cost * k)
            at["recall"] = float(c.actual[k - 1] / c.total_actual) if c.total_actual else 0.0
    return Plan(
        deciles=decile_table(p, y, contact_cost, accept_value),
        gains=gains_by_decile(p, y),
        profit=pc,
        contacts=k,
        contacts_rule=rule,
        sentence=reach_sentence(p, y, 0.10, positives),
        contact_cost=float(contact_cost),
        accept_value=float(accept_value),
        has_labels=y is not None,
        expected_at_contacts=at,
    )


__all__ = [
    "Curves",
    "Plan",
    "ProfitCurve",
    "check_money",
    "contact_list",
    "contacts_for",
    "curves",
    "decile_table",
    "gains_by_decile",
    "parse_top",
    "plan",
    "profit",
    "profit_curve",
    "reach_sentence",
]
