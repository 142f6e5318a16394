"""Shared fixtures: the real bank table (read in place from ../shared/data) and small trained models.

The data directory comes from ``UPTAKE_DATA_DIR`` (default ``../shared/data`` beside the
repository), so the bank's files are never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import uptake  # noqa: F401  (pins the Keras backend first)

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return Path(os.environ.get("UPTAKE_DATA_DIR", REPO.parent / "shared" / "data")).resolve()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, with one line, when the bank table is not where the tests look.

    Most tests need the real table; 300 identical fixture errors would hide the fix.
    """
    d = data_dir()
    if not (d / "Bank_Personal_Loan_Modelling.csv").exists():
        pytest.exit(f"the bank table is not in {d}: clone uptake beside shared/ or set UPTAKE_DATA_DIR", returncode=2)


@pytest.fixture(scope="session")
def bank_dir() -> Path:
    d = data_dir()
    if not (d / "Bank_Personal_Loan_Modelling.csv").exists():
        pytest.fail(f"the bank table is not in {d}: set UPTAKE_DATA_DIR")
    return d


@pytest.fixture(scope="session")
def bank_csv(bank_dir: Path) -> Path:
    return bank_dir / "Bank_Personal_Loan_Modelling.csv"


@pytest.fixture(scope="session")
def bank_xlsx(bank_dir: Path) -> Path:
    return bank_dir / "Bank_Personal_Loan_Modelling.xlsx"


@pytest.fixture(scope="session")
def bank_df(bank_csv: Path):
    """The bank table as a data scientist holds it in a notebook: typed columns (pandas' own reading).

    uptake's readers keep a CSV's cells as text (``read_table``); the schema reads both alike, which
    ``tests/test_cells.py`` checks. Row numbers are the file's, as ``read_table`` gives them.
    """
    import pandas as pd

    df = pd.read_csv(bank_csv)
    df.attrs.update(row_offset=2, source=str(bank_csv), decimal=".")
    return df


@pytest.fixture(scope="session")
def quick_model(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Path:
    """A small network trained once per session on the real table (the `seed` preset, 8 epochs).

    Good enough to rank customers sensibly (PR-AUC ~0.9) while taking a few seconds;
    tests that need a saved model share it and must not modify it.
    """
    from uptake.train import TrainConfig, save, train_file

    out = tmp_path_factory.mktemp("models") / "quick"
    trained = train_file(bank_csv, TrainConfig(preset="seed", epochs=8, seed=0))
    save(trained, out)
    return out
