"""Training the network's ensemble members: arrays, balanced batches, early stopping, checkpoints.

A mixin of ``NetworkClassifier`` (``uptake.models.network.classifier``): the fitting
half of the estimator, kept apart from prediction and persistence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from uptake.errors import UptakeInputError
from uptake.imbalance import binary_labels, class_weights, initial_bias, oversample, smote
from uptake.imbalance.batches import BalancedBatches
from uptake.models.network.build import SharedTrainer, build_model, column, compile_metrics, optimizer
from uptake.models.network.config import BIG_TABLE, NetworkConfig, members_for
from uptake.models.network.tabm import ensemble_cross_entropy

#: Folds of cross-fitted members (``NetworkConfig.bagging``): each trains on 80% of the pooled rows.
BAGGING_FOLDS = 5
MIN_EVAL_BATCH = 8192
"""Smallest batch for validation and the pre-training evaluation (no gradients, so big is cheap)."""


def as_features(X: Any, name: str = "X") -> np.ndarray:
    arr = np.asarray(X, dtype=np.float32)
    if arr.ndim != 2:
        raise UptakeInputError(f"{name} must be a 2-d array of rows by features, got shape {arr.shape}")
    return arr


def compiled(config: NetworkConfig, model: keras.Model) -> keras.Model:
    """Compile for training: the loss, and (for plain MLPs) the metrics whose names the history keeps.

    A TabM network predicts ``k`` probabilities per row; its loss is their mean cross-entropy,
    and its validation figures are those of their mean (:class:`EnsembleValidation`)."""
    if config.architecture == "tabm":
        model.compile(optimizer=optimizer(config), loss=ensemble_cross_entropy)
    else:
        model.compile(optimizer=optimizer(config), loss=keras.losses.BinaryCrossentropy(), metrics=compile_metrics())
    return model


class EnsembleValidation(keras.callbacks.Callback):
    """Validation figures of the mean of a TabM network's submodels, each epoch, for early stopping."""

    def __init__(self, X_val: Any, y_val: Any) -> None:
        super().__init__()
        self.x, self.y = np.asarray(X_val, dtype=np.float32), np.asarray(y_val).astype(int).reshape(-1)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        p = np.asarray(self.model.predict(self.x, batch_size=MIN_EVAL_BATCH, verbose=0), dtype=np.float64).mean(axis=1)
        q = np.clip(p, 1e-7, 1 - 1e-7)
        ce = float(-np.mean(self.y * np.log(q) + (1 - self.y) * np.log(1 - q)))
        if logs is not None:
            logs.update(
                val_loss=ce,
                val_cross_entropy=ce,
                val_pr_auc=float(average_precision_score(self.y, p)),
                val_roc_auc=float(roc_auc_score(self.y, p)),
            )


