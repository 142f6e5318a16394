"""``--model auto``: a time-limited search over families, bagged, combined by a stacker or greedy selection.

Within ``time_limit`` seconds, candidates (:mod:`~uptake.models.auto.candidates`) are
each bagged on ``k`` folds of the training and validation rows together
(:mod:`~uptake.models.auto.bagging`), so every row gets an out-of-fold prediction from a
model that never trained on it. A candidate's prediction is the mean of its fold
models. A logistic stacker on the candidates' out-of-fold logits combines them where
the rarer class has enough rows for it, else Caruana's greedy selection (both in
:mod:`uptake.models.selection`). The threshold and calibrator are chosen on the
validation rows' out-of-fold predictions (the stacker's own cross-fitted ones;
:meth:`~uptake.models.base.Family.held_out_validation`): never on rows a model trained
on, and never on test rows.

A table too big to bag within the limit (the first candidate's estimated ``k`` folds
alone would not fit, :mod:`~uptake.models.auto.planner`) is searched on one holdout
instead: each candidate trained once on the training rows, stopping early on, weighted
on and thresholded on the validation rows, as the single families are; the network
stops on its own rows, so the validation rows score it as it serves.

With ``refit_full`` (the default), each chosen candidate is then trained once more
on all the rows, for the mean number of rounds its fold models kept (AutoGluon's
``refit_full``): one model per candidate instead of ``k`` per repeat. The out-of-fold
predictions that chose the weights, the threshold and the calibrator stay the bagged
models', which makes them honest; the refit models' quality is the test split's to
measure.

Saved as ``auto.json`` (the leaderboard with every candidate's out-of-fold PR-AUC, time,
weight and coefficient; the stacker's numbers) plus one sub-directory per fold model of
each combined candidate, each in its family's own safe format. All members share one
preprocessor (numbers as they are, one code per category): CatBoost's members treat
the codes with its ordered target statistics, LightGBM's as native categorical features.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval, StrOptions

from uptake.errors import UptakeInputError
from uptake.models import FAMILIES, family
from uptake.models.auto.bagging import Search, bag, member_family, refit, repeat
from uptake.models.auto.candidates import CANDIDATES, MAX_REPEATS, in_order
from uptake.models.auto.card import served
from uptake.models.auto.planner import Planner
from uptake.models.base import Family, one_line, refit_wanted
from uptake.models.selection import LogitStacker, can_stack, greedy_weights

#: Default search budget: the 5,000-row bank table trains in about a minute on 2 cores.
DEFAULT_TIME_LIMIT = 60.0
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

    def __init__(
        self,
        time_limit: float = DEFAULT_TIME_LIMIT,
        folds: int | None = None,
        imbalance: str = "none",
        refit_full: bool = True,
        seed: int = 0,
        candidates: Sequence[str] | None = None,
    ) -> None:
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
        return cls(
            time_limit=DEFAULT_TIME_LIMIT if limit is None else float(limit),
            seed=options.get("seed", 0),
            imbalance=options.get("imbalance") or "none",
            refit_full=True if refit is None else bool(refit),
        )

    def check_params(self) -> None:
        super().check_params()
        unknown = sorted(set(self.candidates or ()) - {name for name, _, _ in CANDIDATES})
        if unknown or (self.candidates is not None and not self.candidates):
            raise UptakeInputError(
                f"candidates must name some of {', '.join(n for n, _, _ in CANDIDATES)}; "
                f"got {list(self.candidates or ())!r}"
            )

    def _searched(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [c for c in CANDIDATES if self.candidates is None or c[0] in self.candidates]

    def numeric_encoding(self) -> str:
        """Numbers as they are, missing ones included: the tree members see them natively, the network
        member imputes and flags them in its own encoding."""
        return "native"

    def categorical_encoding(self) -> str:
        return "ordinal"

    def set_layout(self, layout: list[tuple[str, str]]) -> None:
        self.layout_ = list(layout)

    # ---- the search ----------------------------------------------------------------------------------
    def _member(self, fam: str, params: Mapping[str, Any]) -> Family:
        cls = member_family(fam)
        options = dict(params)
        defaults = cls().get_params()
        if "seed" in defaults:
            options.setdefault("seed", int(self.seed))
        if "imbalance" in defaults:
            options.setdefault("imbalance", self.imbalance)
        if "refit" in defaults:  # a fold model's validation rows are another fold's: never trained on
            options.setdefault("refit", False)
        member = cls(**options)
        if getattr(self, "layout_", None) is not None:
            member.set_layout(self.layout_)
        return member

    def fit(
        self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None, clock: Callable[[], float] = time.perf_counter
    ) -> AutoClassifier:
        """Search, bag and weight within ``time_limit``; see the module docstring.

        ``clock``: where the search reads the time (tests plan with fake time).
        """
        self.check_params()
        planner = Planner(float(self.time_limit), bool(self.refit_full), clock)
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
        splits, scored, k = self._folds(X, y, n_train, X_val is not None, planner)
        search = Search(X, y, k, planner, int(self.seed), self._member)
        board = [self._try(search, name, fam, params, splits, scored) for name, fam, params in self._order(k)]
        if not search.fitted:
            raise UptakeInputError(
                "--model auto: no candidate could be trained ("
                + "; ".join(f"{e['name']}: {e['status']}" for e in board)
                + ")"
            )
        oof = search.oof
        self.weights_ = greedy_weights(oof, y[scored])
        stack = k > 1 and can_stack(len(oof), y)  # bagged: every row's prediction is out-of-fold
        if k > 1:
            self.weights_ = repeat(search, board, self.weights_, stack, bool(self.refit_full))
        self.stacker_ = LogitStacker.fit(oof, y, int(self.seed)) if stack else None
        combined = (
            LogitStacker.cross_fitted(oof, y, int(self.seed))
            if stack
            else sum(w * oof[n] for n, w in self.weights_.items())
        )
        held_out = combined[n_train:] if k > 1 else combined  # holdout: the scored rows are the validation rows
        self.validation_oof_ = np.clip(held_out, 0.0, 1.0) if X_val is not None else None
        for entry in board:
            entry["weight"] = round(self.weights_.get(entry["name"], 0.0), 6)
            if self.stacker_ is not None and entry["name"] in oof:
                entry["coefficient"] = round(self.stacker_.coefficients[entry["name"]], 6)
        self.members_ = {n: search.fitted[n] for n in self._ranked(self.weights_ if self.stacker_ is None else oof)}
        self.refit_: dict[str, Any] | None = None
        if self.refit_full and k > 1:  # the holdout search's members never saw the validation rows: no time to refit
            refit(search, board, self.members_)
            if refit_wanted(None, len(y)):  # a small table: its served members may learn from the test rows too
                self.refit_ = {"rows": len(y)}
        self.families_ = {e["name"]: e["family"] for e in board}
        self.leaderboard_ = board
        self.folds_ = k
        self.search_seconds_ = round(planner.elapsed(), 3)
        self.mark_fitted(X.shape[1])
        return self

    def _folds(
        self, X: np.ndarray, y: np.ndarray, n_train: int, holdout_possible: bool, planner: Planner
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, int]:
        """The folds to bag on, the rows every candidate gets a held-out prediction for, and ``k``.

        One holdout (``k`` = 1: trained on the training rows, stopped, weighted and thresholded on the
        validation rows, as the single families are) where asked for, on a big table, or where the first
        candidate's folds would not fit in the limit.
        """
        k = int(self.folds or (8 if len(y) < 20_000 else 5 if len(y) < 100_000 else 3))
        k = max(2, min(k, int(np.bincount(y, minlength=2).min())))
        splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=int(self.seed)).split(X, y))
        first_cost = k * planner.fold_cost(member_family(self._searched()[0][1]), len(y) * (k - 1) // k)
        big = self.folds is None and len(y) >= HOLDOUT_ROWS
        if holdout_possible and (self.folds == 1 or big or not planner.fits(first_cost, planner.bagging_deadline)):
            holdout = [(np.arange(n_train), np.arange(n_train, len(y)))]
            return holdout, holdout[0][1], 1
        return splits, np.arange(len(y)), k

    def _order(self, k: int) -> list[tuple[str, str, dict[str, Any]]]:
        """The candidates in the order tried, with their family's holdout parameters on one holdout."""
        out = []
        for name, fam, params in in_order(self._searched(), holdout=k == 1):
            if k == 1:  # one holdout: a family that cross-fits its own members does so
                params = {**params, **member_family(fam).holdout_params}
            out.append((name, fam, params))
        return out

    def _try(
        self,
        search: Search,
        name: str,
        fam: str,
        params: dict[str, Any],
        splits: list[tuple[np.ndarray, np.ndarray]],
        scored: np.ndarray,
    ) -> dict[str, Any]:
        """Bag one candidate if its estimated cost fits the time left; its leaderboard entry."""
        entry: dict[str, Any] = {
            "name": name,
            "family": fam,
            "params": dict(params),
            "oof_pr_auc": None,
            "fit_seconds": 0.0,
            "weight": 0.0,
            "status": "trained",
        }
        planner, y = search.planner, search.y
        first = not search.fitted
        rows = len(splits[0][0])  # what each fold model trains on
        cls = member_family(fam)
        fits = len(splits) * cls.fits_per_candidate(params, rows)
        if not first and not planner.fits(fits * planner.fold_cost(cls, rows), planner.bagging_deadline):
            entry["status"] = "skipped: not enough time left"
            return entry
        try:
            models, pred, seconds = bag(search, fam, params, splits, planner.bagging_deadline, first)
        except UptakeInputError as exc:
            entry["status"] = f"failed: {one_line(exc)}"
            return entry
        entry["fit_seconds"] = round(seconds, 3)
        if models is None:
            entry["status"] = "dropped: slower than the time left"
            return entry
        search.fitted[name], search.oof[name] = models, pred[scored]
        entry["oof_pr_auc"] = (
            float(average_precision_score(y[scored], pred[scored])) if len(np.unique(y[scored])) > 1 else None
        )
        return entry

    def refit_on(self, X: Any, y: Any, scale: float = 1.0) -> AutoClassifier:
        """Each member refit on all rows (``refit_full``) trained once more on these rows at its size; the
        combination (stacker or weights) and the fold models that serve as they are stay."""
        new = copy.copy(self)
        new.members_ = {}
        for name, models in self.members_.items():
            refitted = len(models) == 1 and member_family(self.families_[name]).refit_after_bagging
            new.members_[name] = [models[0].refit_on(X, y, scale)] if refitted else models
        new.refit_ = None
        return new

    def _ranked(self, names: Mapping[str, Any]) -> list[str]:
        """The combined candidates, the most weighted first (the stacker's: the largest coefficient first)."""
        stacker = self.stacker_
        return sorted(names, key=lambda n: -abs(stacker.coefficients[n]) if stacker else -self.weights_.get(n, 0.0))

    # ---- prediction --------------------------------------------------------------------------------
    def held_out_validation(self) -> np.ndarray | None:
        return getattr(self, "validation_oof_", None)

    def predict_proba(self, X: Any) -> np.ndarray:
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
        return {**self.get_params(deep=False), **(served(self) if hasattr(self, "leaderboard_") else {})}

    def libraries(self) -> list[str]:
        return sorted({lib for n in self.members_ if (lib := member_family(self.families_[n]).library)})

    def imbalance_info(self) -> dict[str, Any]:
        return {"strategy": self.imbalance, "class_weight_formula": None, "initial_bias": None}

    # ---- persistence --------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        """Each combined candidate's fold models under ``members/NAME/fold-J`` in their own formats."""
        for name, models in self.members_.items():
            for j, m in enumerate(models):
                m.save(directory / "members" / name / f"fold-{j}")
        return {
            "params": self.get_params(),
            "n_features_in": self.n_features_in_,
            "folds": self.folds_,
            "weights": self.weights_,
            "families": {n: self.families_[n] for n in self.members_},
            "member_folds": {n: len(self.members_[n]) for n in self.members_},
            "stacker": None if self.stacker_ is None else self.stacker_.to_json(),
            "leaderboard": self.leaderboard_,
            "search_seconds": self.search_seconds_,
        }

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
            if fam not in FAMILIES or not family(fam).auto_member:
                members = ", ".join(n for n in FAMILIES if family(n).auto_member)
                raise UptakeInputError(
                    f"file '{directory / cls.sidecar}': member {name!r} has family {fam!r}; members are {members}"
                )
            count = int((meta.get("member_folds") or {}).get(name, est.folds_))
            if not 1 <= count <= est.folds_ * MAX_REPEATS:
                raise UptakeInputError(f"file '{directory / cls.sidecar}': member {name!r} has {count} fold models")
            models = [member_family(fam).load(directory / "members" / name / f"fold-{j}") for j in range(count)]
            if any(int(m.n_features_in_) != width for m in models):
                raise UptakeInputError(f"file '{directory / 'members' / name}': the fold models take different inputs")
            est.members_[name] = models
        est.mark_fitted(width)
        return est


__all__ = ["CANDIDATES", "DEFAULT_TIME_LIMIT", "AutoClassifier"]
