"""A saved model, loaded whole or not at all: the scoring pipeline plus its card.

``Model.load(path)`` resolves the model directory's pointer once (see
``uptake.artifact.store``) and reads every part from that one version: the card,
validated whole; each part, checked against the card's checksums; then the parts'
fit with each other (the preprocessor reads the card's columns, the estimator takes
the preprocessor's output width, a calibrated card has its calibrator). Any problem
is one line naming the file; a model another writer replaces meanwhile is retried,
never mixed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from uptake.artifact import ESTIMATOR, HISTORY, PREPROCESSOR, ModelCard, read_card, reading, resolve, verify_parts
from uptake.decide.calibration import load_calibrator
from uptake.errors import UptakeInputError
from uptake.features import check_fitted, load_preprocessor
from uptake.models import load_estimator
from uptake.pipeline import fingerprint
from uptake.pipeline.scoring import ScoringPipeline
from uptake.schema import DEFAULT_POLICY, Policy

#: Attempts to load a model whose directory is being replaced at that moment.
LOAD_ATTEMPTS = 20


class Model(ScoringPipeline):
    """A loaded uptake model: the scoring pipeline of its parts, its card and where it came from."""

    def __init__(
        self,
        path: Path,
        card: ModelCard,
        preprocessor: Any,
        estimator: Any,
        calibrator: Any = None,
        version_dir: Path | None = None,
        policy: Policy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(card.schema, preprocessor, estimator, calibrator, card.threshold, policy)
        self.path = Path(path)
        self.version_dir = Path(version_dir or path)
        self.card = card
        self.fingerprint = fingerprint.load(self.version_dir)  # None for a model saved without one

    @classmethod
    def load(cls, path: str | Path, policy: Policy = DEFAULT_POLICY) -> Model:
        path = Path(path)
        for attempt in range(LOAD_ATTEMPTS):
            version = resolve(path)
            with reading(version) as present:
                if present or resolve(path) == version:  # not cleaned up under us: load it, or say what is wrong
                    try:
                        return cls._load_version(path, version, policy)
                    except UptakeInputError:
                        if attempt + 1 == LOAD_ATTEMPTS or resolve(path) == version:
                            raise  # the model really is damaged: it did not change under us
            time.sleep(0.01)  # replaced and cleaned up between resolving and locking: resolve again
        raise UptakeInputError(f"file '{path}': the model was replaced {LOAD_ATTEMPTS} times while loading; try again")

    @classmethod
    def _load_version(cls, path: Path, version: Path, policy: Policy) -> Model:
        card = read_card(version, path)
        verify_parts(version, card, path)
        pre = load_preprocessor(version / PREPROCESSOR)
        width = check_fitted(pre, card.schema, path / PREPROCESSOR)
        try:
            est = load_estimator(version / ESTIMATOR, card.model_type)
        except UptakeInputError as exc:
            raise UptakeInputError(str(exc).replace(str(version), str(path))) from None
        if int(est.n_features_in_) != width:
            raise UptakeInputError(
                f"file '{path / ESTIMATOR}': the estimator takes {est.n_features_in_} inputs but "
                f"the preprocessor gives {width}; the model's parts do not belong together"
            )
        calibrator = load_calibrator(version)
        if (card.calibration is None) != (calibrator is None):
            raise UptakeInputError(
                f"file '{path}': the model card and calibration.json disagree on whether the model is calibrated"
            )
        return cls(path, card, pre, est, calibrator, version, policy)

    @property
    def version(self) -> str:
        return str(self.card.version or self.path.name)

    @property
    def positive_name(self) -> str:
        return self.card.positive_name

    def history(self) -> Any:
        try:
            return json.loads((self.version_dir / HISTORY).read_text())
        except FileNotFoundError:  # none saved, or this version was cleaned up after newer ones replaced it
            return None


__all__ = ["Model"]
