"""``--model auto``: a time-limited search over families, bagged, combined by a stacker or greedy selection.

Within ``time_limit`` seconds, candidates (a few configurations of each tree family,
cheapest and strongest first) are each trained on ``k`` folds of the training and
validation rows together (AutoGluon's bagging), so every row gets an out-of-fold
prediction from a model that never trained on it, and every fold model learns from
``(k-1)/k`` of all labelled rows instead of the training split alone. Each fold model
stops early on its own held-out fold. A candidate's prediction is the mean of its
``k`` fold models. A logistic stacker on the candidates' out-of-fold logits combines
them where the rarer class has enough rows for it, else Caruana's greedy selection
(both in :mod:`uptake.models.selection`). The threshold and calibrator are chosen on the
validation rows' out-of-fold predictions (the stacker's own cross-fitted ones;
:meth:`~uptake.models.base.Family.held_out_validation`): never on rows a model trained
on, and never on test rows.

A table too big to bag within the limit (the first candidate's estimated ``k`` folds
alone would not fit) is searched on one holdout instead: each candidate trained once
on the training rows, stopping early on, weighted on and thresholded on the
validation rows, as the single families are; the network stops on its own rows, so
the validation rows score it as it serves.

The time limit is kept by estimating each fold before starting it (from earlier folds,
else a prior scaled by the rows): a candidate that would not finish is not started, or
dropped once its first folds show it; the first always runs, so a tiny limit gives
one LightGBM instead of a crash.

With ``refit_full`` (the default), each chosen candidate is then trained once more
on all the rows, for the mean number of rounds its fold models kept (AutoGluon's
``refit_full``): one model per candidate instead of ``k`` per repeat (a dozen models
score a customer, not a hundred). The out-of-fold predictions that chose the weights,
the threshold and the calibrator stay the bagged models', which makes them honest; the
refit models' quality is the test split's to measure. A candidate whose refit would
overrun the limit keeps its fold models.

Saved as ``auto.json`` (the leaderboard with every candidate's out-of-fold PR-AUC, time,
weight and coefficient; the stacker's numbers) plus one sub-directory per fold model of
each combined candidate, each in its family's own safe format. All members share one
preprocessor (standardised numbers as they are, one code per category): CatBoost's
members treat the codes with its ordered target statistics, LightGBM's as native
categorical features.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval, StrOptions

from uptake.errors import UptakeInputError
from uptake.models.base import Family, one_line
from uptake.models.search_space import (CANDIDATES, HOLDOUT_PARAMS, MAX_REPEATS, MEMBER_FAMILIES, fold_cost,
                                         OWN_STOPPING_FAMILIES, REFIT_FAMILIES, in_order, member_class, members,
                                         refit_cost, refit_value)
from uptake.models.selection import LogitStacker, can_stack, greedy_weights

#: Default search budget: the 5,000-row bank table trains in about a minute on 2 cores.
DEFAULT_TIME_LIMIT = 60.0
#: Share of the limit the search may plan to use (the rest is selection and slack).
PLANNED_SHARE = 0.9
#: Share of the limit new candidates may plan to use when the chosen ones are refit afterwards; repeats
#: of the bagging then stop short of PLANNED_SHARE by the refits' estimated cost, and the refits may use
#: the whole limit.
BAGGING_SHARE_WITH_REFIT = 0.8
#: Labelled rows from which the search uses one holdout instead of bagging (given validation rows and no
#: ``folds``): the validation split then holds 20,000 rows or more, and on 285,000 fraud rows a bagged
#: search (3 folds, 900 s) scored test PR-AUC 0.916 where the holdout one, which can afford the network's
#: cross-fitted members, scored more (docs/models.md).
HOLDOUT_ROWS = 100_000
#: A member's name is a directory name under ``members/``: nothing that could climb out of it.
MEMBER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class AutoClassifier(Family):
    """Bagged candidates of several families, stacked or weighted on their out-of-fold predictions.

    Parameters:
        time_limit: seconds the search may take (fits of all folds of all candidates).
        folds: ``k`` of the bagging; ``None`` chooses 8 below 20,000 rows (as AutoGluon's
            best quality), 5 below 100,000, and from there one holdout (the validation rows;
            3 folds without them); 1 searches on the holdout at any size, as a table too big
            to bag within the limit is.
        imbalance: passed to every member (``none`` keeps probabilities calibrated).
        refit_full: serve each combined candidate refit once on all rows, not its fold models.
        seed: fixes the folds and every member's randomness.
        candidates: names of the ``CANDIDATES`` to search (in its order); ``None`` searches them all.
    """

    name = "auto"
    sidecar = "auto.json"
    format = "uptake-auto"
    accepts: ClassVar[frozenset[str]] = frozenset({"time_limit", "refit_full"})
    label = "auto"
    imbalance_options = ("none", "class-weight")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "time_limit": [Interval(Real, 0, None, closed="neither")],
        "folds": [Interval(Integral, 1, 20, closed="both"), None],
        "imbalance": [StrOptions({"none", "class-weight"})],
        "refit_full": ["boolean"],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "candidates": [list, tuple, None],
    }

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT, folds: int | None = None, imbalance: str = "none",
                 refit_full: bool = True, seed: int = 0, candidates: Sequence[str] | None = None) -> None:
        self.time_limit = time_limit
        self.folds = folds
        self.imbalance = imbalance
        self.refit_full = refit_full
        self.seed = seed
        self.candidates = candidates

    @classmethod
    def from_options(cls, options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> AutoClassifier:
        limit = options.get("time_limit")
        refit = options.get("refit_full")
        return cls(time_limit=DEFAULT_TIME_LIMIT if limit is None else float(limit), seed=options.get("seed", 0),
                   imbalance=options.get("imbalance") or "none", refit_full=True if refit is None else bool(refit))

    def check_params(self) -> None:
        super().check_params()
        unknown = sorted(set(self.candidates or ()) - {name for name, _, _ in CANDIDATES})
        if unknown or (self.candidates is not None and not self.candidates):
            raise UptakeInputError(f"candidates must name some of {', '.join(n for n, _, _ in CANDIDATES)}; "
                                   f"got {list(self.candidates or ())!r}")

    def _searched(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [c for c in CANDIDATES if self.candidates is None or c[0] in self.candidates]

    def numeric_encoding(self) -> str:
        return "raw"

    def categorical_encoding(self) -> str:
        return "ordinal"

    def set_layout(self, layout: list[tuple[str, str]]) -> None:
        self.layout_ = list(layout)

    # ---- the search ----------------------------------------------------------------------------------
    def _member(self, family: str, params: Mapping[str, Any]) -> Family:
        cls = member_class(family)
        options = dict(params)
        defaults = cls().get_params()
        if "seed" in defaults:
            options.setdefault("seed", int(self.seed))
        if "imbalance" in defaults:
            options.setdefault("imbalance", self.imbalance)
        member = cls(**options)
        if getattr(self, "layout_", None) is not None:
            member.set_layout(self.layout_)
        return member

    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> AutoClassifier:  # noqa: N803
        """Search, bag and weight within ``time_limit``; see the module docstring."""
        self.check_params()
        start = time.perf_counter()
        limit = float(self.time_limit)
        end = start + (1.0 if self.refit_full else PLANNED_SHARE) * limit  # the refits may use the slack
        deadline = start + (BAGGING_SHARE_WITH_REFIT if self.refit_full else PLANNED_SHARE) * limit
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(int).reshape(-1)
        if (X_val is None) != (y_val is None):
            raise UptakeInputError("X_val and y_val must be given together")
        if self.folds == 1 and X_val is None:
            raise UptakeInputError("folds=1 searches on one holdout: give the validation rows (X_val, y_val)")
        n_train = len(y)
        if X_val is not None:  # bag over both: every row trains k-1 fold models and is held out by one
            X = np.vstack([X, np.asarray(X_val, dtype=np.float64)])
            y = np.concatenate([y, np.asarray(y_val).astype(int).reshape(-1)])
        k = int(self.folds or (8 if len(y) < 20_000 else 5 if len(y) < 100_000 else 3))
        k = max(2, min(k, int(np.bincount(y, minlength=2).min())))
        splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=int(self.seed)).split(X, y))
        scored = np.arange(len(y))  # the rows every candidate has a held-out prediction for
        first_cost = k * fold_cost(self._searched()[0][1], len(y) * (k - 1) // k, {})
        big = self.folds is None and len(y) >= HOLDOUT_ROWS
        if X_val is not None and (self.folds == 1 or big or time.perf_counter() + first_cost > deadline):
            # too big to bag within the limit: one holdout, trained on the training rows and stopped,
            # weighted and thresholded on the validation rows, as the single families are
            splits = [(np.arange(n_train), np.arange(n_train, len(y)))]
            scored, k = splits[0][1], 1
        oof: dict[str, np.ndarray] = {}
        fitted: dict[str, list[Family]] = {}
        board: list[dict[str, Any]] = []
        measured: dict[str, list[float]] = {}
        for name, fam, params in in_order(self._searched(), holdout=k == 1):
            if k == 1:  # one holdout: a family that cross-fits its own members does so (HOLDOUT_PARAMS)
                params = {**params, **HOLDOUT_PARAMS.get(fam, {})}
            entry: dict[str, Any] = {"name": name, "family": fam, "params": dict(params), "oof_pr_auc": None,
                                     "fit_seconds": 0.0, "weight": 0.0, "status": "trained"}
            board.append(entry)
            first = not fitted
            rows = len(splits[0][0])  # what each fold model trains on
            fits = len(splits) * members(fam, params, rows)
            if not first and time.perf_counter() + fits * fold_cost(fam, rows, measured) > deadline:
                entry["status"] = "skipped: not enough time left"
                continue
            try:
                models, pred, seconds = self._bag(fam, params, X, y, splits, deadline, first, measured)
            except UptakeInputError as exc:
                entry["status"] = f"failed: {one_line(exc)}"
                continue
            entry["fit_seconds"] = round(seconds, 3)
            if models is None:
                entry["status"] = "dropped: slower than the time left"
                continue
            fitted[name], oof[name] = models, pred[scored]
            entry["oof_pr_auc"] = float(average_precision_score(y[scored], pred[scored])) \
                if len(np.unique(y[scored])) > 1 else None
        if not fitted:
            raise UptakeInputError("--model auto: no candidate could be trained ("
                                   + "; ".join(f"{e['name']}: {e['status']}" for e in board) + ")")
        self.weights_ = greedy_weights(oof, y[scored])
        stack = k > 1 and can_stack(len(oof), y)  # bagged: every row's prediction is out-of-fold
        if k > 1:
            self._repeat(board, fitted, oof, X, y, k, start + PLANNED_SHARE * limit, measured, stack)
        self.stacker_ = LogitStacker.fit(oof, y, int(self.seed)) if stack else None
        combined = LogitStacker.cross_fitted(oof, y, int(self.seed)) if stack else \
            sum(w * oof[n] for n, w in self.weights_.items())
        held_out = combined[n_train:] if k > 1 else combined  # holdout: the scored rows are the validation rows
        self.validation_oof_ = np.clip(held_out, 0.0, 1.0) if X_val is not None else None
        for entry in board:
            entry["weight"] = round(self.weights_.get(entry["name"], 0.0), 6)
            if self.stacker_ is not None and entry["name"] in oof:
                entry["coefficient"] = round(self.stacker_.coefficients[entry["name"]], 6)
        self.members_ = {n: fitted[n] for n in self._ranked(self.weights_ if self.stacker_ is None else oof)}
        if self.refit_full and k > 1:  # the holdout search's members never saw the validation rows: no time to refit
            self._refit(board, X, y, k, end, measured)
        self.families_ = {e["name"]: e["family"] for e in board}
        self.leaderboard_ = board
        self.folds_ = k
        self.search_seconds_ = round(time.perf_counter() - start, 3)
        self.mark_fitted(X.shape[1])
        return self

    def _ranked(self, names: Mapping[str, Any]) -> list[str]:
        """The combined candidates, the most weighted first (the stacker's: the largest coefficient first)."""
        stacker = self.stacker_
        return sorted(names, key=lambda n: -abs(stacker.coefficients[n]) if stacker else -self.weights_.get(n, 0.0))

    def _repeat(self, board: list[dict[str, Any]], fitted: dict[str, list[Family]], oof: dict[str, np.ndarray],
                X: np.ndarray, y: np.ndarray, k: int, deadline: float, measured: dict[str, list[float]],  # noqa: N803
                stack: bool) -> None:
        """Bag the combined candidates (all for the stacker) again on new folds while time is left (AutoGluon's
        repeated bagging): more fold models average each out-of-fold prediction; weights are chosen again."""
        entries = {e["name"]: e for e in board}
        for r in range(1, MAX_REPEATS):
            splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=int(self.seed) + 1000 * r).split(X, y))
            added = False
            pool = list(oof) if stack else sorted(self.weights_, key=lambda n: -self.weights_[n])
            for name in pool:  # the refits' cost is reserved, estimated again as folds are measured
                entry = entries[name]
                room = deadline - (sum(refit_cost(entries[n]["family"], len(y), k, measured) for n in pool
                                       if entries[n]["family"] in REFIT_FAMILIES) if self.refit_full else 0.0)
                if time.perf_counter() + k * fold_cost(entry["family"], len(y), measured) > room:
                    continue
                models, pred, seconds = self._bag(entry["family"], entry["params"], X, y, splits, room, False,
                                                  measured, seed_offset=1000 * r)
                if models is None:
                    continue
                done = len(fitted[name]) // k
                fitted[name] = fitted[name] + models
                oof[name] = (oof[name] * done + pred) / (done + 1)
                entry["fit_seconds"] = round(entry["fit_seconds"] + seconds, 3)
                entry["repeats"] = done + 1
                entry["oof_pr_auc"] = float(average_precision_score(y, oof[name]))
                added = True
            if not added:
                return
            self.weights_ = greedy_weights(oof, y)

    def _refit(self, board: list[dict[str, Any]], X: np.ndarray, y: np.ndarray, k: int, end: float,  # noqa: N803
               measured: Mapping[str, list[float]]) -> None:
        """Replace each combined candidate's fold models by one trained on all rows, heaviest weight first."""
        entries = {e["name"]: e for e in board}
        for name in self.members_:
            entry, folds = entries[name], self.members_[name]
            if entry["family"] not in REFIT_FAMILIES:
                entry["refit"] = "not refit: its fold models serve (a network's draws are averaged)"
                continue
            if time.perf_counter() + refit_cost(entry["family"], len(y), k, measured) > end:
                entry["refit"] = "skipped: not enough time left (its fold models serve)"
                continue
            sizes = [m.refit_params() for m in folds]
            params = {key: refit_value([size[key] for size in sizes]) for key in sizes[0]}
            t0 = time.perf_counter()
            member = self._member(entry["family"], {**entry["params"], **params, "seed": int(self.seed)})
            try:
                member.fit(X, y)
            except UptakeInputError as exc:
                entry["refit"] = f"failed: {one_line(exc)} (its fold models serve)"
                continue
            self.members_[name] = [member]
            entry["refit"] = {"rows": len(y), "seconds": round(time.perf_counter() - t0, 3), **params}

    def _bag(self, fam: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray,  # noqa: N803
             splits: list[tuple[np.ndarray, np.ndarray]], deadline: float, first: bool,
             measured: dict[str, list[float]], seed_offset: int = 0) -> tuple[list[Family] | None, np.ndarray, float]:
        """Train one candidate on every fold: its fold models, out-of-fold predictions and seconds taken."""
        pred = np.zeros(len(y))
        models: list[Family] = []
        began = time.perf_counter()
        for j, (tr, ho) in enumerate(splits):
            if j and not first:
                per_fold = (time.perf_counter() - began) / j
                if time.perf_counter() + per_fold * (len(splits) - j) > deadline:
                    return None, pred, time.perf_counter() - began
            t0 = time.perf_counter()
            member = self._member(fam, {**params, "seed": int(self.seed) + seed_offset + j})  # each its own draw
            if fam in OWN_STOPPING_FAMILIES:
                member.fit(X[tr], y[tr])  # early stopping on its own rows: the held-out rows stay unseen
            else:
                member.fit(X[tr], y[tr], X_val=X[ho], y_val=y[ho])  # early stopping on the held-out fold
            pred[ho] = member.predict_proba(X[ho])[:, 1]  # as served: every member of it, on unseen rows
            models.append(member)
            measured.setdefault(fam, []).append(time.perf_counter() - t0)
        return models, pred, time.perf_counter() - began

    # ---- prediction --------------------------------------------------------------------------------
    def held_out_validation(self) -> np.ndarray | None:
        return getattr(self, "validation_oof_", None)

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        X = self.checked(X)
        preds = {n: np.mean([m.predict_proba(X)[:, 1] for m in models], axis=0) for n, models in self.members_.items()}
        stacker = getattr(self, "stacker_", None)  # None: greedy weights (and directories saved before the stacker)
        p = np.clip(stacker.predict(preds) if stacker else sum(w * preds[n] for n, w in self.weights_.items()), 0, 1)
        return np.column_stack([1.0 - p, p])

    def numpy_forward(self) -> Any:
        """The members' own predictions on the compiled rows (every member family is safe and in-process)."""
        self.check_is_fitted()
        return lambda x: self.predict_proba(x)[:, 1]

    def hyperparameters(self) -> dict[str, Any]:
        out = dict(self.get_params(deep=False))
        if hasattr(self, "leaderboard_"):
            stacker = getattr(self, "stacker_", None)
            out.update(folds=self.folds_, combiner="greedy" if stacker is None else "stacker", weights=self.weights_,
                       stacker=None if stacker is None else stacker.to_json(), leaderboard=self.leaderboard_,
                       search_seconds=self.search_seconds_)
        return out

    def imbalance_info(self) -> dict[str, Any]:
        return {"strategy": self.imbalance, "class_weight_formula": None, "initial_bias": None}

    # ---- persistence --------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        """Each combined candidate's fold models under ``members/NAME/fold-J`` in their own formats."""
        for name, models in self.members_.items():
            for j, m in enumerate(models):
                m.save(directory / "members" / name / f"fold-{j}")
        return {"params": self.get_params(), "n_features_in": self.n_features_in_, "folds": self.folds_,
                "weights": self.weights_, "families": {n: self.families_[n] for n in self.members_},
                "member_folds": {n: len(self.members_[n]) for n in self.members_},
                "stacker": None if self.stacker_ is None else self.stacker_.to_json(),
                "leaderboard": self.leaderboard_, "search_seconds": self.search_seconds_}

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> AutoClassifier:
        """Load each fold model with its own family's loader (no pickle anywhere)."""
        est = cls(**{"refit_full": False, **meta["params"]})  # models saved before refitting existed were bagged
        est.weights_ = {str(n): float(w) for n, w in meta["weights"].items()}
        est.families_ = {str(n): str(f) for n, f in meta["families"].items()}
        est.folds_, est.leaderboard_ = int(meta["folds"]), list(meta["leaderboard"])
        est.search_seconds_ = float(meta.get("search_seconds") or 0.0)
        if not est.weights_ or abs(sum(est.weights_.values()) - 1.0) > 1e-6 or min(est.weights_.values()) < 0:
            raise UptakeInputError(f"file '{directory / cls.sidecar}': member weights must be positive and sum to 1")
        try:  # saved before the stacker existed: greedy weights
            est.stacker_ = LogitStacker.from_json(meta["stacker"]) if meta.get("stacker") else None
        except (KeyError, TypeError, ValueError) as exc:
            raise UptakeInputError(f"file '{directory / cls.sidecar}': stacker: {one_line(exc)}") from None
        width = int(meta["n_features_in"])
        est.members_ = {}
        for name in est.weights_ if est.stacker_ is None else est.stacker_.coefficients:
            if not MEMBER_NAME.match(name) or name not in est.families_:
                raise UptakeInputError(f"file '{directory / cls.sidecar}': {name!r} is not a member name")
            fam = est.families_[name]
            if fam not in MEMBER_FAMILIES:
                raise UptakeInputError(f"file '{directory / cls.sidecar}': member {name!r} has family {fam!r}; "
                                       f"members are {', '.join(MEMBER_FAMILIES)}")
            count = int((meta.get("member_folds") or {}).get(name, est.folds_))
            if not 1 <= count <= est.folds_ * MAX_REPEATS:
                raise UptakeInputError(f"file '{directory / cls.sidecar}': member {name!r} has {count} fold models")
            models = [member_class(fam).load(directory / "members" / name / f"fold-{j}") for j in range(count)]
            if any(int(m.n_features_in_) != width for m in models):
                raise UptakeInputError(f"file '{directory / 'members' / name}': the fold models take different inputs")
            est.members_[name] = models
        est.mark_fitted(width)
        return est


__all__ = ["CANDIDATES", "DEFAULT_TIME_LIMIT", "AutoClassifier"]
