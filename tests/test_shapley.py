"""The Shapley estimate behind the reasons: exact where the answer is known, and the groups it is given."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.explain.shapley import log_odds, orders, shapley_effects
from uptake.features.groups import compose_background, correlated_groups
from uptake.schema.infer import infer_schema

finite = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    w=st.lists(finite, min_size=3, max_size=3),
    rows=st.lists(st.lists(finite, min_size=3, max_size=3), min_size=1, max_size=6),
    bg=st.lists(st.lists(finite, min_size=3, max_size=3), min_size=1, max_size=5),
)
def test_a_linear_logit_gets_its_exact_shares(w: list[float], rows: list[list[float]], bg: list[list[float]]) -> None:
    cols = ["a", "b", "c"]
    x = pd.DataFrame(rows, columns=cols)
    background = [dict(zip(cols, r)) for r in bg]

    def predict(frame: pd.DataFrame) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(frame[cols].to_numpy(dtype=float) @ np.asarray(w))))

    z, effects = shapley_effects(predict, x, [[c] for c in cols], background, permutations=8)
    used = np.asarray(bg, dtype=float)[np.arange(8) % len(bg)].mean(axis=0)
    np.testing.assert_allclose(effects, (x.to_numpy() - used) * np.asarray(w), atol=1e-6)
    np.testing.assert_allclose(z, log_odds(predict(x)), atol=1e-9)


def test_interactions_are_shared_and_the_shares_add_up() -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(20, 4)), columns=list("abcd"))
    background = [dict(zip("abcd", r)) for r in rng.normal(size=(16, 4))]

    def predict(f: pd.DataFrame) -> np.ndarray:
        z = f.a * f.b + np.maximum(f.c, 0) - 0.5 * f.d
        return 1.0 / (1.0 + np.exp(-z.to_numpy()))

    groups = [["a", "b"], ["c"], ["d"]]
    z, effects = shapley_effects(predict, x, groups, background, permutations=16)
    base = log_odds(predict(pd.DataFrame(background))).mean()
    np.testing.assert_allclose(effects.sum(axis=1), z - base, atol=1e-9)
    assert effects.shape == (20, 3)
    # d enters linearly and alone: its share is exact
    np.testing.assert_allclose(effects[:, 2], -0.5 * (x.d - pd.DataFrame(background).d.mean()), atol=1e-9)


def test_orders_come_in_reversed_pairs_and_are_fixed_by_the_seed() -> None:
    o = orders(5, 6, seed=3)
    assert o.shape == (6, 5)
    for i in range(0, 6, 2):
        assert list(o[i + 1]) == list(o[i][::-1])
        assert sorted(o[i]) == list(range(5))
    np.testing.assert_array_equal(o, orders(5, 6, seed=3))


def test_correlated_columns_group_and_background_rows_keep_a_group_together() -> None:
    rng = np.random.default_rng(1)
    age = rng.integers(23, 67, 2000)
    df = pd.DataFrame(
        {
            "Age": age,
            "Experience": age - 25 + rng.integers(-2, 3, 2000),
            "Income": rng.gamma(2, 30, 2000),
            "Education": rng.choice(["1", "2", "3"], 2000),
            "y": rng.integers(0, 2, 2000),
        }
    )
    schema = infer_schema(df, target="y")
    clean = schema.validate(df)[0]
    groups = correlated_groups(schema, clean)
    assert ["Age", "Experience"] in groups and ["Income"] in groups and ["Education"] in groups
    background = compose_background(clean, groups, rows=32, seed=0)
    assert len(background) == 32
    pairs = set(zip(clean["Age"], clean["Experience"]))
    assert all((b["Age"], b["Experience"]) in pairs for b in background)  # one customer's pair each
    assert background == compose_background(clean, groups, rows=32, seed=0)
