"""Score monitoring sees the region where decisions are made: the threshold, the top bins, the call rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uptake.drift.compare import call_rate, compare_profiles
from uptake.drift.profile import PROFILE, Counter, build_reference, check_profile, score_edges
from uptake.io.jsonable import read_json
from uptake.pipeline import Model


@pytest.fixture(scope="module")
def scored(quick_model: Path, bank_df: pd.DataFrame) -> tuple[Model, pd.DataFrame, np.ndarray]:
    model = Model.load(quick_model)
    clean = model.validate(bank_df).clean
    return model, clean, model.proba_clean(clean)


def _now(reference: dict, clean: pd.DataFrame, scores: np.ndarray) -> dict:
    counter = Counter(reference)
    cut = reference["score"].get("threshold")
    counter.add(clean, scores, (scores >= cut).astype(int) if cut is not None else None)
    return counter.profile()


def test_the_threshold_is_a_score_edge_and_the_top_is_split_finer(scored: tuple) -> None:
    model, _, p = scored
    edges = score_edges(p, model.threshold, p[model.decide(p) == 1])
    assert model.threshold in edges
    assert sum(e >= model.threshold for e in edges) >= 3  # the called customers span several bins
    assert len(edges) > 10


def test_squeezing_the_called_customers_below_the_threshold_is_act(quick_model: Path, scored: tuple) -> None:
    model, clean, p = scored
    reference = check_profile(read_json(quick_model / PROFILE), quick_model / PROFILE)
    assert reference["score"]["threshold"] == pytest.approx(model.threshold)
    q, t = 0.06, model.threshold
    squeezed = np.where(p > q, q + (p - q) / (1 - q) * (0.9 * t - q), p)  # every call now falls short
    report = compare_profiles(reference, _now(reference, clean, squeezed))
    calls = report["call_rate"]
    assert calls["now"] == 0.0 and calls["reference"] > 0.05
    assert calls["band"] == "act" and report["worst"] == "act"
    assert "would now call 0.0% of customers instead of" in calls["sentence"]
    assert report["score"]["band"] != "stable" or report["score"]["p_value"] < 1e-6  # finer bins see it too
    assert report["score"]["ks_on"].endswith("equal-share bins of the training scores")


def test_the_same_scores_keep_the_call_rate_stable(quick_model: Path, scored: tuple) -> None:
    _, clean, p = scored
    reference = check_profile(read_json(quick_model / PROFILE), quick_model / PROFILE)
    report = compare_profiles(reference, _now(reference, clean, p))
    assert report["call_rate"]["band"] == "stable"
    assert report["call_rate"]["now"] == pytest.approx(report["call_rate"]["reference"], abs=0.03)


def test_a_small_sample_is_not_banded_on_chance() -> None:
    ref = {"threshold": 0.5, "called": 100, "counts": [900, 100]}
    assert call_rate(ref, {"called": 2, "counts": [8, 2]})["band"] == "stable"  # 20% of 10 rows: chance
    assert call_rate(ref, {"called": 2000, "counts": [8000, 2000]})["band"] == "act"
    assert call_rate(ref, {"called": 1300, "counts": [8700, 1300]})["band"] == "watch"
    assert call_rate({"counts": [1, 1]}, {"called": 1, "counts": [1, 1]}) is None  # an old profile: no threshold


def test_profiles_saved_before_the_call_rate_still_compare(scored: tuple) -> None:
    model, clean, p = scored
    old = build_reference(model.schema, clean, p)  # no threshold or decisions, as profiles were built before
    for key in ("ks_edges", "ks_counts"):
        old["score"].pop(key)
    report = compare_profiles(old, _now(old, clean, p))
    assert report["call_rate"] is None and report["score"]["ks_on"] == "the PSI bins"
