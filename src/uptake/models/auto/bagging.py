"""Training candidates for ``--model auto``: bagged on folds, bagged again while time is left, refit on all rows.

Each candidate is trained on ``k`` folds of the training and validation rows together
(AutoGluon's bagging), so every row gets an out-of-fold prediction from a model that
never trained on it. A fold model stops early on its held-out fold, or on a share of
its own rows where its family says so (``stops_early_on``). With time left, the
combined candidates are bagged again on new folds (repeated bagging). With
``refit_full``, each combined candidate whose family asks for it
(``refit_after_bagging``) is trained once more on all rows, for the mean size its fold
models kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold

from uptake.errors import UptakeInputError
from uptake.models import family
from uptake.models.auto.candidates import MAX_REPEATS, refit_value
from uptake.models.auto.planner import Planner
from uptake.models.base import Family, one_line
from uptake.models.selection import greedy_weights

Splits = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class Search:
    """One search's rows, folds and clock, and what it has trained so far."""

    X: np.ndarray
    y: np.ndarray
    k: int
    planner: Planner
    seed: int
    #: (family name, parameters) -> an unfitted member
    make_member: Callable[[str, Mapping[str, Any]], Family]
    oof: dict[str, np.ndarray] = field(default_factory=dict)
    fitted: dict[str, list[Family]] = field(default_factory=dict)


def member_family(name: str) -> type[Family]:
    """The class auto trains for the family registered as ``name``."""
    return family(name).member_class()


def bag(
    search: Search,
    fam: str,
    params: Mapping[str, Any],
    splits: Splits,
    deadline: float,
    first: bool,
    seed_offset: int = 0,
) -> tuple[list[Family] | None, np.ndarray, float]:
    """Train one candidate on every fold: its fold models, out-of-fold predictions and seconds taken.

    ``None`` models: its first folds showed it would overrun ``deadline`` (never for the ``first``).
    """
    X, y, clock = search.X, search.y, search.planner
    cls = member_family(fam)
    pred = np.zeros(len(y))
    models: list[Family] = []
    began = clock.now()
    for j, (tr, ho) in enumerate(splits):
        if j and not first:
            per_fold = (clock.now() - began) / j
            if not clock.fits(per_fold * (len(splits) - j), deadline):
                return None, pred, clock.now() - began
        t0 = clock.now()
        member = search.make_member(fam, {**params, "seed": search.seed + seed_offset + j})  # each its own draw
        if cls.stops_early_on == "own":
            member.fit(X[tr], y[tr])  # early stopping on its own rows: the held-out rows stay unseen
        else:
            member.fit(X[tr], y[tr], X_val=X[ho], y_val=y[ho])  # early stopping on the held-out fold
        pred[ho] = member.predict_proba(X[ho])[:, 1]  # as served: every member of it, on unseen rows
        models.append(member)
        clock.record(cls, clock.now() - t0)
    return models, pred, clock.now() - began


def repeat(
    search: Search, board: list[dict[str, Any]], weights: dict[str, float], stack: bool, refit_full: bool
) -> dict[str, float]:
    """Bag the combined candidates (all for the stacker) again on new folds while time is left (AutoGluon's
    repeated bagging): more fold models average each out-of-fold prediction; weights are chosen again."""
    X, y, k, clock = search.X, search.y, search.k, search.planner
    entries = {e["name"]: e for e in board}
    for r in range(1, MAX_REPEATS):
        splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=search.seed + 1000 * r).split(X, y))
        added = False
        pool = list(search.oof) if stack else sorted(weights, key=lambda n: -weights[n])
        for name in pool:  # the refits' cost is reserved, estimated again as folds are measured
            entry = entries[name]
            cls = member_family(entry["family"])
            reserve = 0.0
            if refit_full:
                refitted = [member_family(entries[n]["family"]) for n in pool]
                reserve = sum(clock.refit_cost(c, len(y), k) for c in refitted if c.refit_after_bagging)
            room = clock.repeat_deadline - reserve
            if not clock.fits(k * clock.fold_cost(cls, len(y)), room):
                continue
            models, pred, seconds = bag(search, entry["family"], entry["params"], splits, room, False, 1000 * r)
            if models is None:
                continue
            done = len(search.fitted[name]) // k
            search.fitted[name] = search.fitted[name] + models
            search.oof[name] = (search.oof[name] * done + pred) / (done + 1)
            entry["fit_seconds"] = round(entry["fit_seconds"] + seconds, 3)
            entry["repeats"] = done + 1
            entry["oof_pr_auc"] = float(average_precision_score(y, search.oof[name]))
            added = True
        if not added:
            break
        weights = greedy_weights(search.oof, y)
    return weights


def refit(search: Search, board: list[dict[str, Any]], members: dict[str, list[Family]]) -> None:
    """Replace each combined candidate's fold models by one trained on all rows, heaviest weight first."""
    X, y, k, clock = search.X, search.y, search.k, search.planner
    entries = {e["name"]: e for e in board}
    for name in members:
        entry, folds = entries[name], members[name]
        cls = member_family(entry["family"])
        if not cls.refit_after_bagging:
            entry["refit"] = "not refit: its fold models serve (a network's draws are averaged)"
            continue
        if not clock.fits(clock.refit_cost(cls, len(y), k), clock.end):
            entry["refit"] = "skipped: not enough time left (its fold models serve)"
            continue
        sizes = [m.refit_params() for m in folds]
        params = {key: refit_value([size[key] for size in sizes]) for key in sizes[0]}
        t0 = clock.now()
        member = search.make_member(entry["family"], {**entry["params"], **params, "seed": search.seed})
        try:
            member.fit(X, y)
        except UptakeInputError as exc:
            entry["refit"] = f"failed: {one_line(exc)} (its fold models serve)"
            continue
        members[name] = [member]
        entry["refit"] = {"rows": len(y), "seconds": round(clock.now() - t0, 3), **params}


__all__ = ["Search", "Splits", "bag", "member_family", "refit", "repeat"]
