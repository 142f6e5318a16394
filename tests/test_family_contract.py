"""One contract, every family in the registry: a new family in ``FAMILIES`` is checked here without a line added.

For each family, trained quickly on the bank table's first 2,000 rows through ``uptake.train``: the saved
model loads and scores exactly as the fitted pipeline did; no file in it is a pickle; a changed part is
refused in one line; its options are checked before any training; where it compiles a fast path, the fast
path gives the pipeline's probabilities; and the card names the libraries whose files are inside.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uptake.errors import UptakeInputError
from uptake.models import FAMILIES
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train

PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
#: The fastest honest options per family (the contract, not the quality, is under test).
QUICK = {
    "network": {"preset": "seed", "epochs": 2},
    "ensemble": {"preset": "seed", "epochs": 2},
    "auto": {"time_limit": 8},
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def trained(request: pytest.FixtureRequest, bank_df: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    name = request.param
    cfg = TrainConfig(model=name, seed=0, **QUICK.get(name, {}))
    t = train(bank_df.head(2000), cfg)
    return name, t, save(t, tmp_path_factory.mktemp(name) / "m")


def test_a_saved_model_scores_exactly_as_it_was_fitted(trained, bank_df: pd.DataFrame) -> None:
    name, t, path = trained
    m = Model.load(path)
    rows = bank_df.iloc[2000:2600]
    np.testing.assert_allclose(
        m.score(rows).probability, t.fitted.pipeline.proba(rows), rtol=1e-6, atol=1e-7, err_msg=name
    )
    assert m.card.model_type == name


def test_no_file_is_a_pickle(trained) -> None:
    _, _, path = trained
    for f in Path(path).resolve().rglob("*"):
        if f.is_file():
            assert f.suffix not in (".pkl", ".pickle", ".joblib"), f
            assert f.read_bytes()[:2] not in PICKLE_MAGIC or f.suffix == ".keras", f


def test_a_changed_part_is_refused_in_one_line(trained, tmp_path: Path) -> None:
    name, _, path = trained
    copy = tmp_path / "m"
    shutil.copytree(Path(path).resolve(), copy)
    part = sorted(p for p in (copy / "estimator").rglob("*") if p.is_file())[0]
    part.write_bytes(part.read_bytes() + b" ")
    with pytest.raises(UptakeInputError, match="changed since the model was saved") as exc:
        Model.load(copy)
    assert "\n" not in str(exc.value), name


def test_bad_options_fail_before_training(trained, bank_df: pd.DataFrame) -> None:
    name, _, _ = trained
    with pytest.raises(UptakeInputError):
        train(bank_df.head(50), TrainConfig(model=name, seed=0, imbalance="no-such-strategy"))


def test_the_fast_path_gives_the_pipelines_probabilities(trained, bank_df: pd.DataFrame) -> None:
    name, _, path = trained
    m = Model.load(path)
    if m.compile_fast() is None:
        pytest.skip(f"{name} has no compiled fast path (it is served through the pipeline)")
    rows = bank_df.iloc[2000:2300]
    clean = m.validate(rows).clean
    np.testing.assert_allclose(
        m.calibrate(m.fast.raw_proba(clean.to_dict("records"))), m.proba_clean(clean), atol=1e-6, err_msg=name
    )


def test_the_card_names_the_libraries_inside(trained) -> None:
    _, t, path = trained
    card = Model.load(path).card
    for library in t.fitted.estimator.libraries():
        assert library in card.versions, (library, card.versions)
