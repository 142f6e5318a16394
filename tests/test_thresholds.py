"""Threshold rules and calibration: properties that must hold on any data.

Hypothesis draws labels and scores (with ties, and with the rare class rare); each
rule must deliver what it promises on the rows it was tuned on, and the profit rule
must find the true maximum of the profit it reports. scikit-learn's
``TunedThresholdClassifierCV`` is the reference for the profit rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from uptake.decide.metrics import metrics
from uptake.decide.money import profit
from uptake.decide.thresholds import best_f1_threshold, counts, cut_at, rule_from_options
from uptake.errors import UptakeInputError


@st.composite
def labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=4, max_value=120))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    assume(0 < y.sum() < n)
    # Few distinct values force ties; floats in [0, 1] otherwise.
    grid = draw(st.booleans())
    if grid:
        p = np.array(draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0]), min_size=n, max_size=n)))
    else:
        p = np.array(draw(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=n, max_size=n)))
    return y, p


def decisions(p: np.ndarray, t: float) -> np.ndarray:
    return p >= t


@settings(max_examples=150, deadline=None)
@given(labelled_scores(), st.floats(0.01, 1.0))
def test_min_recall_always_meets_the_recall_and_calls_as_few_as_possible(data, target: float) -> None:
    y, p = data
    choice = rule_from_options(min_recall=target).choose(y, p)
    called = decisions(p, choice.threshold)
    recall = (called & (y == 1)).sum() / y.sum()
    assert recall >= target - 1e-12
    assert choice.expected["recall"] == pytest.approx(recall)
    # Leaving out the lowest score level it calls would miss the target: no higher cut works.
    above = p[p > p[called].min()]
    if len(above):
        assert ((p >= above.min()) & (y == 1)).sum() / y.sum() < target - 1e-12


@settings(max_examples=150, deadline=None)
@given(labelled_scores(), st.floats(0.01, 1.0))
def test_min_precision_meets_the_precision_or_says_it_cannot(data, target: float) -> None:
    y, p = data
    rule = rule_from_options(min_precision=target)
    try:
        choice = rule.choose(y, p)
    except UptakeInputError as exc:
        assert "--min-precision" in str(exc)
        for s in np.unique(p):  # really no cut reaches it
            c = p >= s
            assert (c & (y == 1)).sum() / c.sum() < target - 1e-12
        return
    called = decisions(p, choice.threshold)
    assert called.sum() > 0
    assert (called & (y == 1)).sum() / called.sum() >= target - 1e-12


@settings(max_examples=200, deadline=None)
@given(labelled_scores(), st.floats(0.5, 50), st.floats(1, 500))
def test_profit_rule_threshold_maximises_the_computed_profit(data, cost: float, value: float) -> None:
    y, p = data
    choice = rule_from_options(contact_cost=cost, accept_value=value).choose(y, p)
    called = decisions(p, choice.threshold)
    tp, fp = int((called & (y == 1)).sum()), int((called & (y == 0)).sum())
    got = value * tp - cost * (tp + fp)
    assert choice.expected["profit"] == pytest.approx(got)
    # Brute force over every possible cut (including calling nobody).
    best = max([0.0] + [value * ((p >= s) & (y == 1)).sum() - cost * (p >= s).sum() for s in np.unique(p)])
    assert got == pytest.approx(best, rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(labelled_scores())
def test_max_f1_rule_is_the_trainers_f1_choice(data) -> None:
    y, p = data
    choice = rule_from_options().choose(y, p)
    assert choice.threshold == best_f1_threshold(y, p)
    assert choice.expected["f1"] == pytest.approx(metrics(y, p, choice.threshold)["f1"])


@settings(max_examples=100, deadline=None)
@given(labelled_scores())
def test_every_cut_calls_exactly_the_rows_at_or_above_its_score(data) -> None:
    y, p = data
    scores, tp, fp = counts(y, p)
    for i in range(len(scores)):
        t = cut_at(scores, i)
        called = p >= t
        assert called.sum() == tp[i] + fp[i]
        assert (called & (y == 1)).sum() == tp[i]


def test_profit_rule_agrees_with_scikit_learns_tuned_threshold_classifier() -> None:
    """The reference: TunedThresholdClassifierCV with a profit scorer, on a frozen score-passing model."""
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import TunedThresholdClassifierCV

    class Scores(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, X):
            return np.column_stack([1 - X[:, 0], X[:, 0]])

    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.1).astype(int)
    p = np.clip(0.35 * y + rng.beta(2, 6, size=2000), 0, 1)
    cost, value = 5.0, 60.0

    def money(y_true, y_pred):
        tp = int(((y_pred == 1) & (y_true == 1)).sum())
        return value * tp - cost * int((y_pred == 1).sum())

    # cv="prefit": tune on the given rows' predictions, exactly what uptake does on validation.
    ref = TunedThresholdClassifierCV(
        Scores().fit(p[:, None], y),
        scoring=make_scorer(money),
        thresholds=np.unique(p),
        cv="prefit",
        refit=False,
    ).fit(p[:, None], y)
    ours = rule_from_options(contact_cost=cost, accept_value=value).choose(y, p)
    ref_profit = money(y, (p >= ref.best_threshold_).astype(int))
    assert ref_profit > 0
    assert ours.expected["profit"] == pytest.approx(ref_profit)
    assert ours.expected["profit"] == pytest.approx(profit(ours.expected["tp"], ours.expected["fp"], cost, value))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_recall": 0.0}, "--min-recall 0.0: must be in"),
        ({"min_recall": 1.2}, "--min-recall 1.2: must be in"),
        ({"min_precision": -0.1}, "--min-precision -0.1: must be in"),
        ({"min_recall": 0.9, "min_precision": 0.5}, "choose one threshold rule"),
        ({"contact_cost": 0.0, "accept_value": 10.0}, "--contact-cost 0.0: must be a positive"),
        ({"contact_cost": 5.0, "accept_value": -1.0}, "--accept-value -1.0: must be a positive"),
        ({"contact_cost": 5.0}, "--accept-value: profit needs both"),
        ({"contact_cost": math.inf, "accept_value": 1.0}, "--contact-cost inf"),
        ({"threshold": 1.0}, "--threshold 1.0: must be between 0 and 1"),
    ],
)
def test_bad_rule_options_are_refused(kwargs, message: str) -> None:
    with pytest.raises(UptakeInputError, match=message.replace("(", r"\(")):
        rule_from_options(**kwargs)


def test_tuning_data_needs_both_outcomes() -> None:
    with pytest.raises(UptakeInputError, match="needs both outcomes"):
        rule_from_options(min_recall=0.5).choose(np.zeros(10), np.linspace(0, 1, 10))


def test_rule_dict_names_the_rule_and_its_money() -> None:
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0])
    p = np.array([0.1, 0.2, 0.3, 0.8, 0.9, 0.4, 0.6, 0.65])
    d = rule_from_options(contact_cost=5, accept_value=100).choose(y, p).to_dict()
    assert d["rule"] == "max-profit" and d["contact_cost"] == 5 and d["accept_value"] == 100
    assert d["expected"]["tp"] == 3 and d["expected"]["profit"] == 100 * 3 - 5 * d["expected"]["calls"]


# ---- calibration -------------------------------------------------------------------------------
def test_isotonic_calibrator_matches_scikit_learn_and_round_trips_json() -> None:
    from sklearn.isotonic import IsotonicRegression

    from uptake.decide.calibration import Calibrator, fit_calibrator

    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p**2).astype(int)
    cal = fit_calibrator("isotonic", y, p)
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    grid = np.linspace(-0.1, 1.1, 301)
    np.testing.assert_allclose(cal(grid), ref.predict(grid), atol=1e-12)
    again = Calibrator.from_dict(cal.to_dict())
    np.testing.assert_allclose(again(grid), cal(grid))


def test_sigmoid_calibration_fixes_inflated_probabilities() -> None:
    """Scores inflated like a class-weighted model's: Brier improves, order is kept."""
    from uptake.decide.calibration import fit_calibrator

    rng = np.random.default_rng(1)
    true = rng.beta(1, 9, size=4000)
    y = (rng.random(4000) < true).astype(int)
    inflated = true * 4 / (true * 4 + (1 - true))  # odds times 4, as class weights do
    cal = fit_calibrator("sigmoid", y[:2000], inflated[:2000])
    after = cal(inflated[2000:])
    before_brier = np.mean((inflated[2000:] - y[2000:]) ** 2)
    after_brier = np.mean((after - y[2000:]) ** 2)
    assert after_brier < before_brier
    assert np.all(np.diff(after[np.argsort(inflated[2000:])]) >= -1e-12)


