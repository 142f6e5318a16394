"""Campaign planning: gains, lift, deciles, profit and the contact list (uptake.targeting, `uptake plan`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli
from uptake import campaign as TG
from uptake.errors import UptakeInputError

# Ten customers, one per decile, best first; acceptors at ranks 1, 2 and 4.
P10 = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
Y10 = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])


# ---- hand-made data -------------------------------------------------------------------------------
def test_gains_and_lift_by_decile_on_hand_made_data() -> None:
    shuffled = np.array([3, 0, 9, 5, 1, 7, 2, 8, 4, 6])  # order in the table must not matter
    g = TG.gains_by_decile(P10[shuffled], Y10[shuffled])
    assert g["customers"].tolist() == list(range(1, 11))
    assert g["gain"].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1, 1, 1, 1])
    assert g["lift"].iloc[0] == pytest.approx(10 / 3)
    assert g["lift"].iloc[3] == pytest.approx(2.5)
    assert g["lift"].iloc[-1] == pytest.approx(1.0)


def test_decile_table_on_hand_made_data() -> None:
    d = TG.decile_table(P10, Y10, contact_cost=1.0, accept_value=10.0)
    assert d["customers"].tolist() == [1] * 10
    assert d["expected_acceptances"].tolist() == pytest.approx(P10.tolist())
    assert d["actual_acceptances"].tolist() == Y10.tolist()
    assert d["precision"].tolist() == Y10.tolist()
    assert d["cumulative_recall"].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3] + [1.0] * 7)
    # profit per decile: 10 * acceptances - 1 per call
    assert d["profit"].tolist() == [9, 9, -1, 9, -1, -1, -1, -1, -1, -1]
    assert d["cumulative_profit"].tolist() == [9, 18, 17, 26, 25, 24, 23, 22, 21, 20]
    assert d["expected_cumulative_profit"].iloc[-1] == pytest.approx(10 * P10.sum() - 10)


def test_deciles_of_a_larger_list_split_evenly_best_first() -> None:
    p = np.linspace(0.0, 1.0, 95)
    y = (p > 0.8).astype(int)
    d = TG.decile_table(p, y, 1.0, 2.0)
    assert d["customers"].sum() == 95
    assert set(d["customers"]) == {9, 10}
    assert (np.diff(d["max_probability"]) <= 0).all()
    assert d["min_probability"].iloc[0] >= d["max_probability"].iloc[1]


def test_profit_curve_maximum_on_hand_made_data() -> None:
    pc = TG.profit_curve(P10, 1.0, 10.0, Y10)
    assert pc.basis == "actual"
    assert pc.best_contacts == 4 and pc.best_profit == 26 and pc.best_share == pytest.approx(0.4)
    assert pc.profit[0] == 0 and len(pc.profit) == 11
    # without labels: expected profit from probabilities. At 10 per acceptance the last customer
    # (p = 0.1) just breaks even, and a tie keeps the smaller list.
    pe = TG.profit_curve(P10, 1.0, 10.0)
    assert pe.basis == "expected" and pe.best_contacts == 9
    assert pe.best_profit == pytest.approx(10 * P10[:9].sum() - 9)
    assert TG.profit_curve(P10, 1.0, 20.0).best_contacts == 10


def test_calling_nobody_is_best_when_calls_cost_more_than_they_earn() -> None:
    pc = TG.profit_curve(P10, 100.0, 10.0, Y10)
    assert pc.best_contacts == 0 and pc.best_profit == 0


def test_reach_sentence_with_and_without_labels() -> None:
    text = TG.reach_sentence(P10, Y10, 0.10)
    assert text == "If we call the top 10% (1 customers), we reach 33% of the acceptors (1 of 3)."
    p = np.array([0.9] * 10 + [0.1] * 90)
    text = TG.reach_sentence(p, None, 0.10)
    assert text.startswith("If we call the top 10% (10 customers), we expect to reach 50% of the acceptors")


def test_ties_rank_in_input_order_so_the_list_is_reproducible() -> None:
    frame = pd.DataFrame({"id": range(6), "probability": [0.5, 0.9, 0.5, 0.9, 0.1, 0.5]})
    from uptake.decide import rank_desc

    frame["rank"] = rank_desc(frame["probability"].to_numpy())
    listed = TG.contact_list(frame, 4)
    assert listed["id"].tolist() == [1, 3, 0, 2]


# ---- budgets and shares -----------------------------------------------------------------------------
def test_contacts_from_budget_are_floor_of_budget_over_cost() -> None:
    assert TG.contacts_for(100, 3.0, budget=10.0) == 3
    assert TG.contacts_for(100, 2.5, budget=10.0) == 4
    assert TG.contacts_for(100, 1.0, budget=100.0) == 100
    assert TG.contacts_for(200, 1.0, top=0.1) == 20
    assert TG.contacts_for(5, 1.0, top=0.01) == 1  # at least one customer


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 101.0}, "pays for more calls than the list's 100 customers"),
        ({"budget": 1e300}, "pays for more calls than the list's 100 customers"),
        ({"budget": 0.5}, "pays for no call"),
        ({"budget": -5.0}, "positive amount"),
        ({"budget": 10.0, "top": 0.1}, "not both"),
        ({}, "give --budget or --top"),
    ],
)
def test_bad_budgets_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(UptakeInputError, match=message):
        TG.contacts_for(100, 1.0, **kwargs)


@pytest.mark.parametrize(("text", "share"), [("10%", 0.1), ("10", 0.1), (" 2.5 % ", 0.025), ("100%", 1.0)])
def test_parse_top(text: str, share: float) -> None:
    assert TG.parse_top(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["0%", "0", "100.5%", "150", "-5%", "ten", "", "10%%"])
def test_parse_top_refuses_shares_outside_0_100(text: str) -> None:
    with pytest.raises(UptakeInputError, match="--top"):
        TG.parse_top(text)


@pytest.mark.parametrize(("cost", "value"), [(0, 10), (-1, 10), (1, 0), (1, -3), (float("nan"), 1), (1, float("inf"))])
def test_money_must_be_positive(cost: float, value: float) -> None:
    with pytest.raises(UptakeInputError, match="positive"):
        TG.check_money(cost, value)


# ---- properties --------------------------------------------------------------------------------------
labelled = st.integers(min_value=1, max_value=300).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(labelled)
def test_decile_properties(data: tuple[list[float], list[int]]) -> None:
    p, y = np.array(data[0]), np.array(data[1])
    d = TG.decile_table(p, y, 1.0, 5.0)
    assert d["customers"].sum() == len(p)
    assert d["expected_acceptances"].sum() == pytest.approx(p.sum())
    assert d["actual_acceptances"].sum() == y.sum()
    recall = d["cumulative_recall"].to_numpy()
    assert (np.diff(recall) >= -1e-12).all()
    if y.sum():
        assert recall[-1] == pytest.approx(1.0)
    assert (np.diff(d["expected_cumulative_recall"].to_numpy()) >= -1e-12).all()
    assert d["cumulative_profit"].iloc[-1] == pytest.approx(5.0 * y.sum() - len(p))


@settings(max_examples=150, deadline=None)
@given(labelled)
def test_gain_curve_properties(data: tuple[list[float], list[int]]) -> None:
    p, y = np.array(data[0]), np.array(data[1])
    c = TG.curves(p, y)
    gain = c.gain
    assert (np.diff(gain) >= -1e-12).all()
    assert gain[-1] == pytest.approx(1.0 if (y.sum() or p.sum()) else 0.0)
    assert ((gain >= -1e-12) & (gain <= 1 + 1e-12)).all()
    pc = TG.profit_curve(p, 1.0, 3.0, y)
    assert pc.best_profit == pytest.approx(pc.profit.max()) and pc.best_profit >= 0
    assert pc.best_share == pytest.approx(pc.best_contacts / len(p))
    # a ranking by the labels themselves is never beaten at any depth
    perfect = TG.curves(y.astype(float), y)
    assert (perfect.actual >= c.actual).all()


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10_000), st.floats(0.01, 1000.0), st.floats(0.0, 1e6))
def test_budget_property(n: int, cost: float, budget: float) -> None:
    k = math.floor(budget / cost + 1e-9)
    if 1 <= k <= n:
        got = TG.contacts_for(n, cost, budget=budget)
        assert got == k and got * cost <= budget + 1e-6
    else:
        with pytest.raises(UptakeInputError):
            TG.contacts_for(n, cost, budget=budget)


# ---- the command ------------------------------------------------------------------------------------------


def test_plan_with_budget_writes_the_ranked_list(
    quick_model: Path, bank_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "list.csv"
    code, stdout, err = run_cli(
        [
            "plan",
            str(quick_model),
            str(bank_csv),
            "--contact-cost",
            "4",
            "--accept-value",
            "120",
            "--budget",
            "1000",
            "--out",
            str(out),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads(stdout)
    assert result["contacts"] == 250 and result["has_labels"] is True
    assert result["sentence"].startswith("If we call the top 10% (500 customers), we reach ")
    assert len(result["deciles"]) == 10 and result["deciles"][0]["customers"] == 500
    assert result["deciles"][-1]["cumulative_recall"] == pytest.approx(1.0)
    assert result["gains"][0]["lift"] > 5  # a trained model ranks acceptors far above random
    listed = pd.read_csv(out)
    assert len(listed) == 250
    assert listed["rank"].tolist() == list(range(1, 251))
    assert listed["probability"].is_monotonic_decreasing
    assert listed["expected_value"].iloc[0] == pytest.approx(120 * listed["probability"].iloc[0] - 4)
    assert result["at_contacts"]["cost"] == 1000


def test_plan_without_labels_reports_expected_figures(
    quick_model: Path, bank_df: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new_customers.csv"
    bank_df.drop(columns=["Personal Loan"]).head(400).to_csv(new, index=False)
    code, stdout, err = run_cli(
        ["plan", str(quick_model), str(new), "--contact-cost", "5", "--accept-value", "100", "--top", "10%"], capsys
    )
    assert code == 0, err
    text = " ".join(stdout.split())
    assert "If we call the top 10% (40 customers), we expect to reach" in text
    assert "actual" not in text  # no labels: no actual acceptances, precision or actual profit
    assert "Contact list: 40 customers (top 10%)" in text
    code, stdout, _ = run_cli(
        ["plan", str(quick_model), str(new), "--contact-cost", "5", "--accept-value", "100", "--json"], capsys
    )
    result = json.loads(stdout)
    assert result["has_labels"] is False and "actual_acceptances" not in result["deciles"][0]
    assert result["best"]["basis"] == "expected" and result["contacts"] == result["best"]["contacts"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--contact-cost", "0", "--accept-value", "100"], "--contact-cost 0.0: must be a positive"),
        (["--contact-cost", "-2", "--accept-value", "100"], "--contact-cost -2.0: must be a positive"),
        (["--contact-cost", "5", "--accept-value", "0"], "--accept-value 0.0: must be a positive"),
        (["--contact-cost", "5", "--accept-value", "100", "--budget", "1000000"], "than the list's 5,000 customers"),
        (["--contact-cost", "5", "--accept-value", "100", "--budget", "100", "--top", "10%"], "not both"),
        (["--contact-cost", "5", "--accept-value", "100", "--top", "0%"], "--top '0%'"),
        (["--contact-cost", "5", "--accept-value", "100", "--top", "120%"], "--top '120%'"),
    ],
)
def test_plan_bad_input_is_one_line_exit_2(
    quick_model: Path, bank_csv: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["plan", str(quick_model), str(bank_csv), *extra], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_plan_refuses_a_directory_that_is_not_a_model(
    bank_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["plan", str(tmp_path), str(bank_csv), "--contact-cost", "5", "--accept-value", "100"], capsys
    )
    assert code == 2 and "not an uptake model" in err and len(err.strip().splitlines()) == 1
