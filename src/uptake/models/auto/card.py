"""What a fitted ``auto`` model tells its card: the combination it serves, not the search's by-products.

With the logistic stacker, each member's coefficient on its log-odds (a negative one: that member's
confidence is discounted once the others are known) and no greedy weights, which are computed but not
used; with greedy weights, each member's weight. Then what the search skipped or dropped, and why.
"""

from __future__ import annotations

from typing import Any


def served(est: Any) -> dict[str, Any]:
    """The card's description of a fitted :class:`~uptake.models.auto.AutoClassifier`."""
    stacker = getattr(est, "stacker_", None)
    board = {e["name"]: e for e in est.leaderboard_}
    members = []
    for name in est.members_:
        e = board.get(name, {})
        member = {"name": name, "family": est.families_.get(name), "params": e.get("params", {})}
        member["oof_pr_auc"] = e.get("oof_pr_auc")
        if stacker is None:
            member["weight"] = est.weights_.get(name, 0.0)
        else:
            member["coefficient"] = stacker.coefficients.get(name)
        members.append(member)
    out: dict[str, Any] = {
        "folds": est.folds_,
        "combiner": "greedy" if stacker is None else "stacker",
        "members": members,
        "skipped": [f"{e['name']}: {e['status']}" for e in est.leaderboard_ if e["status"] != "trained"],
        "stacker": None if stacker is None else stacker.to_json(),
        "leaderboard": est.leaderboard_,
        "search_seconds": est.search_seconds_,
    }
    if stacker is None:
        out["weights"] = est.weights_
    return out


__all__ = ["served"]
