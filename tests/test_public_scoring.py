"""No public method scores unvalidated rows: raw frames of any spelling score as `uptake predict` scores the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from cli_helpers import run_cli
from uptake.errors import UptakeInputError
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train


@pytest.fixture(scope="module")
def catboost_dir(bank_df, tmp_path_factory) -> Path:
    return save(train(bank_df, TrainConfig(model="catboost", seed=0)), tmp_path_factory.mktemp("pub") / "m")


def spellings(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The same rows as a data scientist may hold them."""
    text = df.astype(str)
    codes_as_text = df.copy()
    codes_as_text["Education"] = codes_as_text["Education"].map(lambda v: f"{float(v):.1f}")  # '2.0' is the code 2
    extra = df.copy()
    extra["Segment"] = "gold"
    return {
        "integer codes": df,
        "all text": text,
        "codes as text": codes_as_text,
        "extra and reordered columns": extra[list(reversed(extra.columns))],
    }


def test_every_public_scoring_method_validates_raw_rows(catboost_dir, bank_df, bank_csv, tmp_path, capsys) -> None:
    m = Model.load(catboost_dir)
    rows = bank_df.head(1000)
    out = tmp_path / "scored.csv"
    src = tmp_path / "in.csv"
    rows.to_csv(src, index=False)
    code, _, err = run_cli(["predict", catboost_dir, src, "--out", out], capsys)
    assert code == 0, err
    expected = pd.read_csv(out)["probability"].to_numpy()
    for name, frame in spellings(rows).items():
        np.testing.assert_allclose(m.proba(frame), expected, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(m.score(frame).probability, expected, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(m.calibrate(m.raw_proba(frame)), expected, atol=1e-9, err_msg=name)
    y = rows["Personal Loan"].to_numpy()
    assert average_precision_score(y, m.proba(spellings(rows)["all text"])) > 0.9  # not the 0.47 of unvalidated rows
    bad = rows.head(5).astype(object)
    bad.loc[bad.index[2], "Income"] = "lots"
    with pytest.raises(UptakeInputError, match="column 'Income', row 4, value 'lots': not a number"):
        m.proba(bad)
