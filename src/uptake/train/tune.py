"""Re-choosing a saved model's threshold on labelled rows, stored as a new version of the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from uptake.artifact import check_model_out, write_card
from uptake.artifact.card import RuleCard
from uptake.decide.thresholds import Rule
from uptake.errors import UptakeInputError, where
from uptake.io.tables import file_sha256
from uptake.pipeline import Model
from uptake.pipeline.fingerprint import in_sample_note
from uptake.pipeline.rows import score_table
from uptake.schema import DEFAULT_POLICY, Policy
from uptake.schema.target import encode_target


def tune_model(
    model: str | Path,
    df: pd.DataFrame,
    rule: Rule,
    source: object | None = None,
    out: str | Path | None = None,
    skip_invalid: bool = False,
    policy: Policy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """Choose the threshold with ``rule`` on labelled rows and store it; return the new ``threshold_rule``.

    ``out=None`` (or the model's own directory) publishes a new version of MODEL; another
    ``out`` gets a copy of the model with the new threshold. Either way the change is a
    whole new version swapped in atomically, like a freshly trained model.
    """
    m = Model.load(model, policy=policy)
    target = m.schema.target
    if target not in df.columns:
        raise UptakeInputError(f"{where(file=source, column=target)}: target column is missing; tuning needs labels")
    table = score_table(m, source, df=df, skip_invalid=skip_invalid)
    y, _, _ = encode_target(table.rows[target], m.schema.positive_label, source)
    choice = rule.choose(y, table.scored.probability, data=f"file '{source}'")
    sha = file_sha256(source) if source is not None and Path(str(source)).exists() else None
    entry = choice.to_dict(chosen_on=f"file '{source}'" if source is not None else "given rows")
    entry["data_sha256"] = sha
    seen_note = in_sample_note(table.rows_seen, len(table.scored.probability))
    if seen_note:  # the rows themselves, whatever the file's format or order (the hash caught one file only)
        entry["warning"] = f"{seen_note}; a threshold chosen on them is optimistic"
    elif sha is not None and sha == m.card.data.sha256:
        entry["warning"] = "tuned on the training file: the figures are optimistic"
    previous = {"threshold": m.threshold, **m.card.threshold_rule.entry()}
    previous.pop("expected", None)
    card = m.card.model_copy(
        update={
            "threshold": choice.threshold,
            "threshold_rule": RuleCard.model_validate(entry),
            "previous_threshold_rule": previous,
        }
    )
    dest = check_model_out(Path(out) if out is not None else m.path)
    write_card(dest, card, m.version_dir)
    stored = RuleCard.model_validate(entry).entry()
    stored["rows"] = table.summary()  # not stored: what the caller tells the user about the rows
    stored["notes"] = table.notes(policy.strict)
    return stored


__all__ = ["tune_model"]
