"""The report's figures: matplotlib, Agg only, each returned as PNG bytes.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so no global
figure state or GUI backend is involved: a report can be built in a web worker or
a thread. Colours are fixed per meaning (acceptors orange, others blue; train
solid, validation/test dashed, as the TF imbalanced-data tutorial draws them) so a
reader learns them once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

ACCEPT = "#e07b00"
REJECT = "#3b6ea8"
GREY = "#888888"
PALETTE = ["#3b6ea8", "#e07b00", "#3a923a", "#c03d3e", "#8c63a8", "#8c564b", "#d670b6", "#7f7f7f"]
DPI = 100


def _figure(w: float = 6.4, h: float = 4.0) -> Figure:
    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    return fig


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)


# ---- data ---------------------------------------------------------------------------------------
def class_balance(
    negatives: int, positives: int, neg_label: str = "did not accept", pos_label: str = "accepted"
) -> bytes:
    fig = _figure(5.5, 2.6)
    ax = fig.add_subplot()
    total = max(negatives + positives, 1)
    bars = ax.barh([neg_label, pos_label], [negatives, positives], color=[REJECT, ACCEPT])
    for bar, n in zip(bars, (negatives, positives)):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f"  {n:,} ({n / total:.1%})", va="center")
    ax.set_xlim(0, max(negatives, positives) * 1.3)
    ax.set_xlabel("customers")
    ax.set_title("Class balance")
    _style(ax)
    return png(fig)


def distribution_by_outcome(values: np.ndarray, y: np.ndarray, name: str, unit: str = "") -> bytes:
    """Overlaid histograms (as densities, so the small acceptor group is visible), as in the seed notebook."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v)
    v, y = v[ok], np.asarray(y)[ok]
    bins = np.histogram_bin_edges(v, bins=30)
    ax.hist(v[y == 0], bins=bins, density=True, alpha=0.55, color=REJECT, label=f"did not accept ({(y == 0).sum():,})")
    ax.hist(v[y == 1], bins=bins, density=True, alpha=0.55, color=ACCEPT, label=f"accepted ({(y == 1).sum():,})")
    ax.set_xlabel(f"{name}{f' ({unit})' if unit else ''}")
    ax.set_ylabel("share of group (density)")
    ax.set_title(f"{name}: acceptors vs non-acceptors")
    ax.legend(frameon=False)
    _style(ax)
    return png(fig)


def mean_by_outcome(values: np.ndarray, y: np.ndarray, name: str, unit: str = "") -> bytes:
    """Average of a column per outcome, with the middle half of each group as a bar."""
    fig = _figure(5.5, 3.4)
    ax = fig.add_subplot()
    v = np.asarray(values, dtype=float)
    y = np.asarray(y)
    groups = [v[(y == 0) & ~np.isnan(v)], v[(y == 1) & ~np.isnan(v)]]
    means = [float(g.mean()) if len(g) else 0.0 for g in groups]
    q = [np.percentile(g, [25, 75]) if len(g) else np.array([0.0, 0.0]) for g in groups]
    err = np.array([[m - lo for m, (lo, _) in zip(means, q)], [hi - m for m, (_, hi) in zip(means, q)]]).clip(min=0)
    bars = ax.bar(["did not accept", "accepted"], means, color=[REJECT, ACCEPT], yerr=err, capsize=6, ecolor=GREY)
    for bar, m in zip(bars, means):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            m / 2,
            f"{m:.2f}",
            ha="center",
            va="center",
            fontweight="bold",
            color="white",
        )
    ax.set_ylabel(f"average {name}{f' ({unit})' if unit else ''}")
    ax.set_title(f"Average {name} by outcome (whiskers: middle half)")
    _style(ax)
    return png(fig)


# ---- training -------------------------------------------------------------------------------------
LEARNING_PANELS = (("loss", "Loss"), ("pr_auc", "PR-AUC"), ("precision", "Precision"), ("recall", "Recall"))


#: From this many members on, the learning curves show the median and the range instead of one line each.
MEMBERS_AS_BAND = 4


def _padded(histories: Sequence[dict[str, Sequence[float]]], key: str) -> np.ndarray | None:
    series = [np.asarray(h[key], dtype=np.float64) for h in histories if key in h]
    if not series:
        return None
    out = np.full((len(series), max(len(s) for s in series)), np.nan)
    for i, s in enumerate(series):
        out[i, : len(s)] = s
    return out


