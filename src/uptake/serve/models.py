"""The models a service has loaded, with everything it derives from each once, at start.

Each is the model's scoring pipeline (``uptake.pipeline.Model``) with its compiled
numpy backend (checked against the pipeline at start-up; the reference path is used
where it cannot be), its request validators built from the stored schema with the
service's policy, and its form defaults from the kinds' typical values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from uptake.errors import UptakeInputError
from uptake.explain import reasons
from uptake.features import typical_values
from uptake.io.jsonable import jsonable
from uptake.pipeline import Model
from uptake.schema import KINDS, Policy
from uptake.serve.config import ServeConfig
from uptake.serve.requests import RequestModels, build_request_models

log = logging.getLogger("uptake.serve")
#: Reasons per customer when a request asks for them.
REASONS_K = 3


def form_defaults(model: Model) -> dict[str, Any]:
    """A typical customer for the web form: each kind's typical value (numbers, flags as 0/1, categories)."""
    typical = typical_values(model.preprocessor, model.schema)
    return {c.name: KINDS[c.kind].form_value(c, typical[c.name]) for c in model.schema.columns}


@dataclass
class ServedModel:
    """One loaded model with its request validators and form defaults."""

    key: str
    model: Model
    requests: RequestModels
    defaults: dict[str, Any]

    @property
    def threshold(self) -> float:
        return self.model.threshold

    @property
    def fast(self) -> Any:
        return self.model.fast

    def score(self, rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        return self.model.score_rows(rows)

    def warnings(self, rows: list[dict[str, Any]]) -> list[list[str]]:
        """Each validated row's unusual values, in the words files get (``Schema.flag_records``)."""
        return self.model.schema.flag_records(rows)

    def explain(self, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Top reasons per customer (``uptake.explain``), run on the compiled backend where there is one."""
        try:
            clean = self.model.validate(self.model.rows_frame(rows)).clean
            return [[jsonable(r) for r in found] for found in reasons(self.model, clean, REASONS_K, fast=True)]
        except Exception as exc:  # noqa: BLE001 - a missing explanation must not fail a prediction
            log.warning("reasons unavailable: %s", exc)
            return [[] for _ in rows]

    def summary(self, champion: bool) -> dict[str, Any]:
        """What ``/api/v1/model`` tells a client; no server paths."""
        card = self.model.card
        return {
            "version": self.key,
            "champion": champion,
            "name": self.model.path.name,
            "created": card.created,
            "model_type": card.model_type,
            "preset": card.preset,
            "threshold": self.threshold,
            "threshold_rule": card.threshold_rule.entry(),
            "metrics": jsonable(card.metrics.model_dump()),
            "target": self.model.schema.target,
            "positive_label": self.model.schema.positive_label,
            "positive_name": card.positive_name,
            "schema": self.model.schema.to_dict(),
            "training_rows": card.data.rows,
            "training_positives": card.data.positives,
            "fast_path": self.fast is not None,
            "reasons": True,  # per-customer reasons available (?reasons=true)
            "uptake_version": card.versions.get("uptake"),
        }


def load_models(config: ServeConfig) -> dict[str, ServedModel]:
    if not config.model_dirs:
        raise UptakeInputError("give at least one model directory")
    policy = Policy(range_margin=config.range_margin, strict=config.strict)
    served: dict[str, ServedModel] = {}
    for d in config.model_dirs:
        model = Model.load(d, policy=policy)
        key = model.version
        if key in served:  # two models saved in the same second: tell them apart by folder
            key = f"{key}-{model.path.name}"
        if config.fast_path:
            model.compile_fast()
        served[key] = ServedModel(
            key,
            model,
            build_request_models(model.schema, config.range_margin, config.max_rows, strict=config.strict),
            form_defaults(model),
        )
    return served


__all__ = ["REASONS_K", "ServedModel", "form_defaults", "load_models"]
