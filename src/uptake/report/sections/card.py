"""The report's model card: everything a model-risk reviewer asks first, from the typed card."""

from __future__ import annotations

from typing import Any

from uptake.report.model import Context, Section, TableBlock, new_section, num
from uptake.report.sections.decisions import rule_wording


def model_card(ctx: Context) -> Section:
    s = new_section("model-card")
    card = ctx.card
    d, imb, test = card.data, card.imbalance, card.metrics.test
    rule = card.threshold_rule.entry()
    rows = [
        ["model type", card.model_type],
        ["preset", str(card.preset or "-")],
        ["architecture", _architecture(card.hyperparameters)],
        [
            "imbalance strategy",
            f"{imb.strategy or 'none'}"
            + (
                f" (class weights: {imb.class_weight_formula})"
                if imb.class_weight_formula and imb.strategy == "class-weight"
                else ""
            )
            + (", initial bias log(pos/neg)" if imb.initial_bias else ""),
        ],
        ["threshold", f"{ctx.model.threshold:.4f}"],
        ["threshold rule", rule_wording(rule) + f" [{card.threshold_rule.rule}]"],
        ["calibration", card.calibration.method if card.calibration else "none"],
        ["training data", str(d.file or "embedded synthetic table")],
        ["data fingerprint (SHA-256)", str(d.sha256 or "-")],
        ["rows / positives", f"{d.rows:,} / {d.positives:,}"],
        ["split", ", ".join(f"{k} {v:,}" for k, v in d.split_rows.items())],
        ["seed", str(card.seed)],
        ["test PR-AUC / ROC-AUC", f"{num(test.pr_auc)} / {num(test.roc_auc)}"],
        ["fit seconds", num(card.fit_seconds, 1)],
        ["created", card.created],
        ["version", card.version],
        ["model directory", str(ctx.model.path)],
        ["software", ", ".join(f"{k} {v}" for k, v in card.versions.items())],
    ]
    s.tables.append(TableBlock(["", ""], rows))
    return s


def _combination(hyper: dict[str, Any]) -> str:
    """``auto``: the combiner actually served and every member in it, then what was skipped."""
    members = hyper["members"]
    if hyper.get("combiner") == "stacker":
        parts = [f"{m['name']} ({m['family']}) {m['coefficient']:+.3f}" for m in members]
        text = f"logistic stacker on {len(members)} members' log-odds ({hyper.get('folds')} folds): " + ", ".join(parts)
        if any((m.get("coefficient") or 0) < 0 for m in members):
            text += (
                "; a negative coefficient discounts a member once the others are known (members agree "
                "closely, and the stacker weighs their differences), it does not mean the member ranks backwards"
            )
    else:
        parts = [f"{m['name']} ({m['family']}) weight {m['weight']:.3f}" for m in members if m.get("weight")]
        text = f"weighted mean of {len(parts)} members' probabilities (greedy selection): " + ", ".join(parts)
    if hyper.get("skipped"):
        text += ". Not in the model: " + "; ".join(hyper["skipped"])
    return text


def _architecture(hyper: dict[str, Any]) -> str:
    if "members" in hyper:
        return _combination(hyper)
    if "hidden" in hyper:
        members = hyper.get("n_models", 1)
        return (
            f"{len(hyper['hidden'])} hidden layers {hyper['hidden']}, dropout {hyper.get('dropout')}, "
            f"learning rate {hyper.get('learning_rate')}, batch {hyper.get('batch_size')}, "
            f"up to {hyper.get('epochs')} epochs" + (f", {members} members" if members and members > 1 else "")
        )
    return ", ".join(f"{k}={v}" for k, v in list(hyper.items())[:8]) or "-"


__all__ = ["model_card"]
