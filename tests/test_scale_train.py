"""Training from Parquet without loading it whole: the balanced stream and the saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from uptake import bigdata
from uptake.errors import UptakeInputError
from uptake.predict import Model
from uptake.synth import iter_table_chunks, write_table


@pytest.fixture(scope="module")
def fraud_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fraud") / "fraud.parquet"
    write_table(iter_table_chunks("fraud", 60_000, seed=4, chunk_rows=10_000), path)
    return path


@pytest.fixture()
def id_table(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """Rows whose only feature is their own number, in 5 row groups, 10% positives."""
    n = 5_000
    y = (np.arange(n) % 10 == 0).astype(np.int64)
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"row": np.arange(n, dtype=np.float64), "y": y}), path, row_group_size=1_000)
    return path, y


def _ids(table: pa.Table, first_row: int) -> np.ndarray:
    return table.column("row").to_numpy().astype(np.float32).reshape(-1, 1)


def test_one_epoch_shows_every_negative_once_in_half_positive_batches(id_table):
    path, y = id_table
    negatives = y == 0
    positives_x = np.flatnonzero(y == 1).astype(np.float32).reshape(-1, 1)
    data = bigdata.StreamedBalancedBatches(path, negatives, positives_x, _ids, batch_size=64, seed=1, chunk_rows=300)
    assert len(data) == int(np.ceil(negatives.sum() / 32))
    seen = []
    for i in range(len(data)):
        x, label = data[i]
        assert label.shape == (len(x), 1)
        assert (label == 1).sum() == 32  # half of every batch is positive
        assert np.all(y[x[label[:, 0] == 1, 0].astype(int)] == 1)
        seen.append(x[label[:, 0] == 0, 0])
    seen = np.sort(np.concatenate(seen)).astype(int)
    np.testing.assert_array_equal(seen, np.flatnonzero(negatives))


def test_batches_are_reproducible_and_order_independent(id_table):
    path, y = id_table
    positives_x = np.flatnonzero(y == 1).astype(np.float32).reshape(-1, 1)

    def make():
        return bigdata.StreamedBalancedBatches(path, y == 0, positives_x, _ids, batch_size=50, seed=3, chunk_rows=400)

    a, b = make(), make()
    sequential = [a[i][0] for i in range(6)]
    np.testing.assert_array_equal(b[4][0], sequential[4])  # out of order: restarts and skips ahead
    np.testing.assert_array_equal(b[5][0], sequential[5])
    a.on_epoch_end()
    assert not np.array_equal(a[0][0], sequential[0])  # a new epoch reshuffles


@pytest.mark.slow
def test_train_stream_saves_a_model_that_scores_like_any_other(fraud_parquet, tmp_path):
    config = bigdata.StreamConfig(target="Class", epochs=2, chunk_rows=7_000, sample_rows=8_000, val_rows=5_000)
    result = bigdata.train_stream(fraud_parquet, config)
    assert result.rows == 60_000 and result.split_rows == {"train": 38_400, "validation": 9_600, "test": 12_000}
    assert result.test["n"] == 12_000 and result.test["positives"] >= 1
    assert 0.0 <= result.test["pr_auc"] <= 1.0
    out = bigdata.save(result, tmp_path / "model")
    m = Model.load(out)
    assert m.metadata["data"]["rows"] == 60_000
    assert m.metadata["imbalance"]["strategy"] == "balanced-batches"
    assert len(m.estimator.history_[0]["val_pr_auc"]) <= 2
    sample = pd.read_parquet(fraud_parquet).head(500)
    scored = m.score(sample)
    assert len(scored.probability) == 500 and np.all((scored.probability >= 0) & (scored.probability <= 1))


def test_network_fit_from_a_batch_stream_needs_validation_data(id_table):
    from uptake.models.network import NetworkClassifier

    path, y = id_table
    data = bigdata.StreamedBalancedBatches(path, y == 0, np.ones((3, 1), np.float32), _ids, batch_size=8, seed=0)
    with pytest.raises(UptakeInputError, match="needs X_val and y_val"):
        NetworkClassifier(preset="tutorial", epochs=1).fit(data, None)


def test_missing_target_column_is_named(fraud_parquet):
    with pytest.raises(UptakeInputError, match="column 'Nope'"):
        bigdata.train_stream(fraud_parquet, bigdata.StreamConfig(target="Nope"))
