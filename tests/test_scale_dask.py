"""Dask scoring on a real 2-worker LocalCluster (worker processes): same output as local, survives a killed worker."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from uptake.apply.dask.client import dask_predict
from uptake.apply.stream import stream_predict
from uptake.errors import UptakeInputError
from uptake.io.chunks import parquet_units
from uptake.synth import iter_table_chunks

pytestmark = pytest.mark.slow  # starting worker processes that import JAX takes a while on 2 cores


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Parquet dataset directory: 4 files x 6 row groups of 1,000 rows = 24 tasks."""
    d = tmp_path_factory.mktemp("ds") / "loans"
    d.mkdir()
    import pyarrow as pa

    for i, part in enumerate(iter_table_chunks("loan", 24_000, seed=9, chunk_rows=6_000)):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), d / f"part-{i}.parquet", row_group_size=1_000)
    return d


@pytest.fixture(scope="module")
def local_output(quick_model: Path, dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "scored.parquet"
    stream_predict(quick_model, dataset, out, chunk_rows=5_000)
    return out


def test_units_are_row_groups_with_global_offsets(dataset):
    units = parquet_units(dataset)
    assert len(units) == 24
    assert [u.start for u in units] == list(range(0, 24_000, 1_000))


def test_dask_output_is_identical_to_local_streaming(client, quick_model, dataset, local_output, tmp_path):
    out = tmp_path / "dask.parquet"
    summary = dask_predict(quick_model, dataset, out, client=client)
    assert summary.engine == "dask" and summary.rows_scored == 24_000
    assert pq.read_table(out).equals(pq.read_table(local_output))


def test_killed_worker_partition_is_retried_and_output_complete(client, quick_model, dataset, local_output, tmp_path):
    killed: list[int] = []

    def kill_one_worker(done: int) -> None:
        if done == 2 and not killed:
            pids = client.run(os.getpid)
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    out = tmp_path / "dask.parquet"
    summary = dask_predict(quick_model, dataset, out, client=client, on_unit_done=kill_one_worker)
    assert killed, "the kill hook never ran"
    assert summary.rows_scored == 24_000
    assert pq.read_table(out).equals(pq.read_table(local_output))
    client.wait_for_workers(2, timeout=120)
    assert killed[0] not in client.run(os.getpid).values()  # the nanny started a fresh worker


def test_invalid_row_fails_the_job_and_writes_nothing(client, quick_model, tmp_path):
    import pandas as pd

    d = tmp_path / "bad"
    d.mkdir()
    part = next(iter_table_chunks("loan", 3_000, seed=1, chunk_rows=3_000)).astype({"Income": "str"})
    part.loc[1_234, "Income"] = "lots"
    pq.write_table(
        __import__("pyarrow").Table.from_pandas(part, preserve_index=False), d / "p.parquet", row_group_size=500
    )
    out = tmp_path / "o.csv"
    with pytest.raises(UptakeInputError, match=r"column 'Income', row 1235, value 'lots': not a number"):
        dask_predict(quick_model, d, out, client=client)
    assert not out.exists()
    summary = dask_predict(quick_model, d, out, client=client, skip_invalid=True, rank=False)
    got = pd.read_csv(out)
    assert summary.invalid == 1 and len(got) == 2_999 and "rank" not in got.columns
    assert 1_235 not in set(got["ID"])
    assert np.isfinite(got["probability"]).all()


def test_csv_input_is_refused(quick_model, tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("a,b\n1,2\n")
    with pytest.raises(UptakeInputError, match="--engine dask scores Parquet"):
        dask_predict(quick_model, src, tmp_path / "o.csv")
