"""Choosing the decision threshold by what the business wants.

A probability becomes "call this customer" at a threshold, and which threshold is
right depends on the campaign, not on the model: find 90% of the acceptors
(minimum recall), waste few calls (minimum precision), or earn the most when each
call costs ``contact_cost`` and each accepted loan is worth ``accept_value``
(expected profit = accept_value * TP - contact_cost * (TP + FP)). F1 is the default
when nobody has said.

Every rule is solved exactly on held-out (validation) predictions: all distinct
scores are candidate cuts, the counts at each come from scikit-learn's
``roc_curve``, and the chosen cut sits midway to the next lower score so it does
not rest on one customer's probability. This is what scikit-learn's
``TunedThresholdClassifierCV`` does for a custom scorer, minus its refitting: our
models are already fitted (with early stopping on the same validation rows) and
the threshold must be chosen on predictions, not by re-running cross-validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from uptake.errors import UptakeInputError
from uptake.evaluate import best_f1_threshold, metrics

RULES = ("max-f1", "min-recall", "min-precision", "max-profit", "fixed")


@dataclass(frozen=True)
class ThresholdRule:
    """One way to choose the threshold, with its parameters validated.

    ``target`` is the recall or precision floor; ``value`` the fixed threshold.
    ``contact_cost``/``accept_value`` drive ``max-profit`` and, given with any other
    rule, add expected profit to the reported figures.
    """

    rule: str = "max-f1"
    target: float | None = None
    value: float | None = None
    contact_cost: float | None = None
    accept_value: float | None = None

    @classmethod
    def from_options(
        cls,
        threshold: float | None = None,
        min_recall: float | None = None,
        min_precision: float | None = None,
        contact_cost: float | None = None,
        accept_value: float | None = None,
    ) -> ThresholdRule:
        """The rule the CLI options ask for; bad or conflicting options fail here, before any training."""
        given = [n for n, v in (("--threshold", threshold), ("--min-recall", min_recall),
                                ("--min-precision", min_precision)) if v is not None]
        if len(given) > 1:
            raise UptakeInputError(f"{' and '.join(given)}: choose one threshold rule")
        if (contact_cost is None) != (accept_value is None):
            missing = "--accept-value" if accept_value is None else "--contact-cost"
            raise UptakeInputError(f"{missing}: profit needs both --contact-cost and --accept-value")
        _positive("--contact-cost", contact_cost)
        _positive("--accept-value", accept_value)
        money = {"contact_cost": _num(contact_cost), "accept_value": _num(accept_value)}
        if threshold is not None:
            if not _finite(threshold) or not 0.0 < threshold < 1.0:
                raise UptakeInputError(f"--threshold {threshold}: must be between 0 and 1")
            return cls("fixed", value=float(threshold), **money)
        if min_recall is not None:
            return cls("min-recall", target=_share("--min-recall", min_recall), **money)
        if min_precision is not None:
            return cls("min-precision", target=_share("--min-precision", min_precision), **money)
        if contact_cost is not None:
            return cls("max-profit", **money)
        return cls("max-f1")

    @property
    def has_money(self) -> bool:
        return self.contact_cost is not None and self.accept_value is not None

    def choose(self, y: Any, p: Any, data: str = "validation") -> Choice:
        """The threshold this rule picks on labels ``y`` and probabilities ``p``.

        ``data`` names the rows in error messages (e.g. "validation" or a file).
        """
        y = np.asarray(y).astype(int).reshape(-1)
        p = np.asarray(p, dtype=np.float64).reshape(-1)
        if self.rule == "fixed":
            assert self.value is not None
            return self._choice(y, p, self.value)
        positives = int(y.sum())
        if positives == 0 or positives == len(y):
            raise UptakeInputError(f"{data}: needs both outcomes to choose a threshold, has {positives} positives of {len(y)}")
        if self.rule == "max-f1":
            return self._choice(y, p, best_f1_threshold(y, p))
        scores, tp, fp = counts(y, p)
        if self.rule == "min-recall":
            assert self.target is not None
            ok = np.flatnonzero(tp >= self.target * positives - 1e-9)
            i = int(ok[0])  # highest cut that still finds enough acceptors: fewest calls
        elif self.rule == "min-precision":
            assert self.target is not None
            called = tp + fp
            precision = np.divide(tp, called, out=np.zeros(len(tp)), where=called > 0)
            ok = np.flatnonzero((called > 0) & (precision >= self.target - 1e-12))
            if len(ok) == 0:
                raise UptakeInputError(
                    f"--min-precision {self.target:g}: no threshold reaches it on {data} "
                    f"(the best precision there is {precision[called > 0].max():.3f})"
                )
            i = int(ok[-1])  # lowest cut with that precision: most acceptors found
        elif self.rule == "max-profit":
            i = int(np.argmax(profit(tp, fp, self.contact_cost, self.accept_value)))  # ties: fewer calls
        else:  # pragma: no cover - from_options only builds known rules
            raise UptakeInputError(f"unknown threshold rule {self.rule!r}; choose one of {', '.join(RULES)}")
        return self._choice(y, p, cut_at(scores, i))

    def _choice(self, y: np.ndarray, p: np.ndarray, threshold: float) -> Choice:
        return Choice(float(threshold), self, expected(y, p, threshold, self.contact_cost, self.accept_value))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule}
        if self.rule == "fixed":
            out["value"] = self.value
        if self.rule == "min-recall":
            out["min_recall"] = self.target
        if self.rule == "min-precision":
            out["min_precision"] = self.target
        if self.has_money:
            out["contact_cost"] = self.contact_cost
            out["accept_value"] = self.accept_value
        return out


@dataclass(frozen=True)
class Choice:
    """A chosen threshold and what it is expected to do on the rows it was chosen on."""

    threshold: float
    rule: ThresholdRule
    expected: dict[str, Any]

    def to_dict(self, chosen_on: str = "validation") -> dict[str, Any]:
        """The ``threshold_rule`` entry of a model's metadata."""
        return {**self.rule.to_dict(), "chosen_on": chosen_on, "expected": self.expected}


