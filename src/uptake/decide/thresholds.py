"""Choosing the decision threshold by what the business wants: one object per rule.

A probability becomes "call this customer" at a threshold, and which threshold is
right depends on the campaign, not on the model: find 90% of the acceptors
(:class:`MinRecall`), waste few calls (:class:`MinPrecision`), earn the most when
each call costs ``contact_cost`` and each accepted loan is worth ``accept_value``
(:class:`MaxProfit`: profit = accept_value * TP - contact_cost * (TP + FP)), or a
fixed cut (:class:`Fixed`). :class:`MaxF1` is the default when nobody has said.
Every path that chooses a threshold (train, train-stream, compare, tune-threshold)
builds its rule with :func:`rule_from_options` from the same options, and every
path that shows one words it with the rule's own ``wording``.

Every rule is solved exactly on held-out (validation) predictions: all distinct
scores are candidate cuts, the counts at each come from scikit-learn's
``roc_curve``, and the chosen cut sits midway to the next lower score so it does not
rest on one customer's probability. This is what scikit-learn's
``TunedThresholdClassifierCV`` does for a custom scorer, minus its refitting: our
models are already fitted (with early stopping on the same validation rows).
Adding a rule is one class here and one entry in :data:`RULES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from uptake.decide.metrics import metrics
from uptake.decide.money import check_amount, finite, profit
from uptake.errors import UptakeInputError


# ---- the sweep ---------------------------------------------------------------------------
def counts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores (descending, led by +inf = call nobody) and TP/FP when calling ``p >= score``."""
    fpr, tpr, scores = roc_curve(y, p, drop_intermediate=False)
    positives = int(y.sum())
    tp = np.rint(tpr * positives).astype(np.int64)
    fp = np.rint(fpr * (len(y) - positives)).astype(np.int64)
    return scores, tp, fp


