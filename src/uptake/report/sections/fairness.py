"""The report's fairness section: are groups of customers called, and found, alike? (``uptake.decide.fairness``)."""

from __future__ import annotations

from uptake.decide.fairness import GroupSpec, fairness_table, group_labels, parse_group
from uptake.report.model import Context, Section, TableBlock, new_section


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def fairness(ctx: Context) -> Section:
    s = new_section("fairness")
    s.paragraphs.append(
        "Fair-lending reviewers ask whether the model treats groups of customers alike. Per group: the share "
        f"called (selection rate), the share of {ctx.positives} it finds (recall, 'equal opportunity') and the "
        "precision of its calls, each also as a ratio to the best-treated group; a ratio below 0.8 fails the "
        "four-fifths rule and is flagged. A lower share called can follow a lower share of "
        f"{ctx.positives} in the group, which recall separates."
    )
    groups = getattr(ctx, "groups", None) or []
    if not groups:
        s.notes.append("Pass --group COLUMN (or COLUMN:edges, e.g. Age:35,45,55) to `uptake report` for this section.")
        return s
    if not ctx.labelled:
        s.notes.append("Needs a labelled table (--data with the outcome column).")
        return s
    p, y, clean = ctx.ev.part(ctx.ev.eval_name)
    decision = ctx.model.decide(p)
    for text in groups:
        spec = GroupSpec(text) if text in clean.columns else parse_group(text)
        if spec.column not in clean.columns:
            s.notes.append(f"--group {text!r}: not one of the model's input columns.")
            continue
        t = fairness_table(y, decision, group_labels(clean[spec.column].reset_index(drop=True), spec), spec)
        rows = [
            [
                r["group"],
                f"{r['customers']:,}",
                f"{r['acceptors']:,} ({_pct(r['base_rate'])})",
                _pct(r["selection_rate"]) + _band(r["intervals"].get("selection_rate"), True),
                _ratio(r["selection_rate_ratio"]) + _band(r["intervals"].get("selection_rate_ratio")),
                _pct(r["recall"]) + _band(r["intervals"].get("recall"), True),
                _ratio(r["recall_ratio"]) + _band(r["intervals"].get("recall_ratio")),
                _pct(r["precision"]),
                "too few to judge"
                if r["small"]
                else ", ".join(f + (" (uncertain)" if f in r["uncertain"] else "") for f in r["flags"]) or "-",
            ]
            for r in t["groups"]
        ]
        s.tables.append(
            TableBlock(
                ["group", "customers", ctx.positives, "called", "ratio", "recall", "ratio", "precision", "flag"],
                rows,
                f"By {t['group']} ({ctx.ev.eval_label}); in brackets {t['intervals']}",
            )
        )
        s.paragraphs.append(t["summary"])
    return s


def _band(ci: tuple[float, float] | None, percent: bool = False) -> str:
    """A 95% interval in brackets, '' where there is none."""
    if not ci:
        return ""
    return f" ({ci[0]:.1%}-{ci[1]:.1%})" if percent else f" ({ci[0]:.2f}-{ci[1]:.2f})"


__all__ = ["fairness"]