# ---- the sweep ---------------------------------------------------------------------------
def counts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores (descending, led by +inf = call nobody) and TP/FP when calling ``p >= score``."""
    fpr, tpr, scores = roc_curve(y, p, drop_intermediate=False)
    positives = int(y.sum())
    tp = np.rint(tpr * positives).astype(np.int64)
    fp = np.rint(fpr * (len(y) - positives)).astype(np.int64)
    return scores, tp, fp


def profit(tp: Any, fp: Any, contact_cost: float | None, accept_value: float | None) -> np.ndarray:
    """Expected money: every call costs, every acceptor found pays."""
    tp, fp = np.asarray(tp, dtype=np.float64), np.asarray(fp, dtype=np.float64)
    return float(accept_value) * tp - float(contact_cost) * (tp + fp)


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


def expected(y: np.ndarray, p: np.ndarray, threshold: float,
             contact_cost: float | None = None, accept_value: float | None = None) -> dict[str, Any]:
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


# ---- option checks -------------------------------------------------------------------------
def _finite(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v: float | None) -> float | None:
    return None if v is None else float(v)


def _positive(name: str, v: float | None) -> None:
    if v is not None and (not _finite(v) or v <= 0):
        raise UptakeInputError(f"{name} {v}: must be a positive amount of money")


def _share(name: str, v: float) -> float:
    if not _finite(v) or not 0.0 < v <= 1.0:
        raise UptakeInputError(f"{name} {v}: must be in (0, 1]")
    return float(v)


# ---- re-tuning a saved model -------------------------------------------------------------------
def tune_model(model: Any, df: Any, rule: ThresholdRule, source: object | None = None,
               out: Any | None = None) -> dict[str, Any]:
    """Re-choose a saved model's threshold on labelled rows and store it in its metadata.

    ``out=None`` (or the model's own directory) rewrites ``metadata.json`` in place,
    atomically; another ``out`` gets a copy of the model with the new threshold,
    swapped in whole like a freshly trained one. Returns the new ``threshold_rule``.
    """
    from pathlib import Path

    from uptake.artifact import METADATA, write_json_atomic
    from uptake.data import encode_target, file_sha256
    from uptake.predict import Model

    m = Model.load(model)
    target = m.schema.target
    if target not in df.columns:
        raise UptakeInputError(f"file '{source}', column '{target}': target column is missing; tuning needs labels")
    y, _, _ = encode_target(df[target], m.schema.positive_label, source, int(df.attrs.get("row_offset", 1)))
    scored = m.score(df, source=source)
    choice = rule.choose(y, scored.probability, data=f"file '{source}'")
    sha = file_sha256(source) if source is not None and Path(source).exists() else None
    entry = choice.to_dict(chosen_on=f"file '{source}'" if source is not None else "given rows")
    entry["data_sha256"] = sha
    if sha is not None and sha == (m.metadata.get("data") or {}).get("sha256"):
        entry["warning"] = "tuned on the training file: the expected figures are optimistic"
    meta = {**m.metadata, "threshold": choice.threshold, "threshold_rule": entry,
            "previous_threshold_rule": {"threshold": m.threshold, **(m.metadata.get("threshold_rule") or {})}}
    meta["previous_threshold_rule"].pop("expected", None)
    dest = Path(out) if out is not None else m.path
    if dest.resolve() == m.path.resolve():
        write_json_atomic(m.path / METADATA, meta)
    else:
        _copy_model(m.path, dest, meta)
    return entry


def _copy_model(src: Any, dest: Any, meta: dict[str, Any]) -> None:
    """A copy of the model directory with new metadata, swapped in atomically."""
    import json
    import shutil
    from pathlib import Path

    from uptake.artifact import HISTORY, METADATA, save_model_dir

    src = Path(src)

    def parts(tmp: Path) -> None:
        for item in src.iterdir():
            if item.name in (METADATA, HISTORY):
                continue
            if item.is_dir():
                shutil.copytree(item, tmp / item.name)
            else:
                shutil.copy2(item, tmp / item.name)

    history_path = src / HISTORY
    history = json.loads(history_path.read_text()) if history_path.exists() else None
    body = {k: v for k, v in meta.items() if k != "format"}
    save_model_dir(Path(dest), body, history, parts)




def describe_threshold_rule(entry: dict[str, Any], threshold: float) -> str:
    """One plain sentence about a stored ``threshold_rule``: the rule and what it is expected to do."""
    rule = entry.get("rule", "?")
    why = {
        "max-f1": "maximum F1",
        "min-recall": f"recall at least {entry.get('min_recall')}",
        "min-precision": f"precision at least {entry.get('min_precision')}",
        "max-profit": f"maximum expected profit (call {entry.get('contact_cost'):g}, accepted offer {entry.get('accept_value'):g})"
        if entry.get("contact_cost") is not None else "maximum expected profit",
        "fixed": "fixed by the user",
    }.get(rule, rule)
    text = f"Threshold {threshold:.4f} ({why}, chosen on {entry.get('chosen_on', 'validation')})"
    e = entry.get("expected")
    if e:
        text += (f": calls {e['calls']:,} of {e['rows']:,} ({e['call_share']:.1%}), finds {e['tp']:,} of "
                 f"{e['positives']:,} acceptors (recall {e['recall']:.1%}, precision {e['precision']:.1%})")
        if "profit" in e:
            text += f", expected profit {e['profit']:,.2f} (calling everyone: {e['profit_if_calling_everyone']:,.2f})"
    return text


__all__ = ["RULES", "Choice", "ThresholdRule", "counts", "cut_at", "describe_threshold_rule", "expected", "profit",
           "tune_model"]
