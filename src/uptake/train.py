"""Training: one table in, one saved model out.

file -> schema (inferred once) -> validate -> stratified train/validation/test
split -> preprocessor fitted on train only -> estimator (imbalance strategy, early
stopping on validation PR-AUC) -> threshold chosen on validation -> metrics on the
test split, touched once -> artifact.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

import uptake
from uptake.artifact import ESTIMATOR, PREPROCESSOR, save_model_dir
from uptake.data import DataSummary, encode_target, file_sha256, read_descriptions, read_table, resolve_target, summarize
from uptake.errors import UptakeInputError
from uptake.evaluate import metrics
from uptake.features import build_preprocessor, save_preprocessor, transform
from uptake.schema import Schema, infer_schema

#: The TF imbalanced-data tutorial's split: 64% train, 16% validation, 20% test.
DEFAULT_SPLIT = (0.64, 0.16, 0.20)


@dataclass
class TrainConfig:
    """Everything that decides a model. Stored in the model's metadata."""

    target: str | None = None
    positive: str | None = None
    drop: Sequence[str] = ()
    kinds: dict[str, str] = field(default_factory=dict)
    model: str = "network"
    preset: str = "default"
    hidden: str | None = None
    dropout: float | None = None
    learning_rate: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    imbalance: str | None = None
    class_weight_formula: str | None = None
    initial_bias: bool | None = None
    threshold: float | None = None
    min_recall: float | None = None
    min_precision: float | None = None
    contact_cost: float | None = None
    accept_value: float | None = None
    calibrate: str | None = None
    seed: int = 0
    split: tuple[float, float, float] = DEFAULT_SPLIT
    checkpoint_dir: str | None = None

    def network_params(self) -> dict[str, Any]:
        """The overrides a user set, in ``NetworkClassifier``'s parameter names."""
        params = {
            "preset": self.preset,
            "hidden": self.hidden,
            "dropout": self.dropout,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "imbalance": self.imbalance,
            "class_weight_formula": self.class_weight_formula,
            "initial_bias": self.initial_bias,
            "seed": self.seed,
            "checkpoint_dir": self.checkpoint_dir,
        }
        return params


@dataclass
class Prepared:
    """A validated training table: schema, clean feature frame and 0/1 target."""

    schema: Schema
    clean: pd.DataFrame
    y: np.ndarray
    summary: DataSummary


@dataclass
class Fitted:
    """A preprocessor + estimator pair with its validation-chosen threshold."""

    preprocessor: Any
    estimator: Any
    threshold: float
    threshold_rule: dict[str, Any]
    validation: dict[str, Any]
    fit_seconds: float
    calibrator: Any = None
    calibration: dict[str, Any] | None = None

    def proba(self, clean: pd.DataFrame, calibrated: bool = True) -> np.ndarray:
        p = np.asarray(self.estimator.predict_proba(transform(self.preprocessor, clean))[:, 1], dtype=np.float64)
        return self.calibrator(p) if calibrated and self.calibrator is not None else p


@dataclass
class Trained:
    prepared: Prepared
    fitted: Fitted
    config: TrainConfig
    test: dict[str, Any]
    split_rows: dict[str, int]
    source: str | None = None
    sha256: str | None = None


# ---- steps -------------------------------------------------------------------------------
def prepare(df: pd.DataFrame, config: TrainConfig, source: object | None = None,
            descriptions: dict[str, str] | None = None) -> Prepared:
    """Find the target, infer the schema, and validate every training row."""
    target = resolve_target(df, config.target, source)
    offset = int(df.attrs.get("row_offset", 1))
    y, pos, neg = encode_target(df[target], config.positive, source, offset)
    schema = infer_schema(df, target, drop=config.drop, kinds=config.kinds, descriptions=descriptions, source=source)
    schema.positive_label, schema.negative_label = pos, neg
    clean, errors = schema.validate(df, source=source)
    if errors:
        raise UptakeInputError(errors[0].message(source) + (f" ({len(errors) - 1} more)" if len(errors) > 1 else ""))
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < 5:
        raise UptakeInputError(
            f"file '{source}', column '{target}': only {minority} rows of the rarer class; need at least 5 to split"
        )
    return Prepared(schema, clean, y, summarize(df, schema, y))


