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


def _architecture(hyper: dict[str, Any]) -> str:
    if "hidden" in hyper:
        members = hyper.get("n_models", 1)
        return (
            f"{len(hyper['hidden'])} hidden layers {hyper['hidden']}, dropout {hyper.get('dropout')}, "
            f"learning rate {hyper.get('learning_rate')}, batch {hyper.get('batch_size')}, "
            f"up to {hyper.get('epochs')} epochs" + (f", {members} members" if members and members > 1 else "")
        )
    return ", ".join(f"{k}={v}" for k, v in list(hyper.items())[:8]) or "-"


__all__ = ["model_card"]
