"""Preprocessing: fitted on training rows only, clipped, robust to unknown codes, saved without pickle."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uptake.errors import UptakeInputError
from uptake.features import CLIP, PiecewiseLinear, build_preprocessor, load_preprocessor, save_preprocessor, transform
from uptake.train import TrainConfig, prepare, split_indices


@pytest.fixture(scope="module")
def prepared(bank_df: pd.DataFrame):
    return prepare(bank_df, TrainConfig(), "bank.csv")


@pytest.fixture(scope="module")
def fitted(prepared):
    train, _, _ = split_indices(prepared.y, seed=0)
    return build_preprocessor(prepared.schema).fit(prepared.clean.iloc[train]), train


def _scaler(pre):
    return pre.named_transformers_["numeric"].named_steps["scale"]


def test_statistics_come_from_training_rows_only(prepared, fitted) -> None:
    pre, train = fitted
    numeric = prepared.schema.by_kind("numeric")
    np.testing.assert_allclose(_scaler(pre).mean_, prepared.clean.iloc[train][numeric].mean().to_numpy())
    before = _scaler(pre).mean_.copy(), _scaler(pre).scale_.copy()
    # Transforming other (even absurd) rows must not move the fitted statistics.
    test_rows = prepared.clean.drop(index=prepared.clean.index[train]).copy()
    test_rows["Income"] = test_rows["Income"] * 1000
    transform(pre, test_rows)
    np.testing.assert_array_equal(_scaler(pre).mean_, before[0])
    np.testing.assert_array_equal(_scaler(pre).scale_, before[1])


def test_layout_and_clip(prepared, fitted) -> None:
    pre, _ = fitted
    names = list(pre.get_feature_names_out())
    assert names[:5] == ["Age", "Experience", "Income", "CCAvg", "Mortgage"]
    assert "Education_1" in names and "Education_3" in names
    x = transform(pre, prepared.clean)
    assert x.dtype == np.float32 and x.shape == (5000, len(names))
    num = x[:, :5]
    assert num.max() <= CLIP and num.min() >= -CLIP
    # The table's big mortgages really are more than 5 sd out: the clip is exercised.
    assert (num == CLIP).any()
    extreme = prepared.clean.head(2).copy()
    extreme["Income"] = [1e9, -1e9]
    assert transform(pre, extreme)[:, names.index("Income")].tolist() == [CLIP, -CLIP]


def test_unknown_category_is_all_zero_without_warning(prepared, fitted) -> None:
    pre, _ = fitted
    names = list(pre.get_feature_names_out())
    rows = prepared.clean.head(3).copy()
    rows["Education"] = ["1", "7", None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = transform(pre, rows)
    edu = [i for i, n in enumerate(names) if n.startswith("Education_")]
    assert x[0, edu].tolist() == [1.0, 0.0, 0.0]
    assert x[1, edu].tolist() == [0.0, 0.0, 0.0]
    assert x[2, edu].sum() == 1.0  # missing: imputed with the most frequent code


def test_missing_numbers_get_training_median(prepared, fitted) -> None:
    pre, train = fitted
    rows = prepared.clean.head(1).copy()
    rows["Income"] = np.nan
    median = prepared.clean.iloc[train]["Income"].median()
    expected = (median - _scaler(pre).mean_[2]) / _scaler(pre).scale_[2]
    assert transform(pre, rows)[0, 2] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("encoding", ["standard", "ple", "ple-tree", "ple-tree+boost"])
def test_skops_round_trip(tmp_path: Path, prepared, encoding: str) -> None:
    pre = build_preprocessor(prepared.schema, encoding).fit(prepared.clean, prepared.y)
    path = tmp_path / "pre.skops"
    save_preprocessor(pre, path)
    again = load_preprocessor(path)
    np.testing.assert_array_equal(transform(again, prepared.clean), transform(pre, prepared.clean))


def test_unknown_numeric_encoding(prepared) -> None:
    with pytest.raises(UptakeInputError, match="numeric encoding 'fancy'"):
        build_preprocessor(prepared.schema, "fancy")


@pytest.mark.parametrize("func", ["eval", "system"])
def test_skops_refuses_untrusted_types(tmp_path: Path, func: str) -> None:
    import os

    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

    fn = eval if func == "eval" else os.system
    evil = ColumnTransformer([("f", FunctionTransformer(func=fn), [0])])
    path = tmp_path / "pre.skops"
    sio.dump(evil, path)
    with pytest.raises(UptakeInputError, match="refuses to load untrusted type"):
        load_preprocessor(path)


def test_not_a_skops_file(tmp_path: Path) -> None:
    path = tmp_path / "pre.skops"
    path.write_bytes(b"\x80\x04not a zip")
    with pytest.raises(UptakeInputError, match="not a readable preprocessor"):
        load_preprocessor(path)


def test_tree_bins_put_an_edge_where_the_outcome_steps() -> None:
    """Target-aware bins: the edges follow the target (a step at 100), quantile bins do not know it."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 200, size=(4000, 1))
    y = (x[:, 0] > 100.0) & (rng.random(4000) < 0.8)
    tree = PiecewiseLinear(bins="tree").fit(x, y)
    assert np.abs(tree.edges_[0] - 100.0).min() < 1.0
    assert tree.edges_[0][0] == x.min() and tree.edges_[0][-1] == x.max() and len(tree.edges_[0]) <= 17
    encoded = tree.transform(x)
    assert encoded.shape == (4000, len(tree.edges_[0])) and ((encoded[:, 1:] >= 0) & (encoded[:, 1:] <= 1)).all()
    with pytest.raises(ValueError, match="learnt from the target"):
        PiecewiseLinear(bins="tree").fit(x)
    with pytest.raises(ValueError, match="bins must be"):
        PiecewiseLinear(bins="deciles").fit(x, y)


def test_encoders_saved_before_tree_bins_still_read_as_quantile_bins() -> None:
    old = PiecewiseLinear().fit(np.arange(100.0).reshape(-1, 1))
    del old.__dict__["bins"], old.__dict__["min_leaf"]  # what an earlier release's file restores
    assert old.get_params()["bins"] == "quantile" and old.transform([[50.0]]).shape == (1, 17)
