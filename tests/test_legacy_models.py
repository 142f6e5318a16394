"""Models saved by uptake 0.1.0 still load, score identically and serve.

The fixture directories in ``tests/fixtures/legacy-0.1.0`` were written by release
0.1.0's own code (see the README there); they are never regenerated.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from serve_live import live_server
from uptake.pipeline import Model
from uptake.serve.config import ServeConfig

FIXTURES = Path(__file__).parent / "fixtures" / "legacy-0.1.0"
NAMES = ("network-seed", "lightgbm", "logreg-sigmoid")


def _rows() -> pd.DataFrame:
    df = pd.read_csv(FIXTURES / "score_rows.csv")
    df.attrs["row_offset"] = 2
    return df


@pytest.fixture()
def legacy(tmp_path: Path):
    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(FIXTURES / name, dest)
        return dest

    return copy


@pytest.mark.parametrize("name", NAMES)
def test_legacy_model_loads_and_scores_identically(name: str, legacy) -> None:
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    model = Model.load(legacy(name))
    scored = model.score(_rows())
    assert model.threshold == pytest.approx(expected["threshold"], abs=0)
    np.testing.assert_allclose(scored.probability, expected["probability"], rtol=0, atol=1e-6)
    assert scored.decision.tolist() == expected["decision"]


@pytest.mark.parametrize("name", NAMES)
def test_legacy_model_serves(name: str, legacy, tmp_path: Path) -> None:
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    rows = _rows()
    config = ServeConfig([str(legacy(name))], db_url=f"sqlite:///{tmp_path / 'audit.sqlite'}")
    body = json.loads(rows.to_json(orient="records"))
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/api/v1/predict", json=body)
        assert r.status_code == 200, r.text
        got = [p["probability"] for p in r.json()["predictions"]]
        assert [p["decision"] for p in r.json()["predictions"]] == expected["decision"]
    np.testing.assert_allclose(got, expected["probability"], rtol=0, atol=1e-6)
