"""Writing a trained model: its card (``uptake.artifact.card``) and its parts, as one new version."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata as dist
from pathlib import Path

import uptake
from uptake.artifact import ESTIMATOR, PREPROCESSOR, ModelCard, save_model
from uptake.decide.calibration import probability_note, save_calibrator
from uptake.drift.profile import PROFILE
from uptake.features import save_preprocessor
from uptake.io.jsonable import jsonable, write_json
from uptake.pipeline import fingerprint
from uptake.schema.target import positive_name
from uptake.train.fit import Trained

#: Distributions whose versions a card records (read from package metadata: nothing is imported).
RECORDED = ("keras", "jax", "scikit-learn", "numpy", "pandas", "lightgbm")


def versions(libraries: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    """uptake's, Python's and the recorded libraries' versions, plus every library whose files the model
    holds (``Family.libraries``: CatBoost inside an ``auto`` model is named)."""
    out = {
        "uptake": uptake.__version__,
        "python": platform.python_version(),
        "keras_backend": os.environ.get("KERAS_BACKEND", "jax"),
    }
    for name in dict.fromkeys([*RECORDED, *libraries]):
        try:
            out[name] = dist.version(name)
        except dist.PackageNotFoundError:
            continue
    return out


def build_card(trained: Trained) -> ModelCard:
    """The model card of a freshly trained model."""
    est, cfg, fitted = trained.fitted.estimator, trained.config, trained.fitted
    created = datetime.now(UTC)
    schema = trained.prepared.schema
    imbalance = est.imbalance_info()
    return ModelCard.model_validate(
        {
            "version": f"{created:%Y%m%d-%H%M%S}",
            "created": created.isoformat(timespec="seconds"),
            "model_type": cfg.model,
            "schema": schema,
            "target": schema.target,
            "positive_label": schema.positive_label,
            "positive_name": positive_name(schema.target, cfg.positive_name),
            "threshold": fitted.threshold,
            "threshold_rule": jsonable(fitted.threshold_rule),
            "preset": cfg.preset if cfg.model in ("network", "ensemble") else None,
            "hyperparameters": jsonable(est.hyperparameters()),
            "imbalance": jsonable(imbalance),
            "calibration": jsonable(fitted.calibration),
            "probability_note": probability_note(imbalance.get("strategy"), (fitted.calibration or {}).get("method")),
            "numeric_encoding": est.numeric_encoding(),
            "categorical_encoding": est.categorical_encoding(),
            "metrics": jsonable({"validation": fitted.validation, "test": trained.test}),
            "data": {
                "file": trained.source,
                "sha256": trained.sha256,
                "rows": len(trained.prepared.y),
                "positives": int(trained.prepared.y.sum()),
                "split_rows": trained.split_rows,
                "summary": jsonable(trained.prepared.summary.to_dict()),
            },
            "train_config": jsonable(asdict(cfg)),
            "fit_seconds": fitted.fit_seconds,
            "final_refit": jsonable(trained.final_refit),
            "explanation": jsonable(trained.explanation),
            "fingerprint": (
                fingerprint.card_entry(trained.fingerprint, trained.fingerprint_of)
                if trained.fingerprint is not None
                else None
            ),
            "seed": cfg.seed,
            "versions": versions(est.libraries()),
        }
    )


def save(trained: Trained, out: str | Path) -> Path:
    """Write the model as a new version of ``out`` (see ``uptake.artifact.store``)."""
    fitted = trained.fitted

    def parts(tmp: Path) -> None:
        save_preprocessor(fitted.preprocessor, tmp / PREPROCESSOR)
        fitted.estimator.save(tmp / ESTIMATOR)
        if fitted.calibrator is not None:
            save_calibrator(fitted.calibrator, tmp)
        if trained.profile is not None:
            write_json(tmp / PROFILE, trained.profile)
        if trained.fingerprint is not None:
            fingerprint.save(trained.fingerprint, tmp / fingerprint.FINGERPRINT)

    history = fitted.estimator.training_history()
    return save_model(Path(out), build_card(trained), jsonable(history), parts)


__all__ = ["build_card", "save", "versions"]
