"""The adversarial matrix (tests/trust_cases.py) through the real ``uptake`` command, one case per row.

Every case asserts the exit code, that no traceback reaches the user, the words of
the first line, that nothing temporary is left beside the outputs, and its own
checks (scores unchanged, inputs untouched, nothing half-written).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import trust_cases as tc
import trust_cases_provenance as tp
from uptake.train import TrainConfig, save, train_file


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> tc.World:
    models = tmp_path_factory.mktemp("trust-models")
    paths = {}
    for name, config in (
        ("lightgbm", TrainConfig(model="lightgbm", seed=0)),
        ("network", TrainConfig(model="network", preset="seed", epochs=3, seed=0)),
        ("calibrated", TrainConfig(model="logreg", calibrate="sigmoid", seed=0)),
    ):
        paths[name] = save(train_file(bank_csv, config), models / name)
    return tc.World(bank_csv, paths["lightgbm"], paths["network"], paths["calibrated"], models)


@pytest.mark.parametrize("case", tc.CASES + tp.CASES, ids=lambda c: c.name)
def test_adversarial_case(case: tc.Case, world: tc.World, tmp_path: Path) -> None:
    if case.needs_root and os.geteuid() != 0:
        pytest.skip("needs root to mount a small or read-only tmpfs")
    try:
        try:
            argv = case.build(world, tmp_path)
        except (OSError, tc.subprocess.CalledProcessError) as exc:  # mount refused in this sandbox
            pytest.skip(f"cannot set the case up here: {exc}")
        o = tc.run(world, argv, case.signal_after, folder=tmp_path)
        text = o.stdout + o.stderr
        assert "Traceback" not in text, text
        assert o.rc == case.rc, (o.rc, text)
        assert case.fragment in tc.first_line(o), tc.first_line(o)
        assert tc.leftovers(tmp_path) == []
        if case.check is not None:
            case.check(world, tmp_path, o)
    finally:
        tc.cleanup()
