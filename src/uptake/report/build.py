"""The manager's report: one self-contained HTML file, built from a saved model.

Every number comes from the same places the CLI uses: probabilities from the
model's scoring pipeline, metrics from ``uptake.decide.metrics``, campaign figures
from ``uptake.campaign``, importance from ``uptake.explain``. The sections only
arrange and word them.

The file opens offline: each figure is a PNG embedded as a base64 data URI (and also
written into ``<name>_files/`` beside the report for slides). Both the folder and the
file are written to temporary names and renamed into place.

Which rows are shown: when DATA is the file the model was trained on (same SHA-256),
the stored split is recomputed with ``uptake.train.split_indices`` and the honest
figures use the held-out *test* rows, with train curves beside them; for any other
labelled file, every figure uses all of DATA and says so.
"""

from __future__ import annotations

from pathlib import Path

from uptake.decide.money import check_money
from uptake.io.outputs import check_output
from uptake.io.tables import file_sha256
from uptake.pipeline import Model
from uptake.pipeline.rows import score_table
from uptake.report.model import (
    DEFAULT_ACCEPT_VALUE,
    DEFAULT_CONTACT_COST,
    Context,
    Evaluation,
    ReportResult,
    Timer,
)
from uptake.report.render import render, write_atomically
from uptake.report.sections import BUILDERS, read_leaderboard
from uptake.schema import DEFAULT_POLICY, Policy
from uptake.schema.target import target_labels
from uptake.train import DEFAULT_SPLIT, split_indices
from uptake.train.sanity import DUPLICATE_SHARE, duplicate_groups


def load_evaluation(model: Model, data: Path, sheet: str | None = None) -> Evaluation:
    table = score_table(model, data, sheet=sheet, skip_invalid=True)
    scored = table.scored
    valid = table.rows
    clean = model.validate(valid).clean
    y = target_labels(model.schema, valid, data, required=False)
    card = model.card
    same = bool(card.data.sha256) and card.data.sha256 == file_sha256(data)
    split = None
    if same and y is not None and not scored.invalid_rows and len(y) == card.data.rows:
        cfg = card.train_config
        groups, duplicates = duplicate_groups(clean)  # identical rows kept on one side as training kept them
        grouped = duplicates and duplicates >= DUPLICATE_SHARE * len(clean)
        parts = split_indices(
            y, int(cfg.get("seed", card.seed)), tuple(cfg.get("split") or DEFAULT_SPLIT), groups if grouped else None
        )
        split = dict(zip(("train", "validation", "test"), parts))
    ev = Evaluation(str(data), valid, clean, scored.probability, y, same, len(scored.invalid_rows), split)
    ev.notes = table.notes(model.policy.strict)
    return ev


def build_report(
    model_dir: str | Path,
    out: str | Path,
    data: str | Path | None = None,
    compare: str | Path | None = None,
    contact_cost: float = DEFAULT_CONTACT_COST,
    accept_value: float = DEFAULT_ACCEPT_VALUE,
    sheet: str | None = None,
    shap: bool = False,
    groups: list[str] | None = None,
    policy: Policy = DEFAULT_POLICY,
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
    out = check_output(out, inputs=(data,), suffixes=(".html", ".htm"), what="the report")
    check_money(contact_cost, accept_value)
    board = read_leaderboard(Path(compare)) if compare is not None else None
    timer = Timer()
    model = Model.load(model_dir, policy=policy)
    timer.lap("load model")
    ev = load_evaluation(model, Path(data), sheet) if data is not None else None
    timer.lap("score data")
    ctx = Context(model, ev, contact_cost, accept_value, board, shap, timer)
    ctx.groups = list(groups or [])
    sections = []
    for builder in BUILDERS:
        sections.append(builder(ctx))
        timer.lap(f"section {sections[-1].id}")
    html = render(sections, ctx.title(), ctx.subtitle())
    files_dir = out.parent / f"{out.stem}_files"
    figures = [f for s in sections for f in s.figures]
    write_atomically(out, html, files_dir, figures)
    timer.lap("write")
    return ReportResult(out, files_dir, [f.name for f in figures], timer.laps, [s.title for s in sections])


__all__ = ["build_report", "load_evaluation"]
