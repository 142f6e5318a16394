"""``uptake monitor``: profile new rows (a file, streamed, or the audit log, in chunks) and compare.

Whose scores: a file's rows are scored by the model being monitored, whatever columns
the file brings (a ``probability`` column may be another model's, or hold percentages:
it is never taken for this model's score); the audit log's rows are this model's own
predictions (its version's rows only, unless another version is named).

New rows are validated with the model's schema and the policy every other path uses:
values outside the training range and unseen categories are exactly what monitoring
must see, so they are profiled and counted as flagged cells per column (the words of
``uptake.schema.flags``), not refused; cells that cannot be scored (the wrong type) are
counted as refused cells per column and left out. The score is the model's probability:
the logged one for the audit log, otherwise computed by the model on the rows it accepts.

Only the model card (its schema) and the reference profile are read up front; the
preprocessor and estimator are loaded the first time a chunk has rows to score, so
monitoring the audit log never imports scikit-learn or the model's library (a second
or two of start-up on a run that takes ten).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from uptake.artifact import ModelCard, read_card, resolve, verify_parts
from uptake.decide.decision import decide
from uptake.drift.compare import compare_profiles
from uptake.drift.profile import PROFILE, SCORE, Counter, build_reference, check_profile
from uptake.errors import UptakeInputError
from uptake.io.chunks import DEFAULT_CHUNK_ROWS, iter_chunks
from uptake.io.jsonable import read_json
from uptake.io.tables import read_table
from uptake.schema.flags import add_summaries
from uptake.schema.kinds.base import LEARNING
from uptake.schema.table import DEFAULT_POLICY, blank_rows

if TYPE_CHECKING:
    from uptake.pipeline import Model

#: The column of uptake's scored output (and the audit log) that holds the model's score.
SCORE_COLUMN = "probability"


@dataclass
class Monitored:
    """What ``monitor`` found: the drift report plus how the rows were read."""

    drift: dict[str, Any]
    source: str
    rows_read: int
    refused: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, Any] = field(default_factory=dict)
    score_from: str = "model"
    seconds: float = 0.0
    reference: dict[str, Any] = field(default_factory=dict, repr=False)
    now: dict[str, Any] = field(default_factory=dict, repr=False)
    #: what the user must know about whose rows and scores were compared
    notes: list[str] = field(default_factory=list)
    model_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "refused_cells": self.refused,
            "flagged": self.flagged or {"rows": 0, "cells": {}},
            "score_from": self.score_from,
            "model_version": self.model_version,
            "notes": self.notes,
            "seconds": self.seconds,
            **self.drift,
        }


def _load(model_dir: Path, version: Path | None = None) -> Model:
    """The whole model, loaded when rows need scoring; the version whose card was read, or a one-line error."""
    from uptake.pipeline import Model  # scikit-learn, skops and the model's library: only when rows need scoring

    model = Model.load(model_dir)
    if version is not None and model.version_dir != version:
        raise UptakeInputError(f"file '{model_dir}': the model was replaced while monitoring ran; run it again")
    return model


def reference_of(path: Path, reference_file: Path | None, version: Path | None = None) -> dict[str, Any]:
    """The model's saved profile, or one built once from the training file of an older model."""
    saved = (version or resolve(path)) / PROFILE
    if reference_file is None:
        if not saved.is_file():
            raise UptakeInputError(
                f"file '{path / PROFILE}': this model was saved without a reference profile "
                "(before monitoring existed, or trained by train-stream); pass its training file "
                "with --reference FILE"
            )
        return check_profile(read_json(saved), path / PROFILE)
    model = _load(path, version)
    df = read_table(reference_file)
    clean, errors = model.schema.validate(df, source=reference_file, policy=LEARNING)
    if errors:  # cells of the wrong type: those rows cannot describe what the model learnt from
        keep = np.ones(len(clean), dtype=bool)
        keep[sorted({e.row - int(df.attrs.get("row_offset", 1)) for e in errors})] = False
        clean = clean.iloc[keep]
    scored = model.validate(df, source=reference_file, skip_invalid=True).clean
    scores = model.proba_clean(scored) if len(scored) else np.zeros(0)
    return build_reference(model.schema, clean, scores, model.threshold, model.decide(scores))


class _Run:
    def __init__(self, model_dir: Path, version: Path, card: ModelCard, reference: dict[str, Any]) -> None:
        self.model_dir, self.version, self.schema, self._model = model_dir, version, card.schema, None
        self.counter = Counter(reference)
        self.refused: dict[str, int] = {}
        self.flagged: dict[str, Any] = {}
        self.rows = 0
        self.score_from = "model"
        self.logged = False  # rows from the audit log (their probability is this model's), not a file
        self.ignored_score_column = False

    def add(self, df: pd.DataFrame, row_offset: int) -> None:
        self.rows += len(df)
        checked = self.schema.check(df, row_offset=row_offset, policy=DEFAULT_POLICY)
        clean, errors = checked.clean, checked.errors
        keep = ~blank_rows(df)
        if errors:
            for e in errors:
                self.refused[e.column] = self.refused.get(e.column, 0) + 1
            keep[sorted({e.row - row_offset for e in errors})] = False
        self.flagged = add_summaries(self.flagged, checked.flags.take(keep).summary())
        if not keep.all():
            clean, df = clean.iloc[keep], df.iloc[keep]
        if self.logged and SCORE_COLUMN in df.columns:  # the audit log: this version's own logged scores
            self.score_from = SCORE_COLUMN
            scores = pd.to_numeric(df[SCORE_COLUMN], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # the rows the model's own policy accepts, as predict would score them
            self._model = self._model or _load(self.model_dir, self.version)
            accepted = self._model.validate(df, row_offset=row_offset, skip_invalid=True).clean
            scores = self._model.proba_clean(accepted) if len(accepted) else np.zeros(0)
        scores = scores[np.isfinite(scores)]
        cut = self.counter.reference[SCORE].get("threshold")  # the call rate at the reference's threshold
        self.counter.add(clean, scores, decide(scores, cut) if cut is not None else None)


def _file_frames(path: Path, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, int]]:
    for chunk in iter_chunks(path, chunk_rows=chunk_rows, skip_bad_lines=True):
        yield chunk.table.to_pandas(), chunk.first_row + chunk.start


