"""Training from Parquet without loading it whole: the balanced stream and the saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from uptake.errors import UptakeInputError
from uptake.imbalance.batches import StreamedBalancedBatches
from uptake.pipeline import Model
from uptake.synth import iter_table_chunks, write_table
from uptake.train import TrainConfig, save
from uptake.train import stream as bigdata
from uptake.train.stream import StreamOptions


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
    data = StreamedBalancedBatches(path, negatives, positives_x, _ids, batch_size=64, seed=1, chunk_rows=300)
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
        return StreamedBalancedBatches(path, y == 0, positives_x, _ids, batch_size=50, seed=3, chunk_rows=400)

    a, b = make(), make()
    sequential = [a[i][0] for i in range(6)]
    np.testing.assert_array_equal(b[4][0], sequential[4])  # out of order: restarts and skips ahead
    np.testing.assert_array_equal(b[5][0], sequential[5])
    a.on_epoch_end()
    assert not np.array_equal(a[0][0], sequential[0])  # a new epoch reshuffles


@pytest.mark.slow
def test_train_stream_saves_a_model_that_scores_like_any_other(fraud_parquet, tmp_path):
    config = TrainConfig(target="Class", preset="tutorial", epochs=2)
    result = bigdata.train_stream(
        fraud_parquet, config, StreamOptions(chunk_rows=7_000, sample_rows=8_000, val_rows=5_000)
    )
    assert result.rows == 60_000 and result.split_rows == {"train": 38_400, "validation": 9_600, "test": 12_000}
    assert result.test["n"] == 12_000 and result.test["positives"] >= 1
    assert 0.0 <= result.test["pr_auc"] <= 1.0
    out = save(result.trained, tmp_path / "model")
    m = Model.load(out)
    assert m.card.to_json()["data"]["rows"] == 60_000
    assert m.card.to_json()["imbalance"]["strategy"] == "balanced-batches"
    assert len(m.estimator.history_[0]["val_pr_auc"]) <= 2
    sample = pd.read_parquet(fraud_parquet).head(500)
    scored = m.score(sample)
    assert len(scored.probability) == 500 and np.all((scored.probability >= 0) & (scored.probability <= 1))


def test_network_fit_from_a_batch_stream_needs_validation_data(id_table):
    from uptake.models.network import NetworkClassifier

    path, y = id_table
    data = StreamedBalancedBatches(path, y == 0, np.ones((3, 1), np.float32), _ids, batch_size=8, seed=0)
    with pytest.raises(UptakeInputError, match="needs X_val and y_val"):
        NetworkClassifier(preset="tutorial", epochs=1).fit(data, None)


def test_missing_target_column_is_named(fraud_parquet):
    with pytest.raises(UptakeInputError, match="column 'Nope'"):
        bigdata.train_stream(fraud_parquet, TrainConfig(target="Nope", preset="tutorial"))


@pytest.mark.slow
def test_train_stream_honours_every_threshold_rule_and_calibration(fraud_parquet, tmp_path, capsys):
    """`uptake train-stream --min-recall 0.9 --calibrate isotonic`: the rule is stored and met on validation."""
    from cli_helpers import run_cli

    out = tmp_path / "model"
    code, stdout, err = run_cli(
        [
            "train-stream",
            fraud_parquet,
            "--out",
            out,
            "--target",
            "Class",
            "--epochs",
            2,
            "--chunk-rows",
            7_000,
            "--sample-rows",
            8_000,
            "--min-recall",
            0.9,
            "--calibrate",
            "isotonic",
        ],
        capsys,
    )
    assert code == 0, err
    m = Model.load(out)
    rule = m.card.threshold_rule
    assert rule.rule == "min-recall" and rule.min_recall == 0.9 and rule.chosen_on == "validation"
    assert rule.expected.recall >= 0.9
    assert m.card.metrics.validation.recall >= 0.9
    # 17 validation frauds: isotonic on so few would send most scores to 0 or 1, so a sigmoid is fitted, and said
    assert m.card.calibration is not None and m.card.calibration.method == "sigmoid"
    assert m.card.calibration.note.startswith("isotonic was asked for, but the validation split holds 17 rows")
    assert "recall at least 0.9" in stdout
