"""The report's opening sections: summary, the data, who accepts, and how the model learned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from uptake.campaign import profit_curve, reach_sentence
from uptake.decide.metrics import metrics
from uptake.report import plots
from uptake.report.model import SEED_PLOTS, Context, Section, TableBlock, figure, new_section, num, pct


def summary(ctx: Context) -> Section:
    s = new_section("summary")
    card = ctx.card
    test = card.metrics.test
    split = card.data.split_rows or {}
    if card.final_refit:
        trained = (
            f"It was measured after training on {split.get('train', 0) + split.get('validation', 0):,} of "
            f"{card.data.rows:,} labelled customers ({split.get('test', 0):,} held out for the test figures), "
            f"then refit on all {card.data.rows:,}"
        )
    elif split:
        trained = (
            f"It was trained on {split.get('train', 0):,} of {card.data.rows:,} labelled customers, tuned on "
            f"{split.get('validation', 0):,} more, and {split.get('test', 0):,} were held out for the test figures"
        )
    else:
        trained = f"It was trained on {card.data.rows:,} labelled customers"
    s.paragraphs.append(
        f"This model ranks customers by their chance of being {ctx.positives} ('{ctx.target_name}' = "
        f"{ctx.model.schema.positive_label}). {trained}; {card.data.positives:,} of the {card.data.rows:,} "
        f"were {ctx.positives}."
    )
    if ctx.labelled:
        p, y, _ = ctx.ev.part(ctx.ev.eval_name)
        r = metrics(y, p, ctx.model.threshold)
        s.paragraphs.append(
            f"On {ctx.ev.eval_label}, calling everyone the model flags (probability at least "
            f"{ctx.model.threshold:.3f}) would reach {r['tp']:,} of {r['positives']:,} {ctx.positives} "
            f"({pct(r['recall'])}), and {pct(r['precision'])} of those calls would be to {ctx.positives}. "
            f"PR-AUC is {r['pr_auc']:.3f} (1.0 is perfect; random ranking scores {y.mean():.3f})."
        )
        s.paragraphs.append(reach_sentence(p, y, 0.10, ctx.positives))
        pc = profit_curve(p, ctx.cost, ctx.value, y)
        s.paragraphs.append(
            f"At {ctx.cost:g} per call and {ctx.value:g} per accepted offer, profit is highest when calling the top "
            f"{pc.best_share:.1%} ({pc.best_contacts:,} customers): {pc.best_profit:,.0f}."
        )
    else:
        s.paragraphs.append(
            f"On its held-out test split ({test.n:,} customers) it found {test.tp:,} of "
            f"{test.positives:,} {ctx.positives} at threshold {ctx.model.threshold:.3f}; precision "
            f"{pct(test.precision)}, PR-AUC {num(test.pr_auc)}."
        )
    if ctx.ev is not None and ctx.ev.y is None:
        s.paragraphs.append(reach_sentence(ctx.ev.p, None, 0.10, ctx.positives))
    if ctx.ev is None:
        s.notes.append(
            "No data was given (--data), so this report shows the model's stored results only; "
            "curves, campaign figures, calibration and importance need a labelled table."
        )
    elif ctx.ev.skipped:
        s.notes.append(f"{ctx.ev.skipped:,} rows of {Path(ctx.ev.source).name} were invalid and left out.")
    if ctx.ev is not None:
        s.notes.extend(f"{line}." for line in ctx.ev.notes)
    return s


def data(ctx: Context) -> Section:
    s = new_section("data")
    d = ctx.card.data
    summary = d.summary
    share = summary.positive_share if summary else (d.positives / d.rows if d.rows else 0.0)
    rows = [
        ["training file", str(d.file or "embedded synthetic table")],
        ["customers", f"{d.rows:,}"],
        [ctx.positives, f"{d.positives:,} ({pct(share)})"],
        ["features used", ", ".join(ctx.model.schema.feature_names)],
    ]
    for dropped in summary.dropped if summary else []:
        rows.append([f"left out: {dropped['column']}", dropped["reason"]])
    for name, n in (summary.missing if summary else {}).items():
        rows.append([f"missing in {name}", f"{n:,} (filled with a typical value)"])
    for text in summary.suspicious if summary else []:
        rows.append(["check", text])
    split = d.split_rows
    if split:
        rows.append(["split", ", ".join(f"{k} {v:,}" for k, v in split.items())])
    s.tables.append(TableBlock(["", ""], rows, "The training data"))
    if ctx.ev is not None and ctx.ev.y is not None:
        y = ctx.ev.y
        neg, pos = int((y == 0).sum()), int((y == 1).sum())
        s.paragraphs.append(
            f"{Path(ctx.ev.source).name}: {len(y):,} customers, {pos:,} {ctx.positives} ({pct(pos / len(y))}). "
            "With this few acceptors, a model that calls nobody is right "
            f"{pct(neg / len(y))} of the time, so accuracy says little; the report uses "
            "precision, recall and PR-AUC instead."
        )
        s.figures.append(
            figure(
                "class_balance",
                "Class balance",
                plots.class_balance(neg, pos),
                "Customers who accepted the offer are a small minority.",
            )
        )
    elif ctx.ev is not None:
        s.paragraphs.append(
            f"{Path(ctx.ev.source).name}: {len(ctx.ev.p):,} customers, no outcome column "
            f"('{ctx.target_name}'), so figures below are expected values from the model's probabilities."
        )
        s.figures.append(
            figure(
                "scores",
                "Scores",
                plots.score_distribution(ctx.ev.p, ctx.model.threshold),
                "How many customers sit at each predicted probability.",
            )
        )
    else:
        pos = int(d.positives)
        s.figures.append(
            figure(
                "class_balance",
                "Class balance",
                plots.class_balance(int(d.rows) - pos, pos),
                "Customers who accepted the offer are a small minority.",
            )
        )
    return s


def who_accepts(ctx: Context) -> Section:
    s = new_section("who-accepts")
    if not ctx.labelled:
        s.notes.append(f"Needs a table with the outcome column (--data) to compare {ctx.positives} with the others.")
        return s
    df, y = ctx.ev.clean, ctx.ev.y
    numeric = ctx.model.schema.by_kind("numeric")
    chosen = [(n, how, unit) for n, how, unit in SEED_PLOTS if n in numeric]
    if not chosen:
        # Not the bank table: plot the numeric columns whose means differ most between outcomes.
        def gap(name: str) -> float:
            v = df[name].to_numpy(dtype=float)
            sd = np.nanstd(v) or 1.0
            return abs(np.nanmean(v[y == 1]) - np.nanmean(v[y == 0])) / sd

        top = sorted(numeric, key=gap, reverse=True)[:2]
        chosen = [(n, "distribution" if i == 0 else "mean", "") for i, n in enumerate(top)]
        if chosen:
            s.paragraphs.append(f"The numeric columns that differ most between {ctx.positives} and the others:")
    for name, how, unit in chosen:
        col = ctx.model.schema.column(name)
        values = df[name].to_numpy(dtype=float)
        desc = col.description or name
        if how == "distribution":
            png = plots.distribution_by_outcome(values, y, name, unit)
            caption = (
                f"{desc}. {ctx.positives.capitalize()} average {np.nanmean(values[y == 1]):.1f}, "
                f"the others {np.nanmean(values[y == 0]):.1f}."
            )
        else:
            png = plots.mean_by_outcome(values, y, name, unit)
            caption = f"{desc}, average per group."
        s.figures.append(figure(f"{name.lower().replace(' ', '_')}_by_outcome", f"{name} by outcome", png, caption))
    if not chosen:
        s.notes.append("The model has no numeric columns to compare.")
    return s


def _histories(model: Any) -> list[dict[str, list[float]]]:
    h = model.history()
    if isinstance(h, dict):
        h = h.get("members", [h]) if "members" in h else [h]
    if not isinstance(h, list):
        return []
    return [m for m in h if isinstance(m, dict) and any(k in m for k, _ in plots.LEARNING_PANELS)]


def learning(ctx: Context) -> Section:
    s = new_section("learning")
    hs = _histories(ctx.model)
    if not hs:
        s.notes.append(f"This model ({ctx.card.model_type}) keeps no per-epoch history.")
        return s
    epochs = [len(h.get("loss", [])) for h in hs]
    s.paragraphs.append(
        "Each panel follows one measure through training: solid lines on the training rows, dashed on the "
        "validation rows the model did not learn from. Lines that drift apart mean the model memorises "
        f"rather than learns. Trained for {', '.join(map(str, epochs))} epochs"
        + (f" ({len(hs)} ensemble members)." if len(hs) > 1 else ".")
    )
    strategy = ctx.card.imbalance.strategy
    if strategy in ("class-weight", "oversample", "balanced-batches", "smote"):
        s.paragraphs.append(
            f"This model was trained with {strategy}: the training loss is measured on re-weighted or re-sampled "
            "rows, so its level is not comparable with the validation loss; compare their shapes, and read "
            "PR-AUC, precision and recall for the real picture."
        )
    s.figures.append(
        figure(
            "learning_curves",
            "Learning curves",
            plots.learning_curves(hs),
            "Loss, PR-AUC, precision and recall per epoch (train solid, validation dashed).",
        )
    )
    return s


__all__ = ["data", "learning", "summary", "who_accepts"]
