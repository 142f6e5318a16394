"""Which model is best on this table, and by how much: a leaderboard on identical folds.

Every model sees exactly the same repeated stratified folds (scikit-learn's
``RepeatedStratifiedKFold`` with one seed), and inside each training fold the same
stratified validation part, used for early stopping, the ensemble weight and the
threshold. Each model is fitted with ``uptake.train.fit_split`` -- the training
pipeline itself, preprocessor fitted on the fold's training rows only -- so the
leaderboard measures what ``uptake train`` would build, not a re-implementation.

The ensemble is not refitted: in each fold it combines the fold's ``default`` network
(what ``--model ensemble`` uses; without it, the fold's best network by validation
PR-AUC, so the choice never looks at test rows) with the fold's LightGBM,
weighted on validation exactly as ``EnsembleClassifier`` does. Its fit time is the
sum of its members'.

Dozens of networks share a handful of shapes, so compiled XLA programs are cached
for the run (``uptake.models.network.compile_cache``).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from uptake.decide.metrics import metrics
from uptake.errors import UptakeInputError
from uptake.evaluate.compare.catalogue import ENSEMBLE, MODELS, is_network, parse_cv, resolve_models
from uptake.evaluate.compare.leaderboard import METRICS, Comparison, leaderboard, summarize
from uptake.models.blend import choose_weight
from uptake.models.compile_cache import shared_compilation_cache
from uptake.train import Fitted, Prepared, TrainConfig, fit_split, prepare

#: The network the ensemble takes where it ran (the ensemble family's own network preset).
DEFAULT_NETWORK = "default"

Progress = Callable[[int, int, str], None]


def compare(
    df: pd.DataFrame,
    target: str | None = None,
    cv: str = "5x2",
    models: Sequence[str] | str | None = None,
    seed: int = 0,
    source: object | None = None,
    positive: str | None = None,
    validation_fraction: float = 0.2,
    network_overrides: dict[str, Any] | None = None,
    progress: Progress | None = None,
    n_jobs: int = 1,
    rule: dict[str, Any] | None = None,
) -> Comparison:
    """Fit every model on every fold and build the leaderboard.

    Args:
        df: the labelled table, as read by ``uptake.data.read_table``.
        cv: ``REPEATSxFOLDS``; the default 5x2 is Dietterich's design for comparing learners.
        models: names from :data:`MODELS` (a list or ``"a,b"``); all of them by default.
        validation_fraction: share of each training fold held out for early stopping,
            the ensemble weight and the threshold.
        network_overrides: ``TrainConfig`` fields applied to the networks only (tests use
            ``{"epochs": 2}`` to stay fast).
        progress: called with ``(done, total, label)`` after each model on each fold
            (after each whole fold when ``n_jobs > 1``).
        n_jobs: folds fitted at once, each in its own process. The networks' Keras
            training loops are single-threaded Python, so a second core roughly halves
            the run; fit seconds then include the contention of running side by side.
        rule: threshold-rule options (``threshold``, ``min_recall``, ``min_precision``,
            ``contact_cost``, ``accept_value``), as ``uptake train`` takes them.
    """
    repeats, n_folds = parse_cv(cv)
    names = resolve_models(models)
    if not 0.0 < validation_fraction < 0.5:
        raise UptakeInputError(f"validation fraction {validation_fraction}: must be in (0, 0.5)")
    base = TrainConfig(target=target, positive=positive, seed=seed, **(rule or {}))
    base.check()
    prepared = prepare(df, base, source)
    if int(min(prepared.y.sum(), len(prepared.y) - prepared.y.sum())) < 2 * n_folds:
        raise UptakeInputError(f"file '{source}': too few rows of the rarer class for {n_folds}-fold CV")
    configs = {
        n: replace(base, **MODELS[n][0], **((network_overrides or {}) if is_network(n) else {}))
        for n in names
        if n != ENSEMBLE
    }
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise UptakeInputError(f"--jobs {n_jobs!r}: must be a positive integer")
    splitter = RepeatedStratifiedKFold(n_splits=n_folds, n_repeats=repeats, random_state=seed)
    plans = []
    for fold, (train_idx, test_idx) in enumerate(splitter.split(np.zeros(len(prepared.y)), prepared.y)):
        fit_idx, val_idx = _validation_split(prepared.y, train_idx, validation_fraction, seed + fold)
        plans.append(FoldPlan(fold, fold // n_folds, fit_idx, val_idx, np.sort(test_idx)))
    job = _Job(base, names, configs, len(plans))
    if n_jobs == 1 or len(plans) == 1:
        with shared_compilation_cache():
            rows = [r for plan in plans for r in job.run_fold(prepared, plan, progress)]
    else:
        rows = _run_parallel(df, source, job, plans, min(n_jobs, len(plans)), progress)
    folds = pd.DataFrame(rows)
    board = leaderboard(folds, {n: MODELS[n][1] for n in names})
    config = {
        "cv": f"{repeats}x{n_folds}",
        "repeats": repeats,
        "folds": n_folds,
        "seed": seed,
        "models": names,
        "validation_fraction": validation_fraction,
        "rows": len(prepared.y),
        "positives": int(prepared.y.sum()),
        "target": prepared.schema.target,
        "source": None if source is None else str(source),
        "network_overrides": network_overrides or {},
        "threshold_rule": base.rule().name,
    }
    return Comparison(rows, config, board, summarize(folds, board))


@dataclass(frozen=True)
class FoldPlan:
    """The rows of one fold: fitted on ``fit_idx``, validated on ``val_idx``, measured on ``test_idx``."""

    fold: int
    repeat: int
    fit_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray


@dataclass(frozen=True)
class _Job:
    """What every fold runs: the models in order and their training configs."""

    base: TrainConfig
    names: list[str]
    configs: dict[str, TrainConfig]
    n_plans: int

    def run_fold(self, prepared: Prepared, plan: FoldPlan, progress: Progress | None = None) -> list[dict[str, Any]]:
        ctx = _FoldContext(prepared, plan.fold, plan.repeat, plan.fit_idx, plan.val_idx, plan.test_idx)
        rows = []
        for name in self.names:
            rows.append(ctx.ensemble(self.base) if name == ENSEMBLE else ctx.run(name, self.configs[name]))
            if progress is not None:
                done = plan.fold * len(self.names) + len(rows)
                progress(done, self.n_plans * len(self.names), f"fold {plan.fold + 1}/{self.n_plans}: {name}")
        return rows


def _run_parallel(
    df: pd.DataFrame, source: object | None, job: _Job, plans: list[FoldPlan], n_jobs: int, progress: Progress | None
) -> list[dict[str, Any]]:
    """Folds in ``n_jobs`` fresh (spawned) processes sharing one private compilation cache.

    Spawned, not forked: JAX's threads do not survive a fork. Only the table, the
    plans and plain result dicts cross the process boundary.
    """
    done, rows = 0, []
    with (
        tempfile.TemporaryDirectory(prefix="uptake-xla-") as cache,
        ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        futures = {pool.submit(_fold_in_worker, df, source, job, plan, cache): plan for plan in plans}
        for future in as_completed(futures):
            rows.extend(future.result())
            done += len(job.names)
            if progress is not None:
                progress(done, len(plans) * len(job.names), f"fold {futures[future].fold + 1}/{len(plans)} done")
    order = {n: i for i, n in enumerate(job.names)}
    return sorted(rows, key=lambda r: (r["fold"], order[r["model"]]))


def _fold_in_worker(
    df: pd.DataFrame, source: object | None, job: _Job, plan: FoldPlan, cache: str
) -> list[dict[str, Any]]:
    with shared_compilation_cache(cache):
        return job.run_fold(_prepared_for(df, job.base, source), plan)


_PREPARED: dict[tuple[int, str], Prepared] = {}


def _prepared_for(df: pd.DataFrame, base: TrainConfig, source: object | None) -> Prepared:
    """One validated table per worker process, not one per fold (keyed by the table's content)."""
    key = (int(pd.util.hash_pandas_object(df, index=True).sum()), repr(base))
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = prepare(df, base, source)
    return _PREPARED[key]


def _validation_split(
    y: np.ndarray, train_idx: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    fit_idx, val_idx = train_test_split(train_idx, test_size=fraction, stratify=y[train_idx], random_state=seed)
    return np.sort(fit_idx), np.sort(val_idx)


def fingerprint(idx: np.ndarray) -> str:
    """A short hash of row numbers: equal fingerprints mean the models saw the same rows."""
    return hashlib.sha256(np.asarray(np.sort(idx), dtype=np.int64).tobytes()).hexdigest()[:16]


@dataclass
class _Member:
    fitted: Fitted
    p_val: np.ndarray
    p_test: np.ndarray
    predict_us: float


@dataclass
class _FoldContext:
    """One fold's rows, and the fitted models the ensemble may draw on."""

    prepared: Prepared
    fold: int
    repeat: int
    fit_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    members: dict[str, _Member] = field(default_factory=dict)

    def _row(
        self,
        name: str,
        imbalance: str,
        p_test: np.ndarray,
        threshold: float,
        fit_seconds: float,
        predict_us: float,
        **extra: Any,
    ) -> dict[str, Any]:
        m = metrics(self.prepared.y[self.test_idx], p_test, threshold)
        return {
            "model": name,
            "fold": self.fold,
            "repeat": self.repeat,
            "imbalance": imbalance,
            **{k: m[k] for k in METRICS},
            "brier": m["brier"],
            "threshold": threshold,
            "fit_seconds": fit_seconds,
            "predict_us_per_row": predict_us,
            "train_rows": len(self.fit_idx),
            "validation_rows": len(self.val_idx),
            "test_rows": len(self.test_idx),
            "train_sha": fingerprint(self.fit_idx),
            "validation_sha": fingerprint(self.val_idx),
            "test_sha": fingerprint(self.test_idx),
            **extra,
        }

    def run(self, name: str, config: TrainConfig) -> dict[str, Any]:
        clean = self.prepared.clean
        fitted = fit_split(self.prepared, self.fit_idx, self.val_idx, config)
        test_rows = clean.iloc[self.test_idx]
        pipeline = fitted.pipeline
        pipeline.proba_clean(test_rows)  # warm-up: the first call compiles the network's forward pass
        start = time.perf_counter()
        p_test = pipeline.proba_clean(test_rows)
        predict_us = (time.perf_counter() - start) / len(self.test_idx) * 1e6
        p_val = fitted.p_validation  # held out where the family trained on the validation rows too
        self.members[name] = _Member(fitted, p_val, p_test, predict_us)
        return self._row(
            name,
            _imbalance_of(fitted.estimator, config),
            p_test,
            fitted.threshold,
            fitted.fit_seconds,
            predict_us,
            validation_pr_auc=fitted.validation["pr_auc"],
        )

    def ensemble(self, base: TrainConfig) -> dict[str, Any]:
        """This fold's ``default`` network (else its best network by validation PR-AUC) + LightGBM,
        weighted on validation.

        ``default`` where it ran: it is what ``--model ensemble`` combines, and the networks'
        validation scores are not comparable across presets (a cross-fitted network's are
        out-of-fold, a single split's are on the rows it stopped early on, so they flatter it).
        """
        start = time.perf_counter()
        nets = [n for n in self.members if is_network(n)]
        best = (
            DEFAULT_NETWORK
            if DEFAULT_NETWORK in nets
            else max(nets, key=lambda n: self.members[n].fitted.validation["pr_auc"])
        )
        net, gbm = self.members[best], self.members["lightgbm"]
        y_val = self.prepared.y[self.val_idx]
        w, _ = choose_weight(y_val, net.p_val, gbm.p_val)
        choice = base.rule().choose(y_val, w * net.p_val + (1 - w) * gbm.p_val)
        combine = time.perf_counter() - start
        return self._row(
            ENSEMBLE,
            self._row_imbalance(best),
            w * net.p_test + (1 - w) * gbm.p_test,
            choice.threshold,
            net.fitted.fit_seconds + gbm.fitted.fit_seconds + combine,
            net.predict_us + gbm.predict_us,
            network=best,
            network_weight=w,
        )

    def _row_imbalance(self, network: str) -> str:
        return f"{_imbalance_of(self.members[network].fitted.estimator, None)} + none"


def _imbalance_of(estimator: Any, config: TrainConfig | None) -> str:
    return str(estimator.imbalance_info().get("strategy") or "none")


__all__ = ["FoldPlan", "compare", "fingerprint"]