def _log_frames(
    url: str, since: datetime | None, until: datetime | None, version: str, others: dict[str, int]
) -> Iterator[tuple[pd.DataFrame, int]]:
    """The audit log's rows of model ``version`` (counting the other versions' rows in ``others``)."""
    from uptake.audit.read import FIXED, iter_log  # SQLAlchemy: only with --db

    start = 1
    for frame in iter_log(url, since, until):
        mine = (frame["model_version"] == version).to_numpy()
        for v, n in frame.loc[~mine, "model_version"].value_counts().items():
            others[str(v)] = others.get(str(v), 0) + int(n)
        frame = frame[mine]
        # the audit table's own columns are not inputs; its probability is the score
        inputs = frame[[c for c in frame.columns if c == SCORE_COLUMN or c not in FIXED]]
        inputs = inputs.rename(columns=lambda c: c.removeprefix("input."))
        yield inputs.reset_index(drop=True), start
        start += len(frame)


def monitor(
    model_dir: str | Path,
    data: str | Path | None = None,
    *,
    db: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    reference: str | Path | None = None,
    model_version: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Monitored:
    """Compare a file's rows, or the audit log's, with the model's training reference."""
    if (data is None) == (db is None):
        raise UptakeInputError("monitor: give a DATA file or --db URL (one of them)")
    started = time.perf_counter()
    model_dir = Path(model_dir)
    version = resolve(model_dir)
    card = read_card(version, model_dir)
    verify_parts(version, card, model_dir)  # the profile and the parts are the ones the card was saved with
    run = _Run(model_dir, version, card, reference_of(model_dir, Path(reference) if reference else None, version))
    others: dict[str, int] = {}
    if data is not None:
        frames = _file_frames(Path(data), chunk_rows)
    else:
        run.logged = True
        model_version = model_version or card.version  # this model's own rows, never another version's
        frames = _log_frames(str(db), since, until, model_version, others)
    for df, offset in frames:
        if not run.logged and SCORE_COLUMN in df.columns:
            run.ignored_score_column = True
        run.add(df, offset)
    if run.rows == 0:
        elsewhere = f" ({sum(others.values()):,} rows of other versions: --model-version names one)" if others else ""
        raise UptakeInputError(
            f"{data or db}: no rows to monitor"
            + (f" of model version {model_version} in that time window" if db else "")
            + elsewhere
        )
    now = run.counter.profile()
    drift = compare_profiles(run.counter.reference, now)
    notes = []
    if run.ignored_score_column:
        notes.append(
            f"the file's '{SCORE_COLUMN}' column was not used: the scores are this model's own (version "
            f"{card.version}), computed from the rows"
        )
    kept = run.counter.reference.get("score", {}).get("threshold")
    if kept is not None and abs(float(kept) - float(card.threshold)) > 1e-12:
        notes.append(
            f"the call rate is measured at the threshold the reference was built with ({kept:.4g}); the model's "
            f"threshold is now {card.threshold:.4g}"
        )
    if others:
        notes.append(
            f"left out {sum(others.values()):,} logged rows of other model versions ("
            + ", ".join(f"{v}: {n:,}" for v, n in sorted(others.items()))
            + f"); monitored version {model_version}'s"
        )
    result = Monitored(
        drift,
        str(data or db),
        run.rows,
        run.refused,
        run.flagged,
        run.score_from,
        round(time.perf_counter() - started, 3),
        run.counter.reference,
        now,
    )
    result.notes = notes
    result.model_version = card.version if data is not None else str(model_version)
    return result


def realised_report(
    model_dir: str | Path,
    url: str,
    since: datetime | None = None,
    until: datetime | None = None,
    model_version: str | None = None,
    contact_cost: float | None = None,
    accept_value: float | None = None,
    served_as: str | None = None,
) -> dict[str, Any]:
    """``monitor --outcomes``: realised figures per version and week; the given model's card is the promise."""
    from uptake.audit.db import shown  # SQLAlchemy and sklearn's metrics behind realised: only with --outcomes
    from uptake.decide.money import check_amount
    from uptake.monitor.realised import joined, realised

    model = _load(Path(model_dir))
    rule = model.card.threshold_rule
    contact_cost = check_amount("--contact-cost", contact_cost if contact_cost is not None else rule.contact_cost)
    accept_value = check_amount("--accept-value", accept_value if accept_value is not None else rule.accept_value)
    frame = joined(url, since, until, model_version)
    if frame.empty:
        raise UptakeInputError(
            f"--db {shown(url)!r}: no prediction has an imported outcome"
            + (" in that time window" if since or until else "")
            + ": import them with `uptake outcomes import FILE --id COLUMN --outcome COLUMN`"
        )
    test = model.card.metrics.test
    figures = {"precision": test.precision, "recall": test.recall, "pr_auc": test.pr_auc, "threshold": test.threshold}
    # the card is the promise of the model given, under its own version and the name the service logs it by
    promised = {str(v): figures for v in (model.version, served_as) if v}
    return realised(frame, promised, contact_cost, accept_value)


__all__ = ["SCORE_COLUMN", "Monitored", "monitor", "realised_report", "reference_of"]
