"""Which model is best on this table, and by how much: a leaderboard on identical folds.

Every model sees exactly the same repeated stratified folds (scikit-learn's
``RepeatedStratifiedKFold`` with one seed), and inside each training fold the same
stratified validation part, used for early stopping, the ensemble weight and the
threshold. Each model is fitted with ``uptake.train.fit_split`` -- the training
pipeline itself, preprocessor fitted on the fold's training rows only -- so the
leaderboard measures what ``uptake train`` would build, not a re-implementation.

The ensemble is not refitted: in each fold it combines the fold's best network (by
validation PR-AUC, so the choice never looks at test rows) with the fold's LightGBM,
weighted on validation exactly as ``EnsembleClassifier`` does. Its fit time is the
sum of its members'.

Keras compiles a fresh XLA program for every new network; here dozens of networks
share a handful of shapes, so compiled programs are cached for the run in a private
temporary directory (removed afterwards; JAX's cache is trusted code, so it is never
shared or kept).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from uptake.errors import UptakeInputError
from uptake.evaluate import metrics
from uptake.train import Fitted, Prepared, TrainConfig, fit_split, prepare, threshold_rule

#: name -> (TrainConfig overrides, what it is). The tutorial's three training regimes
#: sit side by side: its own class-weighted model, its baseline and its oversampled one.
MODELS: dict[str, tuple[dict[str, Any], str]] = {
    "seed": ({"model": "network", "preset": "seed"}, "Keras loan example network"),
    "tutorial": ({"model": "network", "preset": "tutorial"}, "TF tutorial network, class-weighted"),
    "tutorial-baseline": ({"model": "network", "preset": "tutorial", "imbalance": "none"},
                          "TF tutorial network, no re-weighting"),
    "tutorial-oversample": ({"model": "network", "preset": "tutorial", "imbalance": "oversample"},
                            "TF tutorial network, oversampled"),
    "default": ({"model": "network", "preset": "default"}, "uptake's default network"),
    "logreg": ({"model": "logreg"}, "logistic regression"),
    "lightgbm": ({"model": "lightgbm"}, "LightGBM"),
    "ensemble": ({}, "best network + LightGBM"),
}
ENSEMBLE = "ensemble"
METRICS = ("pr_auc", "roc_auc", "f1", "precision", "recall")
COLUMNS = (*METRICS, "threshold", "fit_seconds", "predict_us_per_row")
FILES = {"json": "compare.json", "csv": "compare.csv", "png": "compare.png"}

Progress = Callable[[int, int, str], None]


def is_network(name: str) -> bool:
    return MODELS[name][0].get("model") == "network"


def parse_cv(text: str) -> tuple[int, int]:
    """``"5x2"`` -> 5 repeats of 2-fold CV (Dietterich's 5x2cv); ``"1x5"`` is plain 5-fold."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 2:
        raise UptakeInputError(f"--cv {text!r}: write REPEATSxFOLDS with at least 1 repeat and 2 folds, e.g. 5x2")
    return int(m.group(1)), int(m.group(2))


def resolve_models(names: Sequence[str] | str | None) -> list[str]:
    """The models to run, in leaderboard-building order (the ensemble last, after its members)."""
    if names is None:
        return list(MODELS)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise UptakeInputError(f"--models {','.join(names)!r}: choose from {', '.join(MODELS)}")
    chosen = list(dict.fromkeys(names))
    if ENSEMBLE in chosen and ("lightgbm" not in chosen or not any(is_network(n) for n in chosen)):
        raise UptakeInputError("--models: 'ensemble' needs 'lightgbm' and at least one network among the models")
    return [n for n in chosen if n != ENSEMBLE] + ([ENSEMBLE] if ENSEMBLE in chosen else [])


# ---- results ---------------------------------------------------------------------------------
@dataclass
class Comparison:
    """Per-fold results, the leaderboard built from them, and the headline findings."""

    folds: list[dict[str, Any]]
    config: dict[str, Any]
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _finite({"config": self.config, "leaderboard": self.leaderboard, "summary": self.summary,
                        "folds": self.folds})

    def frame(self) -> pd.DataFrame:
        """The leaderboard as a table (one row per model), as written to CSV."""
        return pd.DataFrame(self.leaderboard)


def leaderboard(folds: pd.DataFrame, descriptions: dict[str, str]) -> list[dict[str, Any]]:
    """Mean and standard deviation over folds per model, best PR-AUC first."""
    rows = []
    for name, g in folds.groupby("model", sort=False):
        row: dict[str, Any] = {"model": name, "description": descriptions.get(name, ""),
                               "imbalance": g["imbalance"].iloc[0], "folds": int(len(g))}
        for col in COLUMNS:
            row[f"{col}_mean"] = float(g[col].mean())
            row[f"{col}_std"] = float(g[col].std(ddof=1)) if len(g) > 1 else 0.0
        rows.append(row)
    return sorted(rows, key=lambda r: -r["pr_auc_mean"])


def paired(folds: pd.DataFrame, a: str, b: str, metric: str = "pr_auc") -> dict[str, Any]:
    """``a`` minus ``b`` fold by fold: both saw the same rows, so the difference's spread is honest."""
    wide = folds.pivot(index="fold", columns="model", values=metric)
    diff = wide[a] - wide[b]
    return {"model": a, "versus": b, "metric": metric, "mean_difference": float(diff.mean()),
            "std_difference": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
            "folds_won": int((diff > 0).sum()), "folds_tied": int((diff == 0).sum()), "folds": int(len(diff))}


def summarize(folds: pd.DataFrame, board: list[dict[str, Any]]) -> dict[str, Any]:
    """The best single model and its lead; whether the ensemble beats LightGBM."""
    singles = [r["model"] for r in board if r["model"] != ENSEMBLE]
    out: dict[str, Any] = {"best_model": board[0]["model"] if board else None}
    if singles:
        out["best_single_model"] = singles[0]
        if len(singles) > 1:
            out["best_single_lead"] = paired(folds, singles[0], singles[1])
    names = {r["model"] for r in board}
    if {ENSEMBLE, "lightgbm"} <= names:
        vs = paired(folds, ENSEMBLE, "lightgbm")
        vs["ensemble_at_least_lightgbm"] = vs["mean_difference"] >= 0
        out["ensemble_vs_lightgbm"] = vs
    return out


# ---- running ---------------------------------------------------------------------------------
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
    """
    repeats, n_folds = parse_cv(cv)
    names = resolve_models(models)
    if not 0.0 < validation_fraction < 0.5:
        raise UptakeInputError(f"validation fraction {validation_fraction}: must be in (0, 0.5)")
    base = TrainConfig(target=target, positive=positive, seed=seed)
    prepared = prepare(df, base, source)
    if int(min(prepared.y.sum(), len(prepared.y) - prepared.y.sum())) < 2 * n_folds:
        raise UptakeInputError(f"file '{source}': too few rows of the rarer class for {n_folds}-fold CV")
    configs = {n: replace(base, **MODELS[n][0], **((network_overrides or {}) if is_network(n) else {}))
               for n in names if n != ENSEMBLE}
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
    config = {"cv": f"{repeats}x{n_folds}", "repeats": repeats, "folds": n_folds, "seed": seed, "models": names,
              "validation_fraction": validation_fraction, "rows": int(len(prepared.y)),
              "positives": int(prepared.y.sum()), "target": prepared.schema.target,
              "source": None if source is None else str(source), "network_overrides": network_overrides or {},
              "threshold_rule": threshold_rule(base).rule}
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


def _run_parallel(df: pd.DataFrame, source: object | None, job: _Job, plans: list[FoldPlan], n_jobs: int,
                  progress: Progress | None) -> list[dict[str, Any]]:
    """Folds in ``n_jobs`` fresh (spawned) processes sharing one private compilation cache.

    Spawned, not forked: JAX's threads do not survive a fork. Only the table, the
    plans and plain result dicts cross the process boundary.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    done, rows = 0, []
    with tempfile.TemporaryDirectory(prefix="uptake-xla-") as cache, ProcessPoolExecutor(
        n_jobs, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = {pool.submit(_fold_in_worker, df, source, job, plan, cache): plan for plan in plans}
        for future in as_completed(futures):
            rows.extend(future.result())
            done += len(job.names)
            if progress is not None:
                progress(done, len(plans) * len(job.names), f"fold {futures[future].fold + 1}/{len(plans)} done")
    order = {n: i for i, n in enumerate(job.names)}
    return sorted(rows, key=lambda r: (r["fold"], order[r["model"]]))


def _fold_in_worker(df: pd.DataFrame, source: object | None, job: _Job, plan: FoldPlan,
                    cache: str) -> list[dict[str, Any]]:
    import uptake  # noqa: F401  (pins the Keras backend in the fresh process)

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


def _validation_split(y: np.ndarray, train_idx: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
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

    def _row(self, name: str, imbalance: str, p_test: np.ndarray, threshold: float, fit_seconds: float,
             predict_us: float, **extra: Any) -> dict[str, Any]:
        m = metrics(self.prepared.y[self.test_idx], p_test, threshold)
        return {"model": name, "fold": self.fold, "repeat": self.repeat, "imbalance": imbalance,
                **{k: m[k] for k in METRICS}, "brier": m["brier"], "threshold": threshold,
                "fit_seconds": fit_seconds, "predict_us_per_row": predict_us,
                "train_rows": int(len(self.fit_idx)), "validation_rows": int(len(self.val_idx)),
                "test_rows": int(len(self.test_idx)), "train_sha": fingerprint(self.fit_idx),
                "validation_sha": fingerprint(self.val_idx), "test_sha": fingerprint(self.test_idx), **extra}

    def run(self, name: str, config: TrainConfig) -> dict[str, Any]:
        clean = self.prepared.clean
        fitted = fit_split(self.prepared, self.fit_idx, self.val_idx, config)
        test_rows = clean.iloc[self.test_idx]
        fitted.proba(test_rows)  # warm-up: the first call compiles the network's forward pass
        start = time.perf_counter()
        p_test = fitted.proba(test_rows)
        predict_us = (time.perf_counter() - start) / len(self.test_idx) * 1e6
        p_val = fitted.proba(clean.iloc[self.val_idx])
        self.members[name] = _Member(fitted, p_val, p_test, predict_us)
        return self._row(name, _imbalance_of(fitted.estimator, config), p_test, fitted.threshold,
                         fitted.fit_seconds, predict_us, validation_pr_auc=fitted.validation["pr_auc"])

    def ensemble(self, base: TrainConfig) -> dict[str, Any]:
        """Best network of this fold (by validation PR-AUC) + LightGBM, weighted on validation."""
        from uptake.models.ensemble import choose_weight

        start = time.perf_counter()
        nets = [n for n in self.members if is_network(n)]
        best = max(nets, key=lambda n: self.members[n].fitted.validation["pr_auc"])
        net, gbm = self.members[best], self.members["lightgbm"]
        y_val = self.prepared.y[self.val_idx]
        w, _ = choose_weight(y_val, net.p_val, gbm.p_val)
        choice = threshold_rule(base).choose(y_val, w * net.p_val + (1 - w) * gbm.p_val)
        combine = time.perf_counter() - start
        return self._row(ENSEMBLE, self._row_imbalance(best), w * net.p_test + (1 - w) * gbm.p_test,
                         choice.threshold, net.fitted.fit_seconds + gbm.fitted.fit_seconds + combine,
                         net.predict_us + gbm.predict_us, network=best, network_weight=w)

    def _row_imbalance(self, network: str) -> str:
        return f"{_imbalance_of(self.members[network].fitted.estimator, None)} + none"


def _imbalance_of(estimator: Any, config: TrainConfig | None) -> str:
    cfg = getattr(estimator, "config_", None)
    if cfg is not None:
        return str(cfg.imbalance)
    return str(getattr(estimator, "imbalance", None) or (config.imbalance if config else None) or "none")


@contextlib.contextmanager
def shared_compilation_cache(directory: str | None = None) -> Iterator[None]:
    """Let every network in this run reuse compiled XLA programs of the same shape.

    A private temporary directory (``directory``, shared by this run's workers, or a
    new one removed on exit), because JAX executes what it finds there. Skipped
    when the user configured a cache of their own, or off JAX.
    """
    import keras

    if keras.backend.backend() != "jax" or os.environ.get("UPTAKE_NO_COMPILE_CACHE") == "1":
        yield
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    if jax.config.jax_compilation_cache_dir:
        yield
        return
    names = ("jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")
    saved = {n: getattr(jax.config, n) for n in names}
    tmp = directory or tempfile.mkdtemp(prefix="uptake-xla-")
    try:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        cc.reset_cache()
        cc.set_cache_dir(tmp)
        yield
    finally:
        jax.config.update("jax_compilation_cache_dir", None)
        for n, v in saved.items():
            jax.config.update(n, v)
        cc.reset_cache()
        if directory is None:
            shutil.rmtree(tmp, ignore_errors=True)


# ---- outputs ---------------------------------------------------------------------------------
def save_outputs(result: Comparison, out_dir: str | Path) -> dict[str, Path]:
    """``compare.json`` (everything), ``compare.csv`` (the leaderboard) and ``compare.png``, each atomically."""
    from uptake.artifact import write_json_atomic

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UptakeInputError(f"file '{out_dir}': --out must be a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in FILES.items()}
    write_json_atomic(paths["json"], result.to_dict())
    _atomic(paths["csv"], lambda tmp: result.frame().to_csv(tmp, index=False))
    _atomic(paths["png"], lambda tmp: plot(result, tmp))
    return paths


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plot(result: Comparison, path: str | Path) -> None:
    """Mean PR-AUC per model with one standard deviation over folds as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    board = list(reversed(result.leaderboard))  # best at the top
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(board) + 1.6))
    y = np.arange(len(board))
    means = [r["pr_auc_mean"] for r in board]
    ax.errorbar(means, y, xerr=[r["pr_auc_std"] for r in board], fmt="o", capsize=4, color="tab:blue")
    for yi, m in zip(y, means, strict=True):
        ax.annotate(f"{m:.3f}", (m, yi), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    ax.set_yticks(y, [r["model"] for r in board])
    ax.set_xlabel("PR-AUC (mean ± std over folds)")
    cfg = result.config
    ax.set_title(f"uptake compare: {cfg['cv']} CV on {cfg['rows']:,} rows ({cfg['positives']:,} positives)")
    ax.set_xlim(left=max(0.0, min(means) - 0.05), right=1.02)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def _finite(v: Any) -> Any:
    """NaN and infinity become null: the JSON stays readable by strict parsers."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


__all__ = ["MODELS", "Comparison", "compare", "fingerprint", "parse_cv", "plot", "resolve_models", "save_outputs"]