def split_indices(y: np.ndarray, seed: int, split: Sequence[float] = DEFAULT_SPLIT) -> tuple[np.ndarray, ...]:
    """Stratified train / validation / test indices, fixed by ``seed``."""
    train_f, val_f, test_f = split
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_f, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_f / (train_f + val_f), stratify=y[rest], random_state=seed)
    return np.sort(train), np.sort(val), np.sort(test)


def build_estimator(config: TrainConfig, callbacks: Sequence[Any] = ()) -> Any:
    """The estimator named by ``config.model``, configured from the CLI's options."""
    from uptake.models.registry import make_estimator

    return make_estimator(config, callbacks=list(callbacks))


def numeric_encoding_for(estimator: Any) -> str:
    """Networks may ask for piecewise-linear numeric inputs; everything else gets standardized ones."""
    cfg = getattr(estimator, "resolved_config", None)
    if callable(cfg):
        return getattr(cfg(), "numeric_encoding", "standard")
    return getattr(estimator, "numeric_encoding", "standard")


def fit_split(
    prepared: Prepared,
    idx_train: np.ndarray,
    idx_val: np.ndarray,
    config: TrainConfig,
    callbacks: Sequence[Any] = (),
) -> Fitted:
    """Fit preprocessing on the training rows only, then the estimator, then pick the threshold."""
    start = time.perf_counter()
    estimator = build_estimator(config, callbacks)
    clean, y = prepared.clean, prepared.y
    pre = build_preprocessor(prepared.schema, numeric_encoding_for(estimator))
    pre.fit(clean.iloc[idx_train])
    x_train = transform(pre, clean.iloc[idx_train])
    x_val = transform(pre, clean.iloc[idx_val])
    estimator.fit(x_train, y[idx_train], X_val=x_val, y_val=y[idx_val])
    p_val = np.asarray(estimator.predict_proba(x_val)[:, 1], dtype=np.float64)
    calibrator, calibration = None, None
    if config.calibrate:
        from uptake.calibration import fit_calibrator

        calibrator = fit_calibrator(config.calibrate, y[idx_val], p_val)
        p_raw, p_val = p_val, calibrator(p_val)
        calibration = {"method": config.calibrate, "fitted_on": "validation", "brier_validation": {
            "before": metrics(y[idx_val], p_raw, 0.5)["brier"], "after": metrics(y[idx_val], p_val, 0.5)["brier"]}}
    choice = threshold_rule(config).choose(y[idx_val], p_val)
    return Fitted(pre, estimator, choice.threshold, choice.to_dict(), metrics(y[idx_val], p_val, choice.threshold),
                  time.perf_counter() - start, calibrator, calibration)


def threshold_rule(config: TrainConfig) -> Any:
    """The config's threshold rule (see ``uptake.thresholds``), validated."""
    from uptake.thresholds import ThresholdRule

    return ThresholdRule.from_options(config.threshold, config.min_recall, config.min_precision,
                                      config.contact_cost, config.accept_value)


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
    if config.threshold is not None and not 0.0 < config.threshold < 1.0:
        raise UptakeInputError(f"--threshold {config.threshold}: must be between 0 and 1")
    threshold_rule(config)  # bad threshold or calibration options fail before any training
    if config.calibrate is not None:
        from uptake.calibration import METHODS

        if config.calibrate not in METHODS:
            raise UptakeInputError(f"--calibrate {config.calibrate!r}: choose one of {', '.join(METHODS)}")
    if prepared is None:
        prepared = prepare(df, config, source, descriptions)
    idx_train, idx_val, idx_test = split_indices(prepared.y, config.seed, config.split)
    fitted = fit_split(prepared, idx_train, idx_val, config, callbacks)
    p_test = fitted.proba(prepared.clean.iloc[idx_test])
    test = metrics(prepared.y[idx_test], p_test, fitted.threshold)
    if fitted.calibration is not None:
        raw = fitted.proba(prepared.clean.iloc[idx_test], calibrated=False)
        fitted.calibration["brier_test"] = {"before": metrics(prepared.y[idx_test], raw, 0.5)["brier"],
                                            "after": test["brier"]}
    rows = {"train": len(idx_train), "validation": len(idx_val), "test": len(idx_test)}
    return Trained(prepared, fitted, config, test, rows, str(source) if source else None,
                   file_sha256(source) if source else None)


