"""The monitoring report as one self-contained HTML page: traffic lights and, per column, reference vs now."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure

from uptake.io.atomic import write_text

TEMPLATES = Path(__file__).with_name("templates")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _bars(name: str, labels: list[str], ref: np.ndarray, now: np.ndarray) -> str:
    fig = Figure(figsize=(4.4, 2.6))
    ax = fig.subplots()
    x = np.arange(len(labels))
    ax.bar(x - 0.2, ref, 0.4, label="training", color="#90a4ae")
    ax.bar(x + 0.2, now, 0.4, label="now", color="#1565c0")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("share of rows")
    ax.set_title(name, fontsize=10)
    ax.legend(fontsize=7)
    return _png(fig)


def _shares(counts: list[int]) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    return c / c.sum() if c.sum() else c


def _labels(entry: dict[str, Any]) -> list[str]:
    if entry["kind"] == "numeric":
        edges = entry["edges"]
        return [f"<={edges[0]:.3g}"] + [f"<={e:.3g}" for e in edges[1:]] + [f">{edges[-1]:.3g}"] if edges else ["all"]
    return [str(c) for c in entry["categories"]]


def drift_rows(
    report: dict[str, Any], reference: dict[str, Any], now: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The table's rows and one reference-vs-now chart per column and for the score."""
    rows, figures = [], []
    for name, d in report["columns"].items():
        extra = (
            f"{d['out_of_range_reference']:.1%} / {d['out_of_range_now']:.1%}"
            if d["kind"] == "numeric"
            else ", ".join(f"{k} ({v})" for k, v in list(d["new_categories"].items())[:5]) or "none"
        )
        rows.append(
            {
                "name": name,
                "band": d["band"],
                "psi": d["psi"],
                "test": d["test"],
                "p_value": d["p_value"],
                "missing": f"{d['missing_reference']:.1%}, {d['missing_now']:.1%}",
                "extra": extra,
            }
        )
        ref_c, now_c = reference["columns"][name], now["columns"][name]
        figures.append(
            {"name": name, "png": _bars(name, _labels(ref_c), _shares(ref_c["counts"]), _shares(now_c["counts"]))}
        )
    if report["score"] is not None:
        s = report["score"]
        rows.append(
            {
                "name": "score",
                "band": s["band"],
                "psi": s["psi"],
                "test": s["test"],
                "p_value": s["p_value"],
                "missing": "",
                "extra": "",
            }
        )
        c = report.get("call_rate")
        if c is not None:
            rows.append(
                {
                    "name": "call rate",
                    "band": c["band"],
                    "psi": None,
                    "test": "z-test",
                    "p_value": c["p_value"],
                    "missing": "",
                    "extra": c["sentence"],
                }
            )
        labels = _labels({"kind": "numeric", "edges": reference["score"]["edges"]})
        figures.append(
            {
                "name": "score",
                "png": _bars("score", labels, np.asarray(s["reference_shares"]), np.asarray(s["now_shares"])),
            }
        )
    return rows, figures


def traffic_png(activity: dict[str, Any]) -> str | None:
    """Rows scored per day, one line per model version."""
    if not activity["traffic"]:
        return None
    fig = Figure(figsize=(6.4, 2.6))
    ax = fig.subplots()
    for version, days in activity["traffic"].items():
        ax.plot(list(days), [d["rows"] for d in days.values()], marker="o", label=version)
    ax.set_ylabel("customers scored")
    ax.set_title("Traffic per day", fontsize=10)
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


def scores_png(activity: dict[str, Any]) -> str | None:
    """Median score per week with the middle half shaded, per model version."""
    if not activity["scores"]:
        return None
    fig = Figure(figsize=(6.4, 2.6))
    ax = fig.subplots()
    for version, weeks in activity["scores"].items():
        x = list(weeks)
        ax.plot(x, [w["median"] for w in weeks.values()], marker="o", label=f"{version} median")
        ax.fill_between(x, [w["q25"] for w in weeks.values()], [w["q75"] for w in weeks.values()], alpha=0.25)
    ax.set_ylabel("probability")
    ax.set_title("Score distribution per week (median, middle half)", fontsize=10)
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


def drift_context(report: dict[str, Any], reference: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """What ``_drift.html`` shows (the CLI's page and the service's ``/monitor``)."""
    rows, figures = drift_rows(report, reference, now)
    return {
        "rows": rows,
        "figures": figures,
        "worst": report["worst"],
        "rows_now": f"{report['rows_now']:,}",
        "rows_reference": f"{report['rows_reference']:,}",
        "call_sentence": (report.get("call_rate") or {}).get("sentence"),
    }


def render(
    report: dict[str, Any], reference: dict[str, Any], now: dict[str, Any], model: str, positive_name: str = "acceptors"
) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    return env.get_template("page.html").render(
        drift=drift_context(report, reference, now),
        model=model,
        source=report.get("source", ""),
        outcomes=report.get("outcomes"),
        fairness=report.get("fairness"),
        positive_name=positive_name,
    )


def write_page(
    out: Path,
    report: dict[str, Any],
    reference: dict[str, Any],
    now: dict[str, Any],
    model: str,
    positive_name: str = "acceptors",
) -> None:
    write_text(out, render(report, reference, now, model, positive_name))


__all__ = ["TEMPLATES", "drift_context", "drift_rows", "render", "scores_png", "traffic_png", "write_page"]
