"""Rendering the report: a Jinja2 template, escaped text with `code` spans, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from uptake.io.atomic import atomic_dir, atomic_file
from uptake.report.model import Figure, Section


def render(sections: list[Section], title: str, subtitle: str) -> str:
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
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # unbalanced: leave as plain text
        return escape(text)
    return Markup("").join(
        escape(p) if i % 2 == 0 else Markup("<code>") + escape(p) + Markup("</code>") for i, p in enumerate(parts)
    )


def write_atomically(out: Path, html: str, files_dir: Path, figures: list[Figure]) -> None:
    """Figures folder first (swapped in whole), then the HTML (renamed into place)."""
    with atomic_dir(files_dir) as tmp_dir:
        for f in figures:
            (tmp_dir / f.name).write_bytes(f.png)
    with atomic_file(out) as tmp:
        tmp.write_text(html, encoding="utf-8")


__all__ = ["render", "write_atomically"]