def train_file(
    path: str | Path, config: TrainConfig, sheet: str | None = None, callbacks: Sequence[Any] = ()
) -> Trained:
    df = read_table(path, sheet=sheet)
    return train(df, config, source=path, callbacks=callbacks, descriptions=read_descriptions(path))


# ---- saving ------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    import jax
    import keras
    import sklearn

    return {
        "uptake": uptake.__version__,
        "python": platform.python_version(),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax": jax.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def metadata(trained: Trained) -> dict[str, Any]:
    est, cfg = trained.fitted.estimator, trained.config
    resolved = est.resolved_config() if callable(getattr(est, "resolved_config", None)) else None
    hyper = asdict(resolved) if resolved is not None and hasattr(resolved, "__dataclass_fields__") else est.get_params()
    created = datetime.now(UTC)
    schema = trained.prepared.schema
    return {
        "version": f"{created:%Y%m%d-%H%M%S}",
        "created": created.isoformat(timespec="seconds"),
        "model_type": cfg.model,
        "schema": schema.to_dict(),
        "target": schema.target,
        "positive_label": schema.positive_label,
        "threshold": trained.fitted.threshold,
        "threshold_rule": trained.fitted.threshold_rule,
        "preset": cfg.preset if cfg.model in ("network", "ensemble") else None,
        "hyperparameters": _jsonable(hyper),
        "imbalance": {
            "strategy": _jsonable(hyper.get("imbalance")) if isinstance(hyper, dict) else None,
            "class_weight_formula": _jsonable(hyper.get("class_weight_formula")) if isinstance(hyper, dict) else None,
            "initial_bias": _jsonable(hyper.get("initial_bias")) if isinstance(hyper, dict) else None,
        },
        "calibration": trained.fitted.calibration,
        "probability_note": _probability_note(est, trained.fitted.calibration),
        "numeric_encoding": numeric_encoding_for(est),
        "metrics": {"validation": trained.fitted.validation, "test": trained.test},
        "data": {
            "file": trained.source,
            "sha256": trained.sha256,
            "rows": int(len(trained.prepared.y)),
            "positives": int(trained.prepared.y.sum()),
            "split_rows": trained.split_rows,
            "summary": trained.prepared.summary.to_dict(),
        },
        "train_config": _jsonable(asdict(cfg)),
        "fit_seconds": trained.fitted.fit_seconds,
        "seed": cfg.seed,
        "versions": versions(),
    }


def _probability_note(est: Any, calibration: dict[str, Any] | None) -> str:
    """Whether the stored probabilities are chances or only scores (class weights and resampling inflate them)."""
    from uptake.calibration import probability_note

    network = getattr(est, "network_", est)
    cfg = getattr(network, "config_", None)
    strategy = getattr(cfg, "imbalance", None) or getattr(est, "imbalance", None)
    return probability_note(strategy, (calibration or {}).get("method"))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.generic,)):
        return v.item()
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def save(trained: Trained, out: str | Path) -> Path:
    """Write the model directory atomically (see ``uptake.artifact``)."""

    def parts(tmp: Path) -> None:
        save_preprocessor(trained.fitted.preprocessor, tmp / PREPROCESSOR)
        (tmp / ESTIMATOR).mkdir()
        trained.fitted.estimator.save(tmp / ESTIMATOR)
        if trained.fitted.calibrator is not None:
            from uptake.calibration import save_calibrator

            save_calibrator(trained.fitted.calibrator, tmp)

    history = getattr(trained.fitted.estimator, "history_", None)
    return save_model_dir(Path(out), metadata(trained), _jsonable(history), parts)


ProgressFactory = Callable[[int], Any]