def learning_curves(histories: Sequence[dict[str, Sequence[float]]]) -> bytes:
    """Train (solid) and validation (dashed) per epoch: one colour per member, or, from
    :data:`MEMBERS_AS_BAND` members on, the median across members with their range shaded (each
    member stops at its own epoch: the median at an epoch is over the members still training)."""
    fig = _figure(9.0, 6.0)
    axes = fig.subplots(2, 2).ravel()
    banded = len(histories) >= MEMBERS_AS_BAND
    for ax, (key, title) in zip(axes, LEARNING_PANELS):
        for name, style, colour in ((key, "-", PALETTE[0]), (f"val_{key}", "--", PALETTE[1])):
            m = _padded(histories, name) if banded else None
            if m is None:
                continue
            epochs = np.arange(1, m.shape[1] + 1)
            part = "train" if name == key else "validation"
            ax.plot(epochs, np.nanmedian(m, axis=0), color=colour, linestyle=style, label=f"{part}: median of {len(m)}")
            ax.fill_between(
                epochs, np.nanmin(m, axis=0), np.nanmax(m, axis=0), color=colour, alpha=0.18, label=f"{part}: range"
            )
        for i, h in enumerate(histories if not banded else ()):
            colour = PALETTE[i % len(PALETTE)]
            member = f"member {i + 1} " if len(histories) > 1 else ""
            if key in h:
                ax.plot(np.arange(1, len(h[key]) + 1), h[key], color=colour, label=f"{member}train")
            if f"val_{key}" in h:
                ax.plot(
                    np.arange(1, len(h[f"val_{key}"]) + 1),
                    h[f"val_{key}"],
                    color=colour,
                    linestyle="--",
                    label=f"{member}validation",
                )
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if key != "loss":
            ax.set_ylim(0, 1.02)
        _style(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles[:8], labels[:8], frameon=False, fontsize=8)
    return png(fig)


# ---- decisions --------------------------------------------------------------------------------------
def confusion(tp: int, fp: int, tn: int, fn: int, threshold: float) -> bytes:
    """The four counts as a 2x2 grid, each cell named in words."""
    fig = _figure(6.0, 4.2)
    ax = fig.add_subplot()
    grid = np.array([[tn, fp], [fn, tp]], dtype=float)
    ax.imshow(np.log1p(grid), cmap="Blues", vmin=0)
    words = [["correctly left alone", "wasted calls"], ["acceptors missed", "acceptors found"]]
    for i in range(2):
        for j in range(2):
            dark = np.log1p(grid[i, j]) > 0.6 * np.log1p(grid.max())
            ax.text(
                j,
                i,
                f"{int(grid[i, j]):,}\n{words[i][j]}",
                ha="center",
                va="center",
                fontsize=12,
                color="white" if dark else "black",
            )
    ax.set_xticks([0, 1], ["not called\n(below threshold)", "called\n(above threshold)"])
    ax.set_yticks([0, 1], ["did not accept", "accepted"])
    ax.set_xlabel("model's decision")
    ax.set_ylabel("what the customer did")
    ax.set_title(f"Decisions at threshold {threshold:.3f}")
    return png(fig)


def roc_pr(curves: dict[str, dict[str, Any]]) -> bytes:
    """ROC (left) and precision-recall (right); train solid, test/other dashed.

    ``curves``: name -> {"fpr", "tpr", "precision", "recall", "roc_auc", "pr_auc", "base_rate"}.
    """
    fig = _figure(10.0, 4.4)
    ax_roc, ax_pr = fig.subplots(1, 2)
    for i, (name, c) in enumerate(curves.items()):
        style = "-" if name.lower().startswith("train") else "--"
        colour = PALETTE[i % len(PALETTE)]
        ax_roc.plot(c["fpr"], c["tpr"], style, color=colour, label=f"{name} (AUC {c['roc_auc']:.3f})")
        ax_pr.plot(c["recall"], c["precision"], style, color=colour, label=f"{name} (AP {c['pr_auc']:.3f})")
        ax_pr.axhline(c["base_rate"], color=colour, alpha=0.35, linewidth=1)
    ax_roc.plot([0, 1], [0, 1], color=GREY, linewidth=1, linestyle=":", label="random")
    ax_roc.set(
        xlabel="false positive rate (wasted calls / all non-acceptors)",
        ylabel="true positive rate (recall)",
        title="ROC curve",
    )
    ax_pr.set(
        xlabel="recall (share of acceptors found)",
        ylabel="precision (share of calls that accept)",
        title="Precision-recall curve (thin line: random)",
        ylim=(0, 1.02),
    )
    for ax in (ax_roc, ax_pr):
        ax.legend(frameon=False, fontsize=8, loc="lower right" if ax is ax_roc else "lower left")
        _style(ax)
    return png(fig)


