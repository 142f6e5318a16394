"""The monitoring report as one self-contained HTML page: traffic lights and, per column, reference vs now."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, select_autoescape
from matplotlib.figure import Figure

from uptake.io.atomic import write_text

LIGHT = {"stable": "#2e7d32", "watch": "#f9a825", "act": "#c62828"}

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>uptake monitor: {{ model }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}
.light{display:inline-block;width:.9rem;height:.9rem;border-radius:50%;vertical-align:middle;margin-right:.4rem}
.grid{display:flex;flex-wrap:wrap;gap:1rem}.grid figure{margin:0;width:22rem}.grid img{width:100%}
</style></head><body>
<h1>Drift of {{ source }}</h1>
<p>Model <code>{{ model }}</code>. {{ rows_now }} rows now against {{ rows_reference }} training rows.
Worst band: <span class="light" style="background:{{ light[worst] }}"></span><strong>{{ worst }}</strong>.
PSI below 0.1 is stable, 0.1 to 0.25 watch, above 0.25 act.</p>
<table><thead><tr><th>column</th><th>band</th><th>PSI</th><th>test</th><th>p-value</th>
<th>missing (train, now)</th><th>outside training range / new categories</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.name }}</td>
<td><span class="light" style="background:{{ light[r.band] }}"></span>{{ r.band }}</td>
<td>{{ "%.3f"|format(r.psi) }}</td><td>{{ r.test }}</td><td>{{ "%.3g"|format(r.p_value) }}</td>
<td>{{ r.missing }}</td><td>{{ r.extra }}</td></tr>{% endfor %}
</tbody></table>
<div class="grid">{% for f in figures %}<figure><img alt="{{ f.name }}: reference against now" src="data:image/png;base64,{{ f.png }}">
<figcaption>{{ f.name }}</figcaption></figure>{% endfor %}</div>
</body></html>
"""


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


def render(report: dict[str, Any], reference: dict[str, Any], now: dict[str, Any], model: str) -> str:
    rows, figures = [], []
    for name, d in report["columns"].items():
        extra = (f"{d['out_of_range_reference']:.1%} / {d['out_of_range_now']:.1%}" if d["kind"] == "numeric"
                 else ", ".join(f"{k} ({v})" for k, v in list(d["new_categories"].items())[:5]) or "none")
        rows.append({"name": name, "band": d["band"], "psi": d["psi"], "test": d["test"], "p_value": d["p_value"],
                     "missing": f"{d['missing_reference']:.1%}, {d['missing_now']:.1%}", "extra": extra})
        ref_c, now_c = reference["columns"][name], now["columns"][name]
        figures.append({"name": name, "png": _bars(name, _labels(ref_c), _shares(ref_c["counts"]),
                                                   _shares(now_c["counts"]))})
    if report["score"] is not None:
        s = report["score"]
        rows.append({"name": "score", "band": s["band"], "psi": s["psi"], "test": s["test"], "p_value": s["p_value"],
                     "missing": "", "extra": ""})
        labels = _labels({"kind": "numeric", "edges": reference["score"]["edges"]})
        figures.append({"name": "score", "png": _bars("score", labels, np.asarray(s["reference_shares"]),
                                                      np.asarray(s["now_shares"]))})
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(TEMPLATE).render(rows=rows, figures=figures, light=LIGHT, model=model,
                                            source=report.get("source", ""), worst=report["worst"],
                                            rows_now=f"{report['rows_now']:,}",
                                            rows_reference=f"{report['rows_reference']:,}")


def write_page(out: Path, report: dict[str, Any], reference: dict[str, Any], now: dict[str, Any], model: str) -> None:
    write_text(out, render(report, reference, now, model))


__all__ = ["render", "write_page"]
