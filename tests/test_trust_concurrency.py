"""A model directory swapped thousands of times while loaders score it: every load is one whole model.

Two logistic-regression models A and B (different coefficients and thresholds) are
published alternately into one ``--out`` by two writer processes at once, while
loader processes load and score. A mixed load (A's card with B's weights) would score
the probe rows differently from the model its card names; none may.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uptake.artifact import read_card, resolve, write_card
from uptake.artifact.store import KEEP_VERSIONS, store_of
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train

SWAPS_PER_WRITER = 1000


def _writer(out: str, sources: list[str], n: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        src = Path(sources[int(rng.integers(2))])
        write_card(Path(out), read_card(src), src)
    return n


def _loader(out: str, probe: str, expected: dict[str, list[float]], stop: str) -> dict[str, int]:
    rows = pd.read_csv(probe)
    counts = {"loads": 0, "mixed": 0, "errors": 0}
    deadline = time.time() + 900
    while not Path(stop).exists() and time.time() < deadline:
        try:
            m = Model.load(out)
        except Exception:
            counts["errors"] += 1
            continue
        p = m.score(rows).probability
        version = m.card.version
        if not np.allclose(p, expected[version], atol=1e-12) or m.threshold != expected["threshold:" + version][0]:
            counts["mixed"] += 1
        counts["loads"] += 1
    return counts


@pytest.mark.slow
def test_thousands_of_swaps_and_no_mixed_load(bank_df, tmp_path: Path) -> None:
    sources, expected = [], {}
    probe = tmp_path / "probe.csv"
    bank_df.head(40).to_csv(probe, index=False)
    for name, cfg in (
        ("a", TrainConfig(model="logreg", seed=0)),
        ("b", TrainConfig(model="logreg", seed=0, imbalance="class-weight", threshold=0.7)),
    ):
        path = save(train(bank_df, cfg), tmp_path / f"source-{name}")
        m = Model.load(path)
        meta = json.loads((m.version_dir / "metadata.json").read_text())
        meta["version"] = f"model-{name}"  # a name each load can be checked against
        (m.version_dir / "metadata.json").write_text(json.dumps(meta))
        m = Model.load(path)
        expected[m.card.version] = m.score(pd.read_csv(probe)).probability.tolist()
        expected["threshold:" + m.card.version] = [m.threshold]
        sources.append(str(m.version_dir))
    assert expected["model-a"] != expected["model-b"]
    out = tmp_path / "served"
    write_card(out, read_card(Path(sources[0])), Path(sources[0]))
    ctx = multiprocessing.get_context("spawn")
    stop = tmp_path / "stop"
    with ctx.Pool(4) as pool:
        writers = [pool.apply_async(_writer, (str(out), sources, SWAPS_PER_WRITER, seed)) for seed in (1, 2)]
        loaders = [pool.apply_async(_loader, (str(out), str(probe), expected, str(stop))) for _ in range(2)]
        swaps = sum(w.get(timeout=900) for w in writers)
        stop.write_text("writers are done")
        results = [r.get(timeout=300) for r in loaders]
    loads = sum(r["loads"] for r in results)
    assert swaps == 2 * SWAPS_PER_WRITER
    assert sum(r["mixed"] for r in results) == 0
    assert sum(r["errors"] for r in results) == 0
    assert loads >= 100
    # Concurrent writers left no temporary directories. A version a loader held during the
    # last clean-up survives it; the next publish (no loader running now) removes it.
    store = store_of(out)
    write_card(out, read_card(Path(sources[0])), Path(sources[0]))
    names = sorted(p.name for p in store.iterdir())
    assert [n for n in names if n.startswith(".") and n != ".lock"] == []
    assert len([n for n in names if not n.startswith(".")]) <= KEEP_VERSIONS
    assert resolve(out).parent == store.resolve()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") and not p.name.endswith(".versions")]
    print(f"{swaps} swaps, {loads} loads, 0 mixed")