# ---- campaign --------------------------------------------------------------------------------------------
def gains_lift(share: np.ndarray, gain: np.ndarray, basis: str) -> bytes:
    """Cumulative gains (left) and lift (right) over the share contacted."""
    fig = _figure(10.0, 4.0)
    ax_g, ax_l = fig.subplots(1, 2)
    s = np.concatenate([[0.0], share])
    g = np.concatenate([[0.0], gain])
    ax_g.plot(s * 100, g * 100, color=ACCEPT, label="model")
    ax_g.plot([0, 100], [0, 100], color=GREY, linestyle=":", label="random calls")
    ax_g.set(
        xlabel="% of customers contacted (best first)",
        ylabel=f"% of acceptors reached ({basis})",
        title="Cumulative gains",
    )
    ax_g.legend(frameon=False)
    lift = gain / share
    ax_l.plot(share * 100, lift, color=ACCEPT)
    ax_l.axhline(1.0, color=GREY, linestyle=":")
    ax_l.set(xlabel="% of customers contacted (best first)", ylabel="lift (x random)", title="Lift")
    ax_l.set_ylim(0, max(float(np.nanmax(lift[max(0, len(lift) // 100) :])) * 1.1, 1.5))
    for ax in (ax_g, ax_l):
        _style(ax)
    return png(fig)


def profit(
    share: np.ndarray,
    profit_: np.ndarray,
    best_share: float,
    best_profit: float,
    basis: str,
    contact_cost: float,
    accept_value: float,
) -> bytes:
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot()
    ax.plot(share * 100, profit_, color=ACCEPT)
    ax.axhline(0, color=GREY, linewidth=1)
    ax.scatter([best_share * 100], [best_profit], color="black", zorder=3)
    ax.annotate(
        f"best: {best_share:.1%} contacted, profit {best_profit:,.0f}",
        (best_share * 100, best_profit),
        textcoords="offset points",
        xytext=(10, 8),
    )
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.12 * (hi - lo))
    ax.set(
        xlabel="% of customers contacted (best first)",
        ylabel=f"{basis} profit",
        title=f"Profit by share contacted ({contact_cost:g} per call, {accept_value:g} per acceptance)",
    )
    _style(ax)
    return png(fig)


def calibration(curves: dict[str, tuple[np.ndarray, np.ndarray, float]]) -> bytes:
    """Reliability diagram: name -> (mean predicted, observed rate, Brier)."""
    fig = _figure(6.0, 4.6)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color=GREY, linestyle=":", label="perfectly honest")
    for i, (name, (pred, obs, brier)) in enumerate(curves.items()):
        ax.plot(pred, obs, "o-", color=PALETTE[(i + 1) % len(PALETTE)], label=f"{name} (Brier {brier:.4f})")
    ax.set(
        xlabel="predicted probability (bin average)",
        ylabel="share that actually accepted",
        title="Reliability diagram",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _style(ax)
    return png(fig)


def importance(
    features: Sequence[str], values: Sequence[float], errors: Sequence[float] | None, xlabel: str, title: str
) -> bytes:
    n = len(features)
    fig = _figure(6.4, max(2.4, 0.38 * n + 1.0))
    ax = fig.add_subplot()
    pos = np.arange(n)[::-1]
    ax.barh(pos, values, xerr=errors, color=ACCEPT, ecolor=GREY, capsize=3)
    ax.set_yticks(pos, list(features))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    _style(ax)
    return png(fig)


def leaderboard(models: Sequence[str], means: Sequence[float], stds: Sequence[float] | None, metric: str) -> bytes:
    n = len(models)
    fig = _figure(6.4, max(2.4, 0.38 * n + 1.0))
    ax = fig.add_subplot()
    pos = np.arange(n)[::-1]
    ax.barh(pos, means, xerr=stds, color=REJECT, ecolor=GREY, capsize=3)
    for p, m, sd in zip(pos, means, stds if stds is not None else [0.0] * n):
        ax.text(m + sd, p, f"  {m:.3f}", va="center", fontsize=8)
    ax.set_yticks(pos, list(models))
    ax.set_xlabel(f"{metric} (mean, whiskers: std over folds)")
    ax.set_xlim(0, 1.08)
    ax.set_title("Model comparison")
    _style(ax)
    return png(fig)


def score_distribution(p: np.ndarray, threshold: float) -> bytes:
    """For unlabelled data: how many customers sit at each probability."""
    fig = _figure(6.4, 3.4)
    ax = fig.add_subplot()
    ax.hist(p, bins=40, color=REJECT)
    ax.axvline(threshold, color=ACCEPT, linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set_yscale("log")
    ax.set(xlabel="predicted probability of accepting", ylabel="customers (log scale)", title="Scores")
    ax.legend(frameon=False)
    _style(ax)
    return png(fig)