class TrainingMixin:
    """``fit`` and its helpers; expects the ``NetworkClassifier`` parameters on ``self``."""

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        X_val: Any | None = None,
        y_val: Any | None = None,
        sample_weight: Any | None = None,
    ) -> TrainingMixin:
        """Train ``n_models`` networks with seeds ``seed, seed + 1, ...`` and keep them all.

        Without ``X_val``/``y_val`` a stratified ``validation_fraction`` of ``X`` is held
        out (with ``seed``) for validation metrics and early stopping, so plain
        ``fit(X, y)`` works inside scikit-learn cross-validation.

        ``X`` may also be a ``keras.utils.PyDataset`` of already balanced ``(x, y)``
        batches (``y`` is then ignored), for tables larger than memory; see
        :meth:`_fit_batches`.
        """
        if isinstance(X, keras.utils.PyDataset):
            return self._fit_batches(X, X_val, y_val)
        config = self.resolved_config()
        X = as_features(X)
        y = binary_labels(y)
        if len(X) != len(y):
            raise UptakeInputError(f"X has {len(X)} rows but y has {len(y)}")
        if not np.isfinite(X).all():
            raise UptakeInputError("X contains NaN or infinite values; preprocess them first")
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
            if len(sw) != len(y):
                raise UptakeInputError(f"sample_weight has {len(sw)} rows but y has {len(y)}")
            if config.imbalance == "smote":
                raise UptakeInputError(
                    "sample_weight cannot be combined with imbalance 'smote' (synthetic rows have no weight)"
                )

        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        external_validation = X_val is not None
        if X_val is not None:
            X_val = as_features(X_val, "X_val")
            y_val = binary_labels(y_val)
            if X_val.shape[1] != X.shape[1] or len(X_val) != len(y_val):
                raise UptakeInputError(
                    f"X_val must have {X.shape[1]} columns and as many rows as y_val, got shape {X_val.shape}"
                )
            X_train, y_train, sw_train = X, y, sw
        elif self.validation_fraction > 0:
            X_train, y_train, sw_train, X_val, y_val = self._split(X, y, sw)
        else:
            X_train, y_train, sw_train = X, y, sw
        if config.early_stopping and X_val is None:
            raise UptakeInputError(
                "early_stopping needs validation data: set validation_fraction above 0 or pass X_val"
            )

        config = members_for(config, len(y_train) + (len(y_val) if config.bagging and y_val is not None else 0))
        self.config_ = config
        self.n_features_in_ = int(X.shape[1])
        self.classes_ = np.array([0, 1])
        self.models_: list[keras.Sequential] = []
        self.history_: list[dict[str, list[float]]] = []
        self.first_epoch_loss_: list[float] = []
        self._forward = None
        self.validation_oof_: np.ndarray | None = None

        folds = self._bagging_folds(config, y_train, y_val, sw_train)
        n_fit = len(y_train)
        if folds is not None:  # every member draws its rows from the pooled training and validation rows
            pool_x, pool_y = np.concatenate([X_train, X_val]), np.concatenate([y_train, y_val])
            oof, held_by = np.zeros(len(y_val)), np.zeros(len(y_val))

        bias = 0.0
        if config.initial_bias and config.imbalance in ("none", "class-weight"):
            # The resampling strategies train on 50/50 data, where log(pos/neg) = 0:
            # the tutorial resets the bias for its resampled model for this reason.
            bias = initial_bias(y_train if folds is None else pool_y)
        self.initial_bias_ = float(bias)

        eval_batch = max(config.batch_size, MIN_EVAL_BATCH)
        shared = SharedTrainer(config, X.shape[1], bias) if config.n_models > 1 else None
        for member in range(config.n_models):
            member_seed = int(self.seed) + member
            if folds is None:
                x_fit, y_fit, sw_fit, x_stop, y_stop = X_train, y_train, sw_train, X_val, y_val
            else:
                fit_rows, stop_rows = folds[member]
                x_fit, y_fit, sw_fit = pool_x[fit_rows], pool_y[fit_rows], None
                x_stop, y_stop = pool_x[stop_rows], pool_y[stop_rows]
            keras.utils.set_random_seed(member_seed)
            model = build_model(config, X.shape[1], bias, name=f"member{member}")
            if shared is None:
                trainee = compiled(config, model)
            else:
                trainee = shared.load(model)
            start = trainee.evaluate(x_fit, column(y_fit), batch_size=eval_batch, verbose=0, return_dict=True)
            self.first_epoch_loss_.append(float(start.get("cross_entropy", start["loss"])))

            fit_kwargs: dict[str, Any] = dict(
                epochs=config.epochs,
                validation_data=None if config.architecture == "tabm" or x_stop is None else (x_stop, column(y_stop)),
                validation_batch_size=eval_batch,
                callbacks=self._callbacks(config, member, x_stop, y_stop),
                verbose=self.verbose,
            )
            if config.imbalance == "balanced-batches":
                data = BalancedBatches(x_fit, y_fit, config.batch_size, member_seed, sample_weight=sw_fit)
                history = trainee.fit(data, shuffle=False, **fit_kwargs)
            else:
                xs, ys, ws = self._training_arrays(config, x_fit, y_fit, sw_fit, member_seed)
                history = trainee.fit(
                    xs, ys, sample_weight=ws, batch_size=config.batch_size, shuffle=True, **fit_kwargs
                )
            if folds is not None:  # the validation rows this member never trained on
                held = stop_rows[stop_rows >= n_fit]
                held_by[held - n_fit] += 1
                oof[held - n_fit] += np.asarray(
                    trainee.predict(pool_x[held], batch_size=eval_batch, verbose=0), dtype=np.float64
                ).mean(axis=-1)
            if shared is not None:
                shared.store(model)
            self.models_.append(model)
            self.history_.append({key: [float(v) for v in values] for key, values in history.history.items()})
        if folds is not None and external_validation:
            self.validation_oof_ = oof / np.maximum(held_by, 1)  # a 10-member fit's last repeat may be partial
        return self

    def _bagging_folds(
        self, config: NetworkConfig, y_train: np.ndarray, y_val: np.ndarray | None, sw: np.ndarray | None
    ) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Member ``i``'s rows of the pooled training and validation rows: (trains on, stops on).

        ``None`` (every member trains on the training rows and stops on the validation rows) unless
        the configuration asks for cross-fitted members and they can be had: several members,
        early stopping on validation rows, no sample weights (the validation rows have none), and
        at least one row of each class per fold.
        """
        if not (
            config.bagging
            and config.n_models > 1
            and config.early_stopping
            and y_val is not None
            and sw is None
            and config.architecture == "mlp"
        ):
            return None
        pooled = np.concatenate([y_train, y_val])
        if np.bincount(pooled, minlength=2).min() < config.n_models:
            return None
        k = min(config.n_models, BAGGING_FOLDS)
        folds = []
        for repeat in range(-(-config.n_models // k)):  # more members than folds: new folds, as repeated CV
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=int(self.seed) + 1000 * repeat)
            folds += [(np.sort(a), np.sort(b)) for a, b in splitter.split(np.zeros(len(pooled)), pooled)]
        return folds[: config.n_models]

    def held_out_validation(self) -> np.ndarray | None:
        """Cross-fitted members: each validation row's probability from the member that stopped on it."""
        return getattr(self, "validation_oof_", None)

    def _fit_batches(self, data: keras.utils.PyDataset, X_val: Any, y_val: Any) -> TrainingMixin:
        """Train from a dataset that streams balanced batches (``uptake.train.stream``).

        The dataset does the balancing, so the output bias starts at 0 as for the other
        50/50 strategies; validation is an in-memory (bounded) sample, which early
        stopping watches. ``first_epoch_loss_`` is measured on that sample here.
        """
        config = self.resolved_config()
        if X_val is None or y_val is None:
            raise UptakeInputError("training from a batch stream needs X_val and y_val")
        X_val, y_val = as_features(X_val, "X_val"), binary_labels(y_val)
        config = members_for(config, BIG_TABLE)  # a stream is a table too big to hold
        self.config_ = config
        self.n_features_in_ = int(X_val.shape[1])
        self.classes_ = np.array([0, 1])
        self.models_, self.history_, self.first_epoch_loss_ = [], [], []
        self.initial_bias_ = 0.0
        self._forward = None
        eval_batch = max(config.batch_size, MIN_EVAL_BATCH)
        for member in range(config.n_models):
            keras.utils.set_random_seed(int(self.seed) + member)
            model = build_model(config, self.n_features_in_, 0.0, name=f"member{member}")
            compiled(config, model)
            start = model.evaluate(X_val, column(y_val), batch_size=eval_batch, verbose=0, return_dict=True)
            self.first_epoch_loss_.append(float(start.get("cross_entropy", start["loss"])))
            history = model.fit(
                data,
                shuffle=False,
                epochs=config.epochs,
                validation_data=None if config.architecture == "tabm" else (X_val, column(y_val)),
                validation_batch_size=eval_batch,
                callbacks=self._callbacks(config, member, X_val, y_val),
                verbose=self.verbose,
            )
            self.models_.append(model)
            self.history_.append({key: [float(v) for v in values] for key, values in history.history.items()})
        return self

    def _split(
        self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        try:
            train_idx, val_idx = train_test_split(
                np.arange(len(y)),
                test_size=self.validation_fraction,
                stratify=y,
                random_state=int(self.seed),
            )
        except ValueError as exc:
            raise UptakeInputError(
                f"validation_fraction {self.validation_fraction!r} cannot be stratified: {exc}"
            ) from None
        train_idx.sort()
        val_idx.sort()
        sw_train = None if sw is None else sw[train_idx]
        return X[train_idx], y[train_idx], sw_train, X[val_idx], y[val_idx]

    @staticmethod
    def _training_arrays(
        config: NetworkConfig,
        X: np.ndarray,
        y: np.ndarray,
        sw: np.ndarray | None,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Rows, labels and sample weights for an array-fed strategy."""
        if config.imbalance == "class-weight":
            weights = class_weights(y, config.class_weight_formula)  # type: ignore[arg-type]
            per_row = np.where(y == 1, weights[1], weights[0]).astype(np.float32)
            return X, column(y), per_row if sw is None else per_row * sw
        if config.imbalance == "oversample":
            # Resample row numbers rather than rows so sample weights follow their rows.
            rows, y_res = oversample(np.arange(len(y)).reshape(-1, 1), y, seed)
            rows = rows[:, 0]
            return X[rows], column(y_res), None if sw is None else sw[rows]
        if config.imbalance == "smote":
            X_res, y_res = smote(X, y, seed)
            return X_res.astype(np.float32), column(y_res), None
        return X, column(y), sw

    def _callbacks(
        self,
        config: NetworkConfig,
        member: int,
        X_val: Any = None,
        y_val: Any = None,
    ) -> list[keras.callbacks.Callback]:
        callbacks: list[keras.callbacks.Callback] = []
        if config.architecture == "tabm" and X_val is not None:
            callbacks.append(EnsembleValidation(X_val, y_val))  # before early stopping, which reads its figures
        if config.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=config.monitor,
                    mode=config.monitor_mode,
                    patience=config.patience,
                    restore_best_weights=True,
                    verbose=self.verbose,
                )
            )
        if self.checkpoint_dir is not None:
            directory = Path(self.checkpoint_dir)
            directory.mkdir(parents=True, exist_ok=True)
            callbacks.append(
                keras.callbacks.ModelCheckpoint(
                    str(directory / f"member{member}-epoch{{epoch:03d}}.keras"),
                    save_freq="epoch",
                    verbose=self.verbose,
                )
            )
        callbacks.extend(self.callbacks or [])
        return callbacks

    # ------------------------------------------------------------- prediction


__all__ = ["MIN_EVAL_BATCH", "TrainingMixin", "as_features"]
