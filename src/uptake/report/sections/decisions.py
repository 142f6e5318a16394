"""The report's decision sections: decisions at the threshold, ranking curves, and campaign planning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from uptake import campaign as campaign_math
from uptake.decide.metrics import metrics
from uptake.decide.thresholds import rule_from_dict
from uptake.report import plots
from uptake.report.model import Context, Section, TableBlock, figure, new_section, pct


def rule_wording(rule: dict[str, Any]) -> str:
    """The stored rule in the words every command uses, and where it was chosen."""
    try:
        words = rule_from_dict(rule).wording()
    except (KeyError, TypeError, ValueError):
        words = f"rule: {rule.get('rule', 'unknown')}"
    return f"{words}, chosen on {rule.get('chosen_on', 'validation')}"


def decisions(ctx: Context) -> Section:
    s = new_section("decisions")
    thr = ctx.model.threshold
    rule = ctx.card.threshold_rule.entry()
    if ctx.labelled:
        p, y, _ = ctx.ev.part(ctx.ev.eval_name)
        r = metrics(y, p, thr)
        where_ = ctx.ev.eval_label
    else:
        r = ctx.card.metrics.test.model_dump()
        where_ = "the held-out test split at training time (stored in the model)"
    if not r:
        s.notes.append("No labelled results to show.")
        return s
    s.paragraphs.append(
        f"The model calls a customer when their probability is at least {thr:.3f} ({rule_wording(rule)}). "
        f"On {where_}: precision {pct(r['precision'])} (share of calls that reach one of the {ctx.positives}), recall "
        f"{pct(r['recall'])} (share of {ctx.positives} reached), F1 {r['f1']:.3f}."
    )
    s.tables.append(
        TableBlock(
            ["outcome", "customers", "meaning"],
            [
                [f"{ctx.positives} found", f"{r['tp']:,}", f"called, and they were {ctx.positives}"],
                [f"{ctx.positives} missed", f"{r['fn']:,}", f"not called, but they were {ctx.positives}"],
                ["wasted calls", f"{r['fp']:,}", f"called, but they were not {ctx.positives}"],
                ["correctly left alone", f"{r['tn']:,}", f"not called, and they were not {ctx.positives}"],
            ],
        )
    )
    s.figures.append(
        figure(
            "confusion_matrix",
            "Confusion matrix",
            plots.confusion(r["tp"], r["fp"], r["tn"], r["fn"], thr),
            "Rows: what customers did; columns: what the model decided.",
        )
    )
    return s


def roc_pr(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    fpr, tpr, _ = roc_curve(y, p)
    prec, rec, _ = precision_recall_curve(y, p)
    return {
        "fpr": fpr,
        "tpr": tpr,
        "precision": prec,
        "recall": rec,
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": average_precision_score(y, p),
        "base_rate": float(np.mean(y)),
    }


def ranking(ctx: Context) -> Section:
    s = new_section("ranking")
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    curves: dict[str, dict[str, Any]] = {}
    if ctx.ev.split is not None:
        for part in ("train", "test"):
            p, y, _ = ctx.ev.part(part)
            if len(np.unique(y)) == 2:
                curves[f"{part} ({len(y):,})"] = roc_pr(p, y)
        s.paragraphs.append(
            f"{Path(ctx.ev.source).name} is the training file, so its stored split is recomputed: "
            "train rows (solid) against the held-out test rows (dashed). A large gap means "
            "the model fits its training customers better than new ones."
        )
    else:
        curves[f"{Path(ctx.ev.source).name} ({len(ctx.ev.y):,})"] = roc_pr(ctx.ev.p, ctx.ev.y)
        s.paragraphs.append(
            f"{Path(ctx.ev.source).name} is not the file the model was trained on (or its "
            "fingerprint differs), so the curves show this file only: no train/test split applies."
        )
    s.paragraphs.append(
        "The precision-recall curve matters most with rare acceptors: it shows how much precision "
        "each extra acceptor found costs. The thin horizontal line is random calling."
    )
    s.figures.append(figure("roc_pr", "ROC and precision-recall curves", plots.roc_pr(curves)))
    return s


def campaign(ctx: Context) -> Section:
    s = new_section("campaign")
    if ctx.ev is None:
        s.notes.append("Needs customers to rank (--data).")
        return s
    name = ctx.ev.eval_name if ctx.labelled else "all"
    p, y, _ = ctx.ev.part(name)
    if not ctx.labelled:
        y = None
    c = campaign_math.curves(p, y)
    basis = "actual" if y is not None else "expected"
    pc = campaign_math.profit_curve(p, ctx.cost, ctx.value, y)
    where_ = ctx.ev.eval_label if y is not None else f"all {len(p):,} customers (expected figures: no labels)"
    s.paragraphs.append(
        f"Customers ranked best first, on {where_}. Money figures assume {ctx.cost:g} per call and {ctx.value:g} "
        "per accepted offer (set with --contact-cost and --accept-value)."
    )
    s.paragraphs.append(campaign_math.reach_sentence(p, y, 0.10, ctx.positives))
    s.figures.append(
        figure(
            "gains_lift",
            "Gains and lift",
            plots.gains_lift(c.share, c.gain, basis),
            f"Left: share of {ctx.positives} reached by calling the top x%. Right: how many times "
            "better than calling at random.",
        )
    )
    s.figures.append(
        figure(
            "profit",
            "Profit curve",
            plots.profit(pc.share, pc.profit, pc.best_share, pc.best_profit, basis, ctx.cost, ctx.value),
            f"Profit is highest at {pc.best_share:.1%} contacted ({pc.best_contacts:,} customers): "
            f"{pc.best_profit:,.0f}.",
        )
    )
    d = campaign_math.decile_table(p, y, ctx.cost, ctx.value)
    headers = ["decile", "customers", f"expected {ctx.positives}"]
    if y is not None:
        headers += [f"actual {ctx.positives}", "precision", "cumulative recall", "cumulative profit"]
    else:
        headers += ["expected cumulative recall", "expected cumulative profit"]
    rows = []
    for r in d.to_dict(orient="records"):
        row = [str(r["decile"]), f"{r['customers']:,}", f"{r['expected_acceptances']:.1f}"]
        if y is not None:
            row += [
                f"{r['actual_acceptances']:,}",
                pct(r["precision"]),
                pct(r["cumulative_recall"]),
                f"{r['cumulative_profit']:,.0f}",
            ]
        else:
            row += [pct(r["expected_cumulative_recall"]), f"{r['expected_cumulative_profit']:,.0f}"]
        rows.append(row)
    s.tables.append(TableBlock(headers, rows, "Decile table (decile 1 = the 10% the model ranks highest)"))
    return s


__all__ = ["campaign", "decisions", "ranking", "roc_pr", "rule_wording"]
