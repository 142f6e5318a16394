"""A stop signal that lands while a temporary is made is held until its clean-up is armed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from uptake.io.atomic import HeldSignals, atomic_file


@pytest.fixture(autouse=True)
def python_sigint() -> object:
    """Python's own SIGINT handler for each test, whatever an earlier test in this worker left installed.

    What is held is delivered to the handler that was there before; these tests expect Python's
    (a KeyboardInterrupt). A fresh-clone CI run once found another in place in its worker (the
    tests raised nothing), so the handler is set here rather than assumed."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


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


def test_a_held_signal_goes_to_the_handler_that_was_there_before() -> None:
    """A process that ignores SIGINT (started in the background by a shell) keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    held = HeldSignals()
    os.kill(os.getpid(), signal.SIGINT)
    assert held.pending == [signal.SIGINT]
    held.release()  # delivered to SIG_IGN: nothing raised
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_ctrl_c_after_the_command_reaches_no_exit_hook_a_library_registered_during_it(tmp_path: Path) -> None:
    """A library imported by the command (JAX) registers exit hooks after uptake's; a Ctrl-C landing in one
    of them at exit printed 'Exception ignored ... Traceback'. uptake's quiet shutdown now runs first."""
    import subprocess
    import sys
    import time

    flag = tmp_path / "in-exit-hook"
    code = ("import atexit, sys, time; import uptake.cli as c; app = c.app\n"
            "def command(*a, **k):\n"
            "    out = app(*a, **k)\n"
            f"    atexit.register(lambda: (open({str(flag)!r}, 'w').close(), time.sleep(3)))  # a library's hook\n"
            "    return out\n"
            "c.app = command; sys.argv = ['uptake', '--help']; c.main()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert flag.exists(), proc.communicate()
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in out + err, err
