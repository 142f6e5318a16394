"""Training: one table in, one fitted scoring pipeline and its honest test figures out.

file -> schema (inferred once) -> validate -> stratified train/validation/test split
-> preprocessor fitted on train only -> the family's estimator (imbalance strategy,
early stopping on validation PR-AUC) -> calibrator and threshold chosen on validation
(``finish``, shared with streamed training and every cross-validation fold) ->
metrics on the test split, touched once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uptake.decide.calibration import fit_calibrator
from uptake.decide.metrics import metrics
from uptake.drift.profile import build_reference
from uptake.features import build_preprocessor, layout, transform
from uptake.features.groups import explanation
from uptake.io.tables import file_sha256, read_descriptions, read_table
from uptake.models import make_estimator
from uptake.models.base import scaled
from uptake.pipeline import ScoringPipeline, fingerprint
from uptake.schema.target import positive_name
from uptake.train.options import TrainConfig
from uptake.train.prepare import Prepared, prepare, split_indices
from uptake.train.sanity import few_positives, target_proxies


@dataclass
class Fitted:
    """A fitted scoring pipeline with its validation-chosen threshold and what it was chosen from."""

    pipeline: ScoringPipeline
    threshold_rule: dict[str, Any]
    validation: dict[str, Any]
    fit_seconds: float
    calibration: dict[str, Any] | None = None
    #: The validation rows' probabilities the threshold was chosen on (held out where the family
    #: trained on those rows too), for callers that combine models on validation (``compare``).
    p_validation: np.ndarray | None = None

    @property
    def estimator(self) -> Any:
        return self.pipeline.estimator

    @property
    def preprocessor(self) -> Any:
        return self.pipeline.preprocessor

    @property
    def calibrator(self) -> Any:
        return self.pipeline.calibrator

    @property
    def threshold(self) -> float:
        return self.pipeline.threshold


@dataclass
class Trained:
    prepared: Prepared
    fitted: Fitted
    config: TrainConfig
    test: dict[str, Any]
    split_rows: dict[str, int]
    source: str | None = None
    sha256: str | None = None
    #: The training split's reference profile (``uptake.drift.profile``), saved as profile.json.
    profile: dict[str, Any] | None = None
    #: A small table's served model: the measured one refit on every labelled row (``final_refit``), or None.
    final_refit: dict[str, Any] | None = None
    #: What the reasons are measured against (``uptake.features.groups.explanation``), kept in the card.
    explanation: dict[str, Any] | None = None
    #: Hashes of the rows the served model learnt from (``uptake.pipeline.fingerprint``), and which rows.
    fingerprint: np.ndarray | None = None
    fingerprint_of: str = ""


def finish(
    pipeline: ScoringPipeline, y_val: np.ndarray, p_val_raw: np.ndarray, config: TrainConfig, started: float
) -> Fitted:
    """Calibrate (if asked) and choose the threshold on the validation rows: the same for every training path."""
    calibration = None
    p_val = np.asarray(p_val_raw, dtype=np.float64)
    if config.calibrate:
        calibrator = fit_calibrator(config.calibrate, y_val, p_val)
        pipeline = pipeline.with_(calibrator=calibrator)
        p_raw, p_val = p_val, pipeline.calibrate(p_val)
        calibration = {
            "method": calibrator.method,
            "note": calibrator.note or None,
            "fitted_on": "validation",
            "brier_validation": {
                "before": metrics(y_val, p_raw, 0.5)["brier"],
                "after": metrics(y_val, p_val, 0.5)["brier"],
            },
        }
    choice = config.rule().choose(y_val, p_val)
    pipeline = pipeline.with_(threshold=choice.threshold)
    return Fitted(
        pipeline,
        choice.to_dict(),
        metrics(y_val, p_val, choice.threshold),
        time.perf_counter() - started,
        calibration,
        p_val,
    )


def fit_split(
    prepared: Prepared, idx_train: np.ndarray, idx_val: np.ndarray, config: TrainConfig, callbacks: Sequence[Any] = ()
) -> Fitted:
    """Fit preprocessing on the training rows only, then the estimator, then calibrator and threshold."""
    started = time.perf_counter()
    estimator = make_estimator(config.options(), callbacks)
    clean, y = prepared.clean, prepared.y
    pre = build_preprocessor(prepared.schema, estimator.numeric_encoding(), estimator.categorical_encoding())
    pre.fit(clean.iloc[idx_train], y[idx_train])  # the target only for target-aware bins (ple-tree)
    estimator.set_layout(layout(pre, prepared.schema))
    x_val = transform(pre, clean.iloc[idx_val])
    estimator.fit(transform(pre, clean.iloc[idx_train]), y[idx_train], X_val=x_val, y_val=y[idx_val])
    pipeline = ScoringPipeline(prepared.schema, pre, estimator)
    p_val = estimator.held_out_validation()
    if p_val is None:
        p_val = pipeline.raw_from_features(x_val)
    return finish(pipeline, y[idx_val], p_val, config, started)


def train(
    df: pd.DataFrame,
    config: TrainConfig,
    source: str | Path | None = None,
    callbacks: Sequence[Any] = (),
    descriptions: dict[str, str] | None = None,
    prepared: Prepared | None = None,
) -> Trained:
    """Train on a table and measure once on its held-out test split.

    ``prepared`` (from ``prepare(df, config, ...)``) lets a caller surface data errors
    before building anything that imports Keras, without validating the table twice.
    """
    config.check()
    if prepared is None:
        prepared = prepare(df, config, source, descriptions)
    idx_train, idx_val, idx_test = split_indices(prepared.y, config.seed, config.split, prepared.groups)
    proxies = target_proxies(prepared.schema, prepared.clean, prepared.y, idx_train, idx_val)
    prepared.summary.warnings.extend(proxies)
    fitted = fit_split(prepared, idx_train, idx_val, config, callbacks)
    test_rows, y_test = prepared.clean.iloc[idx_test], prepared.y[idx_test]
    raw = fitted.pipeline.raw_proba_clean(test_rows)
    test = metrics(y_test, fitted.pipeline.calibrate(raw), fitted.threshold)
    if fitted.calibration is not None:
        fitted.calibration["brier_test"] = {"before": metrics(y_test, raw, 0.5)["brier"], "after": test["brier"]}
    rows = {"train": len(idx_train), "validation": len(idx_val), "test": len(idx_test)}
    few = few_positives(test, positive_name(prepared.schema.target, config.positive_name))
    if few:
        prepared.summary.warnings.append(few)
    if config.final_refit is not False:
        fitted, final = final_refit(prepared, fitted)
    else:
        final = None
    train_rows = prepared.clean.iloc[idx_train]  # the reference: the served model's scores of the training split
    p_train = fitted.pipeline.proba_clean(train_rows)
    profile = build_reference(
        prepared.schema, train_rows, p_train, fitted.pipeline.threshold, fitted.pipeline.decide(p_train)
    )
    return Trained(
        prepared,
        fitted,
        config,
        test,
        rows,
        str(source) if source else None,
        file_sha256(source) if source else None,
        profile,
        final,
        explanation(prepared.schema, train_rows, config.seed),
        *_learnt(prepared, idx_train, idx_val, final is not None),
    )


def _learnt(prepared: Prepared, idx_train: np.ndarray, idx_val: np.ndarray, refit: bool) -> tuple[np.ndarray, str]:
    """The fingerprint of the rows the served model learnt from: training and validation rows, or every
    labelled row when a small table's served model was refit on all of them."""
    if refit:
        return fingerprint.build(prepared.schema, prepared.clean), "every labelled row (refit on all of them)"
    rows = prepared.clean.iloc[np.sort(np.concatenate([idx_train, idx_val]))]
    return fingerprint.build(prepared.schema, rows), "the training and validation rows"


