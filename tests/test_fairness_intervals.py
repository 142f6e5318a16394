"""Fairness with uncertainty: intervals on every group's rate and ratio, uncertain flags, the gate's metric."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_cli
from uptake.decide.fairness import GroupSpec, fairness_table


def _table(n_per_group: int, called: tuple[float, float], seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    groups = pd.Series(["a"] * n_per_group + ["b"] * n_per_group)
    y = (rng.random(2 * n_per_group) < 0.3).astype(int)
    share = np.where(groups == "a", called[0], called[1])
    decision = (rng.random(2 * n_per_group) < share).astype(int)
    return fairness_table(y, decision, groups, GroupSpec("g"))


def test_every_rate_and_ratio_has_an_interval_around_it() -> None:
    t = _table(2000, (0.30, 0.30))
    for r in t["groups"]:
        for k in ("selection_rate", "recall"):
            lo, hi = r["intervals"][k]
            assert lo <= r[k] <= hi and hi - lo < 0.1
            lo, hi = r["intervals"][f"{k}_ratio"]
            assert lo - 1e-9 <= r[f"{k}_ratio"] <= hi + 1e-9 and hi <= 1.0
    assert t["intervals"].startswith("95%")


def test_a_clear_gap_is_flagged_for_sure_and_a_small_sample_only_as_uncertain() -> None:
    clear = _table(3000, (0.40, 0.20))  # half the selection rate on 3,000 customers each
    b = next(r for r in clear["groups"] if r["group"] == "b")
    assert "selection rate" in b["flags"] and "selection rate" not in b["uncertain"]
    assert b["intervals"]["selection_rate_ratio"][1] < 0.8
    noisy = [_table(40, (0.40, 0.28), seed=s) for s in range(20)]  # 40 customers a group: too few to be sure
    flagged = [r for t in noisy for r in t["groups"] if "selection rate" in r["flags"]]
    unsure = [r for r in flagged if "selection rate" in r["uncertain"]]
    assert flagged and len(unsure) >= 0.75 * len(flagged)
    for r in flagged:  # uncertain exactly when the ratio's interval reaches four-fifths
        assert ("selection rate" in r["uncertain"]) == (r["intervals"]["selection_rate_ratio"][1] >= 0.8)
    assert any("too uncertain to be sure" in t["summary"] for t in noisy)


def test_the_gate_acts_on_the_metric_it_is_given(quick_model: Path, bank_csv: Path, capsys) -> None:
    code, out, err = run_cli(["fairness", quick_model, bank_csv, "--group", "Family", "--json"], capsys)
    assert code == 0, err
    flags = {f for t in json.loads(out)["fairness"] for r in t["groups"] for f in r["flags"]}
    for metric, name in (("selection-rate", "selection rate"), ("equal-opportunity", "equal opportunity")):
        code, _, err = run_cli(
            ["fairness", quick_model, bank_csv, "--group", "Family", "--fail-on-flag", "--fail-metric", metric], capsys
        )
        assert code == (3 if name in flags else 0), (metric, flags, err)
    code, _, err = run_cli(
        ["fairness", quick_model, bank_csv, "--group", "Family", "--fail-metric", "precision"], capsys
    )
    assert code == 2 and "--fail-metric 'precision'" in err


@pytest.mark.parametrize("rows", [10, 1000])
def test_intervals_cost_the_same_on_any_size(rows: int) -> None:
    t = _table(rows, (0.3, 0.3))
    assert all("intervals" in r for r in t["groups"])
