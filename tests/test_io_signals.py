"""A stop signal that lands while a temporary is made is held until its clean-up is armed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from uptake.io.atomic import HeldSignals, atomic_file


def test_a_signal_while_held_is_raised_on_release_with_the_handler_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    held = HeldSignals()
    os.kill(os.getpid(), signal.SIGINT)  # lands now, while a temporary would be being named
    assert held.pending == [signal.SIGINT]
    with pytest.raises(KeyboardInterrupt):
        held.release()
    assert signal.getsignal(signal.SIGINT) is before
    held.release()  # idempotent: nothing held, nothing raised


def test_a_signal_inside_atomic_file_leaves_no_temporary(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_file(tmp_path / "out.csv") as tmp:
        tmp.write_text("half")
        os.kill(os.getpid(), signal.SIGINT)
    assert list(tmp_path.iterdir()) == []
