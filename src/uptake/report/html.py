"""The manager's report: one self-contained HTML file, built from a saved model.

Every number comes from the same places the CLI uses: probabilities from
``uptake.predict.Model`` (the one scoring path), metrics from ``uptake.evaluate``,
campaign figures from ``uptake.targeting``, importance from ``uptake.explain``.
The report only arranges and words them.

The file opens offline: each figure is a PNG embedded as a base64 data URI (and
also written into ``<name>_files/`` beside the report for slides). Both the folder
and the file are written to temporary names and renamed into place.

Which rows are shown: when DATA is the file the model was trained on (same
SHA-256), the stored split is recomputed with ``uptake.train.split_indices`` and
the honest figures use the held-out *test* rows, with train curves beside them;
for any other labelled file, every figure uses all of DATA and says so.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uptake.artifact import replace_dir
from uptake.errors import UptakeInputError

#: Used when the analyst gives no money figures; stated in the report.
DEFAULT_CONTACT_COST = 5.0
DEFAULT_ACCEPT_VALUE = 100.0
#: Section ids and headings, in order. Every report has all of them (a section whose
#: inputs are missing says what it needs), so readers and tests can rely on the outline.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("data", "Data and class balance"),
    ("who-accepts", "Who accepts"),
    ("learning", "How the model learned"),
    ("decisions", "Decisions at the chosen threshold"),
    ("ranking", "Ranking quality: ROC and precision-recall"),
    ("campaign", "Campaign planning: gains, lift and profit"),
    ("calibration", "Are the probabilities honest? Calibration"),
    ("importance", "What drives the score"),
    ("comparison", "Model comparison"),
    ("model-card", "Model card"),
)
#: Columns the seed notebook plots by outcome (income distribution, average card spend).
SEED_PLOTS = (("Income", "distribution", "$000 per year"), ("CCAvg", "mean", "$000 per month"))


@dataclass
class Figure:
    name: str  # file name in <name>_files/
    title: str
    png: bytes
    caption: str = ""

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class TableBlock:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportResult:
    path: Path
    files_dir: Path
    figures: list[str]
    seconds: dict[str, float]
    sections: list[str]


@dataclass
class Evaluation:
    """The rows a report measures on, with their probabilities and (maybe) labels."""

    source: str
    df: pd.DataFrame  # valid raw rows
    clean: pd.DataFrame
    p: np.ndarray
    y: np.ndarray | None
    is_training_file: bool
    skipped: int
    split: dict[str, np.ndarray] | None = None  # positions into df: train / validation / test

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray | None, pd.DataFrame]:
        """Probabilities, labels and clean rows of a split part (or all rows for 'all')."""
        if name == "all" or self.split is None:
            return self.p, self.y, self.clean
        idx = self.split[name]
        return self.p[idx], (self.y[idx] if self.y is not None else None), self.clean.iloc[idx]

    @property
    def eval_name(self) -> str:
        return "test" if self.split is not None else "all"

    @property
    def eval_label(self) -> str:
        if self.split is not None:
            return f"the held-out test split ({len(self.split['test']):,} customers the model never trained on)"
        return f"all {len(self.p):,} customers of {Path(self.source).name}"


# ---- loading the evaluation data ------------------------------------------------------------------
def load_evaluation(model: Any, data: Path, sheet: str | None = None) -> Evaluation:
    from uptake.data import encode_target, file_sha256, read_table
    from uptake.schema import _is_missing
    from uptake.train import DEFAULT_SPLIT, split_indices

    df = read_table(data, sheet=sheet)
    scored = model.score(df, source=data, skip_invalid=True)
    valid = df.loc[scored.index]
    clean, _ = model.schema.validate(valid)
    target = model.schema.target
    y = None
    if target in valid.columns and not _is_missing(valid[target]).all():
        y, _, _ = encode_target(valid[target], model.schema.positive_label, data, int(df.attrs.get("row_offset", 1)))
    meta = model.metadata
    same = bool(meta.get("data", {}).get("sha256")) and meta["data"]["sha256"] == file_sha256(data)
    split = None
    if same and y is not None and not scored.invalid_rows and len(y) == meta["data"].get("rows"):
        cfg = meta.get("train_config") or {}
        seed = int(cfg.get("seed", meta.get("seed", 0)))
        parts = split_indices(y, seed, tuple(cfg.get("split") or DEFAULT_SPLIT))
        split = dict(zip(("train", "validation", "test"), parts))
    return Evaluation(str(data), valid, clean, scored.probability, y, same, len(scored.invalid_rows), split)


# ---- building -------------------------------------------------------------------------------------------
def build_report(
    model_dir: str | Path,
    out: str | Path,
    data: str | Path | None = None,
    compare: str | Path | None = None,
    contact_cost: float = DEFAULT_CONTACT_COST,
    accept_value: float = DEFAULT_ACCEPT_VALUE,
    sheet: str | None = None,
    shap: bool = False,
) -> ReportResult:
    """Build the report for a saved model and write it (and its figures) atomically.

    Args:
        model_dir: a directory written by ``uptake train``.
        out: the ``.html`` file to write; figures go to ``<stem>_files/`` beside it.
        data: a table to measure on (the training file gives train/test curves).
        compare: the output directory of ``uptake compare`` (its JSON leaderboard).
        contact_cost, accept_value: money per call and per acceptance for the campaign section.
        shap: also compute SHAP importance (slow: seconds to minutes; off by default).
    """
    from uptake.predict import Model
    from uptake.targeting import check_money

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UptakeInputError(f"file '{out}': the report must end in .html")
    if not out.parent.exists():
        raise UptakeInputError(f"file '{out}': the directory {str(out.parent)!r} does not exist")
    check_money(contact_cost, accept_value)
    board = read_leaderboard(Path(compare)) if compare is not None else None
    timer = _Timer()
    model = Model.load(model_dir)
    timer.lap("load model")
    ev = load_evaluation(model, Path(data), sheet) if data is not None else None
    timer.lap("score data")
    ctx = _Context(model, ev, contact_cost, accept_value, board, shap, timer)
    sections = []
    for builder in ctx.builders():
        sections.append(builder(ctx))
        timer.lap(f"section {sections[-1].id}")
    html = render(sections, ctx.title(), ctx.subtitle())
    files_dir = out.parent / f"{out.stem}_files"
    figures = [f for s in sections for f in s.figures]
    write_atomically(out, html, files_dir, figures)
    timer.lap("write")
    return ReportResult(out, files_dir, [f.name for f in figures], timer.laps, [s.title for s in sections])


class _Timer:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now


class _Context:
    """Everything the section builders share; one builder per section, in ``SECTIONS`` order."""

    def __init__(self, model: Any, ev: Evaluation | None, cost: float, value: float,
                 board: list[dict[str, Any]] | None, shap: bool, timer: _Timer) -> None:
        self.model, self.ev, self.cost, self.value, self.board, self.shap = model, ev, cost, value, board, shap
        self.meta = model.metadata
        self.timer = timer
        self.labelled = ev is not None and ev.y is not None and len(np.unique(ev.y)) == 2

    def builders(self) -> list[Any]:
        return [_summary, _data, _who_accepts, _learning, _decisions, _ranking, _campaign, _calibration,
                _importance, _comparison, _model_card]

    def title(self) -> str:
        kind = self.meta.get("model_type", "network")
        preset = f" ({self.meta['preset']} preset)" if self.meta.get("preset") else ""
        return f"Who will accept the offer? Model report: {kind}{preset}"

    def subtitle(self) -> str:
        data = f"measured on {Path(self.ev.source).name}" if self.ev else "from the model's stored results only"
        return f"Model {self.meta.get('version', '')}, trained {self.meta.get('created', '')}; {data}. " \
               f"Report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."

    @property
    def target_name(self) -> str:
        return self.model.schema.target


def _section(sid: str) -> Section:
    return Section(sid, dict(SECTIONS)[sid])


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def _num(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


# ---- sections -------------------------------------------------------------------------------------------
def _summary(ctx: _Context) -> Section:
    from uptake.evaluate import metrics
    from uptake.targeting import profit_curve, reach_sentence

    s = _section("summary")
    m = ctx.meta
    test = (m.get("metrics") or {}).get("test") or {}
    s.paragraphs.append(
        f"This model ranks customers by their chance of accepting the offer ('{ctx.target_name}' = "
        f"{ctx.model.schema.positive_label}). It was trained on {m.get('data', {}).get('rows', 0):,} customers, "
        f"of whom {m.get('data', {}).get('positives', 0):,} accepted."
    )
    if ctx.labelled:
        p, y, _ = ctx.ev.part(ctx.ev.eval_name)
        r = metrics(y, p, ctx.model.threshold)
        s.paragraphs.append(
            f"On {ctx.ev.eval_label}, calling everyone the model flags (probability at least "
            f"{ctx.model.threshold:.3f}) would reach {r['tp']:,} of {r['positives']:,} acceptors "
            f"({_pct(r['recall'])}), and {_pct(r['precision'])} of those calls would be to acceptors. "
            f"PR-AUC is {r['pr_auc']:.3f} (1.0 is perfect; random ranking scores {y.mean():.3f})."
        )
        s.paragraphs.append(reach_sentence(p, y, 0.10))
        pc = profit_curve(p, ctx.cost, ctx.value, y)
        s.paragraphs.append(
            f"At {ctx.cost:g} per call and {ctx.value:g} per accepted offer, profit is highest when calling the top "
            f"{pc.best_share:.1%} ({pc.best_contacts:,} customers): {pc.best_profit:,.0f}."
        )
    elif test:
        s.paragraphs.append(
            f"On its held-out test split ({test.get('n', 0):,} customers) it found {test.get('tp', 0):,} of "
            f"{test.get('positives', 0):,} acceptors at threshold {ctx.model.threshold:.3f}; precision "
            f"{_pct(test.get('precision', 0.0))}, PR-AUC {_num(test.get('pr_auc'))}."
        )
    if ctx.ev is not None and ctx.ev.y is None:
        from uptake.targeting import reach_sentence as rs

        s.paragraphs.append(rs(ctx.ev.p, None, 0.10))
    if ctx.ev is None:
        s.notes.append("No data was given (--data), so this report shows the model's stored results only; "
                       "curves, campaign figures, calibration and importance need a labelled table.")
    elif ctx.ev.skipped:
        s.notes.append(f"{ctx.ev.skipped:,} rows of {Path(ctx.ev.source).name} were invalid and left out.")
    return s


def _data(ctx: _Context) -> Section:
    from uptake.report import plots

    s = _section("data")
    d = ctx.meta.get("data", {})
    summary = d.get("summary", {})
    rows = [["training file", str(d.get("file") or "embedded synthetic table")],
            ["customers", f"{d.get('rows', 0):,}"],
            ["accepted", f"{d.get('positives', 0):,} ({_pct(summary.get('positive_share', 0.0))})"],
            ["features used", ", ".join(ctx.model.schema.feature_names)]]
    for dropped in summary.get("dropped", []):
        rows.append([f"left out: {dropped['column']}", dropped["reason"]])
    for name, n in (summary.get("missing") or {}).items():
        rows.append([f"missing in {name}", f"{n:,} (filled with a typical value)"])
    for text in summary.get("suspicious", []):
        rows.append(["check", text])
    split = d.get("split_rows") or {}
    if split:
        rows.append(["split", ", ".join(f"{k} {v:,}" for k, v in split.items())])
    s.tables.append(TableBlock(["", ""], rows, "The training data"))
    if ctx.ev is not None and ctx.ev.y is not None:
        y = ctx.ev.y
        neg, pos = int((y == 0).sum()), int((y == 1).sum())
        s.paragraphs.append(f"{Path(ctx.ev.source).name}: {len(y):,} customers, {pos:,} accepted ({_pct(pos / len(y))}). "
                            "With this few acceptors, a model that calls nobody is right "
                            f"{_pct(neg / len(y))} of the time, so accuracy says little; the report uses "
                            "precision, recall and PR-AUC instead.")
        s.figures.append(plots_fig("class_balance", "Class balance", plots.class_balance(neg, pos),
                                   "Customers who accepted the offer are a small minority."))
    elif ctx.ev is not None:
        s.paragraphs.append(f"{Path(ctx.ev.source).name}: {len(ctx.ev.p):,} customers, no outcome column "
                            f"('{ctx.target_name}'), so figures below are expected values from the model's probabilities.")
        s.figures.append(plots_fig("scores", "Scores", plots.score_distribution(ctx.ev.p, ctx.model.threshold),
                                   "How many customers sit at each predicted probability."))
    else:
        pos = int(d.get("positives", 0))
        s.figures.append(plots_fig("class_balance", "Class balance",
                                   plots.class_balance(int(d.get("rows", 0)) - pos, pos),
                                   "Customers who accepted the offer are a small minority."))
    return s


def plots_fig(name: str, title: str, png: bytes, caption: str = "") -> Figure:
    return Figure(f"{name}.png", title, png, caption)


def _who_accepts(ctx: _Context) -> Section:
    from uptake.report import plots

    s = _section("who-accepts")
    if not ctx.labelled:
        s.notes.append("Needs a table with the outcome column (--data) to compare acceptors with the others.")
        return s
    df, y = ctx.ev.clean, ctx.ev.y
    numeric = [c.name for c in ctx.model.schema.columns if c.kind == "numeric"]
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
            s.paragraphs.append("The numeric columns that differ most between acceptors and the others:")
    for name, how, unit in chosen:
        col = ctx.model.schema.column(name)
        values = df[name].to_numpy(dtype=float)
        desc = col.description or name
        if how == "distribution":
            png = plots.distribution_by_outcome(values, y, name, unit)
            caption = (f"{desc}. Acceptors average {np.nanmean(values[y == 1]):.1f}, "
                       f"the others {np.nanmean(values[y == 0]):.1f}.")
        else:
            png = plots.mean_by_outcome(values, y, name, unit)
            caption = f"{desc}, average per group."
        s.figures.append(plots_fig(f"{name.lower().replace(' ', '_')}_by_outcome", f"{name} by outcome", png, caption))
    if not chosen:
        s.notes.append("The model has no numeric columns to compare.")
    return s


def _histories(model: Any) -> list[dict[str, list[float]]]:
    h = model.history()
    if isinstance(h, dict):
        h = h.get("members", [h]) if "members" in h else [h]
    if not isinstance(h, list):
        return []
    return [m for m in h if isinstance(m, dict) and any(k in m for k, _ in _learning_keys())]


def _learning_keys() -> tuple[tuple[str, str], ...]:
    from uptake.report.plots import LEARNING_PANELS

    return LEARNING_PANELS


def _learning(ctx: _Context) -> Section:
    from uptake.report import plots

    s = _section("learning")
    hs = _histories(ctx.model)
    if not hs:
        s.notes.append(f"This model ({ctx.meta.get('model_type')}) keeps no per-epoch history.")
        return s
    epochs = [len(h.get("loss", [])) for h in hs]
    s.paragraphs.append(
        "Each panel follows one measure through training: solid lines on the training rows, dashed on the "
        "validation rows the model did not learn from. Lines that drift apart mean the model memorises "
        f"rather than learns. Trained for {', '.join(map(str, epochs))} epochs"
        + (f" ({len(hs)} ensemble members)." if len(hs) > 1 else ".")
    )
    strategy = (ctx.meta.get("imbalance") or {}).get("strategy")
    if strategy in ("class-weight", "oversample", "balanced-batches", "smote"):
        s.paragraphs.append(
            f"This model was trained with {strategy}: the training loss is measured on re-weighted or re-sampled "
            "rows, so its level is not comparable with the validation loss; compare their shapes, and read "
            "PR-AUC, precision and recall for the real picture.")
    s.figures.append(plots_fig("learning_curves", "Learning curves", plots.learning_curves(hs),
                               "Loss, PR-AUC, precision and recall per epoch (train solid, validation dashed)."))
    return s


def _decisions(ctx: _Context) -> Section:
    from uptake.evaluate import metrics
    from uptake.report import plots

    s = _section("decisions")
    thr = ctx.model.threshold
    rule = ctx.meta.get("threshold_rule") or {}
    if ctx.labelled:
        p, y, _ = ctx.ev.part(ctx.ev.eval_name)
        r = metrics(y, p, thr)
        where_ = ctx.ev.eval_label
    else:
        r = (ctx.meta.get("metrics") or {}).get("test")
        where_ = "the held-out test split at training time (stored in the model)"
    if not r:
        s.notes.append("No labelled results to show.")
        return s
    s.paragraphs.append(
        f"The model calls a customer when their probability is at least {thr:.3f} ({_rule_text(rule)}). "
        f"On {where_}: precision {_pct(r['precision'])} (share of calls that reach an acceptor), recall "
        f"{_pct(r['recall'])} (share of acceptors reached), F1 {r['f1']:.3f}."
    )
    s.tables.append(TableBlock(["outcome", "customers", "meaning"], [
        ["acceptors found", f"{r['tp']:,}", "called, and they accepted"],
        ["acceptors missed", f"{r['fn']:,}", "not called, but would have accepted"],
        ["wasted calls", f"{r['fp']:,}", "called, but they did not accept"],
        ["correctly left alone", f"{r['tn']:,}", "not called, and would not have accepted"],
    ]))
    s.figures.append(plots_fig("confusion_matrix", "Confusion matrix",
                               plots.confusion(r["tp"], r["fp"], r["tn"], r["fn"], thr),
                               "Rows: what customers did; columns: what the model decided."))
    return s


def _rule_text(rule: dict[str, Any]) -> str:
    name = rule.get("rule", "unknown")
    texts = {
        "max-f1": "chosen on validation data to balance precision and recall (maximum F1)",
        "fixed": "fixed by the analyst",
        "min-recall": f"the highest cut that still finds at least {rule.get('value', rule.get('min_recall', '?'))} "
                      "of acceptors on validation data",
        "min-precision": f"the lowest cut whose calls reach acceptors at least "
                         f"{rule.get('value', rule.get('min_precision', '?'))} of the time on validation data",
        "max-profit": "chosen on validation data for the highest expected profit",
    }
    return texts.get(name, f"rule: {name}")


def _curve(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    prec, rec, _ = precision_recall_curve(y, p)
    return {"fpr": fpr, "tpr": tpr, "precision": prec, "recall": rec, "roc_auc": roc_auc_score(y, p),
            "pr_auc": average_precision_score(y, p), "base_rate": float(np.mean(y))}


def _ranking(ctx: _Context) -> Section:
    from uptake.report import plots

    s = _section("ranking")
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    curves: dict[str, dict[str, Any]] = {}
    if ctx.ev.split is not None:
        for part in ("train", "test"):
            p, y, _ = ctx.ev.part(part)
            if len(np.unique(y)) == 2:
                curves[f"{part} ({len(y):,})"] = _curve(p, y)
        s.paragraphs.append(f"{Path(ctx.ev.source).name} is the training file, so its stored split is recomputed: "
                            "train rows (solid) against the held-out test rows (dashed). A large gap means "
                            "the model fits its training customers better than new ones.")
    else:
        curves[f"{Path(ctx.ev.source).name} ({len(ctx.ev.y):,})"] = _curve(ctx.ev.p, ctx.ev.y)
        s.paragraphs.append(f"{Path(ctx.ev.source).name} is not the file the model was trained on (or its "
                            "fingerprint differs), so the curves show this file only: no train/test split applies.")
    s.paragraphs.append("The precision-recall curve matters most with rare acceptors: it shows how much precision "
                        "each extra acceptor found costs. The thin horizontal line is random calling.")
    s.figures.append(plots_fig("roc_pr", "ROC and precision-recall curves", plots.roc_pr(curves)))
    return s


def _campaign(ctx: _Context) -> Section:
    from uptake import targeting as TG
    from uptake.report import plots

    s = _section("campaign")
    if ctx.ev is None:
        s.notes.append("Needs customers to rank (--data).")
        return s
    name = ctx.ev.eval_name if ctx.labelled else "all"
    p, y, _ = ctx.ev.part(name)
    if not ctx.labelled:
        y = None
    c = TG.curves(p, y)
    basis = "actual" if y is not None else "expected"
    pc = TG.profit_curve(p, ctx.cost, ctx.value, y)
    where_ = ctx.ev.eval_label if y is not None else f"all {len(p):,} customers (expected figures: no labels)"
    s.paragraphs.append(
        f"Customers ranked best first, on {where_}. Money figures assume {ctx.cost:g} per call and {ctx.value:g} "
        "per accepted offer (set with --contact-cost and --accept-value)."
    )
    s.paragraphs.append(TG.reach_sentence(p, y, 0.10))
    s.figures.append(plots_fig("gains_lift", "Gains and lift", plots.gains_lift(c.share, c.gain, basis),
                               "Left: share of acceptors reached by calling the top x%. Right: how many times "
                               "better than calling at random."))
    s.figures.append(plots_fig("profit", "Profit curve",
                               plots.profit(pc.share, pc.profit, pc.best_share, pc.best_profit, basis, ctx.cost, ctx.value),
                               f"Profit is highest at {pc.best_share:.1%} contacted ({pc.best_contacts:,} customers): "
                               f"{pc.best_profit:,.0f}."))
    d = TG.decile_table(p, y, ctx.cost, ctx.value)
    headers = ["decile", "customers", "expected acceptances"]
    if y is not None:
        headers += ["actual acceptances", "precision", "cumulative recall", "cumulative profit"]
    else:
        headers += ["expected cumulative recall", "expected cumulative profit"]
    rows = []
    for r in d.to_dict(orient="records"):
        row = [str(r["decile"]), f"{r['customers']:,}", f"{r['expected_acceptances']:.1f}"]
        if y is not None:
            row += [f"{r['actual_acceptances']:,}", _pct(r["precision"]), _pct(r["cumulative_recall"]),
                    f"{r['cumulative_profit']:,.0f}"]
        else:
            row += [_pct(r["expected_cumulative_recall"]), f"{r['expected_cumulative_profit']:,.0f}"]
        rows.append(row)
    s.tables.append(TableBlock(headers, rows, "Decile table (decile 1 = the 10% most likely to accept)"))
    return s


def _reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, float]:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    obs, pred = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    return pred, obs, float(brier_score_loss(y, p))


def _calibration(ctx: _Context) -> Section:
    from uptake.report import plots

    s = _section("calibration")
    strategy = (ctx.meta.get("imbalance") or {}).get("strategy")
    s.paragraphs.append(
        "A probability of 0.30 should mean that about 30 of 100 such customers accept. That matters as soon as "
        "probabilities are used as money (expected acceptances, expected profit). Training tricks for rare "
        "outcomes (class weights, oversampling) make the model pay more attention to acceptors, which also "
        "pushes its probabilities up: rankings stay good, but the raw numbers overstate the chance."
        + (f" This model was trained with {strategy}." if strategy and strategy != "none" else "")
    )
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    p, y, clean = ctx.ev.part(ctx.ev.eval_name)
    curves: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    raw = _uncalibrated(ctx.model, clean)
    calibrated = _calibration_info(ctx.meta) or getattr(getattr(ctx.model, "calibrator", None), "method", None)
    if raw is not None and calibrated:
        curves["before calibration"] = _reliability(raw, y)
        curves[f"after {calibrated} calibration (the model's output)"] = _reliability(p, y)
        s.paragraphs.append(f"This model carries a calibrator ({calibrated}) fitted on validation data: its "
                            "probabilities below are the calibrated ones, shown against the raw model output.")
    else:
        curves["model output"] = _reliability(p, y)
        if ctx.ev.split is not None:
            pv, yv, _ = ctx.ev.part("validation")
            fixed = _isotonic_fix(pv, yv, p)
            if fixed is not None:
                curves["after isotonic calibration (illustration)"] = _reliability(fixed, y)
                s.paragraphs.append(
                    "The fix: refit the probabilities on validation data. The second line shows what an isotonic "
                    "calibrator fitted on this model's validation split does on the test split; "
                    "`uptake train --calibrate isotonic` stores such a calibrator in the model.")
        else:
            s.paragraphs.append("The fix: `uptake train --calibrate isotonic` (or sigmoid) fits a calibrator on "
                                "validation data and stores it in the model.")
    s.paragraphs.append("Brier score: the mean squared gap between probability and outcome (lower is better).")
    s.figures.append(plots_fig("calibration", "Reliability diagram", plots.calibration(curves),
                               f"On {ctx.ev.eval_label}; customers grouped by probability into up to ten bins of similar size."))
    return s


def _calibration_info(meta: dict[str, Any]) -> str | None:
    """The calibration method stored by ``uptake train --calibrate``, in whatever shape it was saved."""
    for key in ("calibration", "calibrator", "calibrate"):
        v = meta.get(key)
        if isinstance(v, dict) and (v.get("method") or v.get("kind")):
            return str(v.get("method") or v.get("kind"))
        if isinstance(v, str) and v and v != "none":
            return v
    return None


def _uncalibrated(model: Any, clean: pd.DataFrame) -> np.ndarray | None:
    """The estimator's probabilities before the model's calibrator (None without one).

    ``Model.proba`` applies the calibrator; the raw output is the same scoring path
    minus that last step.
    """
    if getattr(model, "calibrator", None) is None or len(clean) == 0:
        return None
    return np.asarray(model.estimator.predict_proba(model.features(clean))[:, 1], dtype=np.float64)


def _isotonic_fix(p_val: np.ndarray, y_val: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    from sklearn.isotonic import IsotonicRegression

    if len(np.unique(y_val)) < 2:
        return None
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p_val, y_val)
    return np.asarray(iso.predict(p), dtype=np.float64)


def _importance(ctx: _Context) -> Section:
    from uptake import explain
    from uptake.report import plots

    s = _section("importance")
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    _, y, clean = ctx.ev.part(ctx.ev.eval_name)
    # Three shuffles per column: the order of features is settled by then, and the report stays quick.
    imp = explain.permutation_importance(ctx.model, clean, y, n_repeats=3, seed=int(ctx.meta.get("seed", 0)))
    t = imp.table
    s.paragraphs.append(
        "How much the ranking (PR-AUC) suffers when one column's values are shuffled between customers: "
        f"the larger the drop, the more the model relies on that column. Measured on {ctx.ev.eval_label}; "
        f"{imp.note.split(', ', 1)[-1]}."
    )
    s.figures.append(plots_fig("importance_permutation", "Permutation importance",
                               plots.importance(t["feature"], t["importance"], t["std"], "drop in PR-AUC when shuffled",
                                                "Permutation importance")))
    if ctx.shap:
        ctx.timer.lap("section importance")
        sh = explain.shap_importance(ctx.model, clean)
        ctx.timer.lap("shap")
        if sh is None:
            s.notes.append("SHAP values could not be computed here; permutation importance is shown alone.")
        else:
            s.figures.append(plots_fig("importance_shap", "SHAP importance",
                                       plots.importance(sh.table["feature"], sh.table["importance"], None,
                                                        "mean |change in probability|", "SHAP importance"),
                                       f"SHAP: {sh.note}."))
    else:
        s.notes.append("SHAP importance is off (it takes much longer); add `--shap` to include it.")
    s.paragraphs.append("Per customer, `uptake predict --explain` adds the top three reasons behind each score, "
                        "for example 'Income 180 raises the chance'.")
    return s


def _comparison(ctx: _Context) -> Section:
    from uptake.report import plots

    s = _section("comparison")
    if not ctx.board:
        s.notes.append("No comparison given. Run `uptake compare DATA --out DIR` and pass --compare DIR.")
        return s
    rows = ctx.board
    metric = "pr_auc_mean" if any("pr_auc_mean" in r for r in rows) else next(
        (k for k in rows[0] if k.endswith("_mean")), None)
    if metric:
        rows = sorted(rows, key=lambda r: -float(r.get(metric) or 0.0))
    cols = [c for c in LEADER_COLUMNS if any(c in r for r in rows)]
    s.tables.append(TableBlock([LEADER_COLUMNS[c] for c in cols],
                               [[_cell(r.get(c)) for c in cols] for r in rows], "Leaderboard (best first)"))
    if metric:
        std = metric.replace("_mean", "_std")
        names = [str(r.get("model", r.get("name", "?"))) for r in rows]
        means = [float(r.get(metric) or 0.0) for r in rows]
        stds = [float(r.get(std) or 0.0) for r in rows] if any(std in r for r in rows) else None
        s.figures.append(plots_fig("leaderboard", "Model comparison",
                                   plots.leaderboard(names, means, stds, _metric_label(metric)),
                                   "Every model scored on the same repeated folds."))
        if len(rows) > 1:
            s.paragraphs.append(f"Best: {names[0]} ({_metric_label(metric)} {means[0]:.3f}), ahead of "
                                f"{names[1]} by {means[0] - means[1]:.3f}.")
    return s


def _metric_label(key: str) -> str:
    base = key.removesuffix("_mean")
    return {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "f1": "F1"}.get(base, base.replace("_", " "))


#: Leaderboard columns shown, in order (``uptake compare``'s compare.json rows); others are ignored.
LEADER_COLUMNS = {
    "model": "model", "imbalance": "imbalance", "pr_auc_mean": "PR-AUC", "pr_auc_std": "± PR-AUC", "roc_auc_mean": "ROC-AUC",
    "f1_mean": "F1", "precision_mean": "precision", "recall_mean": "recall", "fit_seconds": "fit s",
    "fit_seconds_mean": "fit s", "predict_us_per_row": "predict µs/row", "predict_us_per_row_mean": "predict µs/row",
}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def read_leaderboard(directory: Path) -> list[dict[str, Any]]:
    """Rows of the leaderboard that ``uptake compare --out DIR`` wrote as JSON.

    ``compare.json`` holds ``{"config", "leaderboard": [{"model", "pr_auc_mean",
    "pr_auc_std", ...}], "summary", "folds"}``; any JSON file in DIR (compare.json
    first) holding a list of row dicts, bare or under 'leaderboard', 'rows', 'models'
    or 'results', is accepted.
    """
    directory = Path(directory)
    if not directory.exists():
        raise UptakeInputError(f"file '{directory}': no such comparison directory")
    files = [directory] if directory.is_file() else sorted(directory.glob("*.json"), key=lambda f: f.name != "compare.json")
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows = _rows_of(data)
        if rows:
            return rows
    raise UptakeInputError(f"file '{directory}': no JSON leaderboard found (run `uptake compare ... --out {directory}`)")


def _rows_of(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return data
    if isinstance(data, dict):
        for key in ("leaderboard", "rows", "models", "results"):
            if key in data:
                rows = _rows_of(data[key])
                if rows:
                    return rows
    return None


def _model_card(ctx: _Context) -> Section:
    s = _section("model-card")
    m = ctx.meta
    d = m.get("data", {})
    imb = m.get("imbalance") or {}
    hyper = m.get("hyperparameters") or {}
    rule = m.get("threshold_rule") or {}
    test = (m.get("metrics") or {}).get("test") or {}
    rows = [
        ["model type", str(m.get("model_type"))],
        ["preset", str(m.get("preset") or "-")],
        ["architecture", _architecture(hyper)],
        ["imbalance strategy", f"{imb.get('strategy') or 'none'}"
         + (f" (class weights: {imb['class_weight_formula']})" if imb.get("class_weight_formula") and
            imb.get("strategy") == "class-weight" else "")
         + (", initial bias log(pos/neg)" if imb.get("initial_bias") else "")],
        ["threshold", f"{ctx.model.threshold:.4f}"],
        ["threshold rule", _rule_text(rule) + (f" [{rule['rule']}]" if rule.get("rule") else "")],
        ["calibration", _calibration_info(m) or "none"],
        ["training data", str(d.get("file") or "embedded synthetic table")],
        ["data fingerprint (SHA-256)", str(d.get("sha256") or "-")],
        ["rows / positives", f"{d.get('rows', 0):,} / {d.get('positives', 0):,}"],
        ["split", ", ".join(f"{k} {v:,}" for k, v in (d.get("split_rows") or {}).items())],
        ["seed", str(m.get("seed"))],
        ["test PR-AUC / ROC-AUC", f"{_num(test.get('pr_auc'))} / {_num(test.get('roc_auc'))}"],
        ["fit seconds", _num(m.get("fit_seconds"), 1)],
        ["created", str(m.get("created"))],
        ["version", str(m.get("version"))],
        ["model directory", str(ctx.model.path)],
        ["software", ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())],
    ]
    s.tables.append(TableBlock(["", ""], rows))
    return s


def _architecture(hyper: dict[str, Any]) -> str:
    if "hidden" in hyper:
        members = hyper.get("n_models", 1)
        return (f"{len(hyper['hidden'])} hidden layers {hyper['hidden']}, dropout {hyper.get('dropout')}, "
                f"learning rate {hyper.get('learning_rate')}, batch {hyper.get('batch_size')}, "
                f"up to {hyper.get('epochs')} epochs" + (f", {members} members" if members and members > 1 else ""))
    return ", ".join(f"{k}={v}" for k, v in list(hyper.items())[:8]) or "-"


# ---- rendering and writing ------------------------------------------------------------------------------
def render(sections: list[Section], title: str, subtitle: str) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = _code_spans
    return env.get_template("report.html.j2").render(sections=sections, title=title, subtitle=subtitle)


def _code_spans(text: str) -> Any:
    """Escape text and show `backticked` commands in <code>, so prose can name CLI commands."""
    from markupsafe import Markup, escape

    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # unbalanced: leave as plain text
        return escape(text)
    return Markup("").join(escape(p) if i % 2 == 0 else Markup("<code>") + escape(p) + Markup("</code>")
                           for i, p in enumerate(parts))


def write_atomically(out: Path, html: str, files_dir: Path, figures: list[Figure]) -> None:
    """Figures folder first (swapped in whole), then the HTML (renamed into place)."""
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{files_dir.name}.", suffix=".tmp", dir=out.parent))
    fd, tmp_html = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        # mkstemp/mkdtemp create private (0600/0700) files; a report is meant to be shared.
        os.chmod(tmp_dir, 0o777 & ~umask)
        os.chmod(tmp_html, 0o666 & ~umask)
        for f in figures:
            (tmp_dir / f.name).write_bytes(f.png)
        Path(tmp_html).write_text(html, encoding="utf-8")
        replace_dir(tmp_dir, files_dir)
        os.replace(tmp_html, out)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        Path(tmp_html).unlink(missing_ok=True)
        raise