def cut_at(scores: np.ndarray, i: int) -> float:
    """A threshold that calls exactly the rows with ``p >= scores[i]``, placed midway to the next score."""
    hi = float(scores[i])
    if i + 1 >= len(scores):
        return hi
    lo = float(scores[i + 1])
    if math.isinf(hi):  # call nobody: just above the highest score
        mid = (1.0 + lo) / 2 if lo < 1.0 else float(np.nextafter(lo, np.inf))
        return mid if mid > lo else float(np.nextafter(lo, np.inf))
    mid = (hi + lo) / 2
    return mid if lo < mid <= hi else hi


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut that maximises F1, midway between neighbouring distinct scores."""
    precision, recall, thresholds = precision_recall_curve(y, p)
    if len(thresholds) == 0:
        return 0.5
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)[:-1]
    i = int(np.argmax(f1))
    cut = thresholds[i]
    if i > 0:
        mid = (thresholds[i] + thresholds[i - 1]) / 2
        cut = mid if mid > thresholds[i - 1] else cut  # neighbours one float apart have no midpoint
    # No lower clamp: when calling everyone is best and the lowest score is 0.0, a cut
    # above 0 would call no one (a decision calls p at or above the cut).
    return float(min(max(cut, 0.0), 1.0))


def expected(
    y: np.ndarray, p: np.ndarray, threshold: float, contact_cost: float | None = None, accept_value: float | None = None
) -> dict[str, Any]:
    """The counts and rates at ``threshold`` on these rows, plus money when costs are known."""
    m = metrics(y, p, threshold)
    calls = m["tp"] + m["fp"]
    out: dict[str, Any] = {
        "threshold": float(threshold),
        "rows": m["n"],
        "positives": m["positives"],
        "calls": calls,
        "call_share": calls / m["n"] if m["n"] else 0.0,
        **{k: m[k] for k in ("tp", "fp", "fn", "precision", "recall", "f1")},
    }
    if contact_cost is not None and accept_value is not None:
        money = float(profit(m["tp"], m["fp"], contact_cost, accept_value))
        everyone = float(profit(m["positives"], m["n"] - m["positives"], contact_cost, accept_value))
        out.update(
            contact_cost=float(contact_cost),
            accept_value=float(accept_value),
            profit=money,
            profit_per_customer=money / m["n"] if m["n"] else 0.0,
            profit_if_calling_everyone=everyone,
        )
    return out


# ---- the rules -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A way to choose the threshold. Money, when given with any rule, adds profit to the figures."""

    name: ClassVar[str]
    contact_cost: float | None = field(default=None, kw_only=True)
    accept_value: float | None = field(default=None, kw_only=True)

    @property
    def has_money(self) -> bool:
        return self.contact_cost is not None and self.accept_value is not None

    def choose(self, y: Any, p: Any, data: str = "validation") -> Choice:
        """The threshold this rule picks on labels ``y`` and probabilities ``p`` (``data`` names the rows)."""
        y = np.asarray(y).astype(int).reshape(-1)
        p = np.asarray(p, dtype=np.float64).reshape(-1)
        threshold = self.pick(y, p, data)
        return Choice(float(threshold), self, expected(y, p, threshold, self.contact_cost, self.accept_value))

    def pick(self, y: np.ndarray, p: np.ndarray, data: str) -> float:
        raise NotImplementedError

    def wording(self) -> str:
        """The rule in a few words, as every command and the report say it."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.name, **self.params()}
        if self.has_money:
            out.update(contact_cost=self.contact_cost, accept_value=self.accept_value)
        return out

    @staticmethod
    def both_outcomes(y: np.ndarray, data: str) -> int:
        positives = int(y.sum())
        if positives == 0 or positives == len(y):
            raise UptakeInputError(
                f"{data}: needs both outcomes to choose a threshold, has {positives} positives of {len(y)}"
            )
        return positives


@dataclass(frozen=True)
class MaxF1(Rule):
    name: ClassVar[str] = "max-f1"

    def pick(self, y: np.ndarray, p: np.ndarray, data: str) -> float:
        self.both_outcomes(y, data)
        return best_f1_threshold(y, p)

    def wording(self) -> str:
        return "maximum F1"


@dataclass(frozen=True)
class MinRecall(Rule):
    target: float = 0.9
    name: ClassVar[str] = "min-recall"

    def pick(self, y: np.ndarray, p: np.ndarray, data: str) -> float:
        positives = self.both_outcomes(y, data)
        scores, tp, _ = counts(y, p)
        i = int(np.flatnonzero(tp >= self.target * positives - 1e-9)[0])  # highest cut finding enough: fewest calls
        return cut_at(scores, i)

    def wording(self) -> str:
        return f"recall at least {self.target:g}"

    def params(self) -> dict[str, Any]:
        return {"min_recall": self.target}


@dataclass(frozen=True)
class MinPrecision(Rule):
    target: float = 0.5
    name: ClassVar[str] = "min-precision"

    def pick(self, y: np.ndarray, p: np.ndarray, data: str) -> float:
        self.both_outcomes(y, data)
        scores, tp, fp = counts(y, p)
        called = tp + fp
        precision = np.divide(tp, called, out=np.zeros(len(tp)), where=called > 0)
        ok = np.flatnonzero((called > 0) & (precision >= self.target - 1e-12))
        if len(ok) == 0:
            raise UptakeInputError(
                f"--min-precision {self.target:g}: no threshold reaches it on {data} "
                f"(the best precision there is {precision[called > 0].max():.3f})"
            )
        return cut_at(scores, int(ok[-1]))  # lowest cut with that precision: most acceptors found

    def wording(self) -> str:
        return f"precision at least {self.target:g}"

    def params(self) -> dict[str, Any]:
        return {"min_precision": self.target}


@dataclass(frozen=True)
class MaxProfit(Rule):
    name: ClassVar[str] = "max-profit"

    def pick(self, y: np.ndarray, p: np.ndarray, data: str) -> float:
        self.both_outcomes(y, data)
        scores, tp, fp = counts(y, p)
        return cut_at(scores, int(np.argmax(profit(tp, fp, self.contact_cost, self.accept_value))))  # ties: fewer calls

    def wording(self) -> str:
        if self.has_money:
            return f"maximum profit (call {self.contact_cost:g}, accepted offer {self.accept_value:g})"
        return "maximum profit"


@dataclass(frozen=True)
class Fixed(Rule):
    value: float = 0.5
    name: ClassVar[str] = "fixed"

    def pick(self, y: np.ndarray, p: np.ndarray, data: str) -> float:
        return self.value

    def wording(self) -> str:
        return "fixed by the user"

    def params(self) -> dict[str, Any]:
        return {"value": self.value}


#: rule name -> class: the one list of threshold rules.
RULES: dict[str, type[Rule]] = {cls.name: cls for cls in (MaxF1, MinRecall, MinPrecision, MaxProfit, Fixed)}


@dataclass(frozen=True)
class Choice:
    """A chosen threshold and what it is expected to do on the rows it was chosen on."""

    threshold: float
    rule: Rule
    expected: dict[str, Any]

    def to_dict(self, chosen_on: str = "validation") -> dict[str, Any]:
        """The ``threshold_rule`` entry of a model card."""
        return {**self.rule.to_dict(), "chosen_on": chosen_on, "expected": self.expected}


# ---- building rules ------------------------------------------------------------------------
def _share(name: str, v: float) -> float:
    if not finite(v) or not 0.0 < v <= 1.0:
        raise UptakeInputError(f"{name} {v}: must be in (0, 1]")
    return float(v)


def rule_from_options(
    threshold: float | None = None,
    min_recall: float | None = None,
    min_precision: float | None = None,
    contact_cost: float | None = None,
    accept_value: float | None = None,
) -> Rule:
    """The rule the CLI options ask for; bad or conflicting options fail here, before any training."""
    given = [
        n
        for n, v in (("--threshold", threshold), ("--min-recall", min_recall), ("--min-precision", min_precision))
        if v is not None
    ]
    if len(given) > 1:
        raise UptakeInputError(f"{' and '.join(given)}: choose one threshold rule")
    if (contact_cost is None) != (accept_value is None):
        missing = "--accept-value" if accept_value is None else "--contact-cost"
        raise UptakeInputError(f"{missing}: profit needs both --contact-cost and --accept-value")
    money = {
        "contact_cost": check_amount("--contact-cost", contact_cost),
        "accept_value": check_amount("--accept-value", accept_value),
    }
    if threshold is not None:
        if not finite(threshold) or not 0.0 < threshold < 1.0:
            raise UptakeInputError(f"--threshold {threshold}: must be between 0 and 1")
        return Fixed(float(threshold), **money)
    if min_recall is not None:
        return MinRecall(_share("--min-recall", min_recall), **money)
    if min_precision is not None:
        return MinPrecision(_share("--min-precision", min_precision), **money)
    if contact_cost is not None:
        return MaxProfit(**money)
    return MaxF1()


def rule_from_dict(entry: dict[str, Any]) -> Rule:
    """The rule recorded in a model card's ``threshold_rule``."""
    name = entry.get("rule", "max-f1")
    cls = RULES.get(name)
    if cls is None:
        raise UptakeInputError(f"unknown threshold rule {name!r}; choose one of {', '.join(RULES)}")
    money = {"contact_cost": entry.get("contact_cost"), "accept_value": entry.get("accept_value")}
    if cls is MinRecall:
        return MinRecall(float(entry["min_recall"]), **money)
    if cls is MinPrecision:
        return MinPrecision(float(entry["min_precision"]), **money)
    if cls is Fixed:
        return Fixed(float(entry["value"]), **money)
    return cls(**money)