def final_refit(prepared: Prepared, fitted: Fitted) -> tuple[Fitted, dict[str, Any] | None]:
    """A small table's last step: the measured model's kind and size trained once more on every labelled row.

    Only where the family refit itself on its validation rows (below ``REFIT_ROWS`` training rows:
    ``uptake.models.crossfit``): a fifth more rows again is worth more to a small table than a model kept
    for its test figures. The test figures stay the measured model's (trained without the test rows), the
    threshold and calibrator stay those chosen on validation, and the card says all of it.
    """
    est = fitted.estimator
    if not getattr(est, "refit_", None):
        return fitted, None
    started = time.perf_counter()
    x_all = transform(fitted.preprocessor, prepared.clean)
    scale = len(prepared.y) / est.refit_["rows"]  # the size was chosen on training + validation rows
    final = est.refit_on(x_all, prepared.y, scale)
    note = {
        "rows": len(prepared.y),
        "size": scaled(est.refit_params(), scale),
        "seconds": round(time.perf_counter() - started, 3),
        "note": "the served model is the measured one's kind and size refit on every labelled row, test rows "
        "included; the test figures are the measured model's (trained without them), the threshold and "
        "calibrator those chosen on validation",
    }
    return dataclasses.replace(fitted, pipeline=fitted.pipeline.with_(estimator=final)), note


def train_file(
    path: str | Path, config: TrainConfig, sheet: str | None = None, callbacks: Sequence[Any] = ()
) -> Trained:
    df = read_table(path, sheet=sheet)
    return train(df, config, source=path, callbacks=callbacks, descriptions=read_descriptions(path))


__all__ = ["Fitted", "Trained", "finish", "fit_split", "train", "train_file"]