def test_calibrated_model_stores_json_and_predict_applies_it(bank_df, tmp_path) -> None:
    from uptake.pipeline import Model
    from uptake.train import TrainConfig, save, train

    trained = train(bank_df, TrainConfig(model="logreg", imbalance="class-weight", calibrate="isotonic"))
    path = save(trained, tmp_path / "m")
    meta = Model.load(path).card.to_json()
    cal = meta["calibration"]
    assert cal["method"] == "isotonic"
    assert cal["brier_validation"]["after"] <= cal["brier_validation"]["before"]
    assert "brier_test" in cal and "class-weight" in meta["probability_note"]
    assert (path / "calibration.json").is_file()
    m = Model.load(path)
    raw = m.raw_proba_clean(trained.prepared.clean)
    np.testing.assert_allclose(m.score(bank_df).probability, m.calibrator(raw))
    np.testing.assert_allclose(
        m.score(bank_df).probability, trained.fitted.pipeline.proba_clean(trained.prepared.clean)
    )


def test_uncalibrated_weighted_model_says_its_probabilities_are_inflated(bank_df) -> None:
    from uptake.train import TrainConfig, build_card, train

    trained = train(bank_df, TrainConfig(model="logreg", imbalance="class-weight"))
    note = build_card(trained).probability_note
    assert "overstate" in note and "--calibrate" in note