def describe(entry: dict[str, Any], threshold: float, positives: str = "acceptors") -> str:
    """One plain sentence about a stored ``threshold_rule``: the rule and what it is expected to do."""
    try:
        why = rule_from_dict(entry).wording()
    except (UptakeInputError, KeyError, TypeError, ValueError):
        why = str(entry.get("rule", "?"))
    text = f"Threshold {threshold:.4f} ({why}, chosen on {entry.get('chosen_on', 'validation')})"
    e = entry.get("expected")
    if e:
        text += (
            f": calls {e['calls']:,} of {e['rows']:,} ({e['call_share']:.1%}), finds {e['tp']:,} of "
            f"{e['positives']:,} {positives} (recall {e['recall']:.1%}, precision {e['precision']:.1%})"
        )
        if "profit" in e:
            text += (
                f", profit on these rows' outcomes {e['profit']:,.2f} "
                f"(calling everyone: {e['profit_if_calling_everyone']:,.2f})"
            )
    return text


__all__ = [
    "RULES",
    "Choice",
    "Fixed",
    "MaxF1",
    "MaxProfit",
    "MinPrecision",
    "MinRecall",
    "Rule",
    "best_f1_threshold",
    "counts",
    "cut_at",
    "describe",
    "expected",
    "rule_from_dict",
    "rule_from_options",
]
