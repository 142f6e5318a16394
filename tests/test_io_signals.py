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
    code = (
        "import atexit, sys, time; import uptake.cli as c; app = c.app\n"
        "def command(*a, **k):\n"
        "    out = app(*a, **k)\n"
        f"    atexit.register(lambda: (open({str(flag)!r}, 'w').close(), time.sleep(3)))  # a library's hook\n"
        "    return out\n"
        "c.app = command; sys.argv = ['uptake', '--help']; c.main()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert flag.exists(), proc.communicate()
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in out + err, err


@pytest.mark.parametrize(
    ("signum", "rc", "line"),
    [(signal.SIGINT, 130, "interrupted (Ctrl-C)"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_stop_signal_raised_inside_a_gc_callback_still_stops_the_command(
    tmp_path: Path, bank_csv: Path, signum: int, rc: int, line: str
) -> None:
    """A stop signal whose handler runs inside a garbage-collection callback (JAX registers one) raised
    where Python swallows exceptions: it printed 'Exception ignored ... Traceback' and training went on to
    save the model (the trust matrix's 'Ctrl-C during train', now and then). The signal lands inside such
    a callback here, during a real train in a real subprocess; the command must still stop, in one line."""
    import subprocess
    import sys

    out = tmp_path / "m"
    code = (
        "import gc, os, sys\n"
        "sent = []\n"
        "def callback(phase, info):  # a library's gc callback, running when the signal arrives\n"
        "    if phase == 'start' and not sent and 'lightgbm' in sys.modules:  # training has begun\n"
        f"        sent.append(1); os.kill(os.getpid(), {int(signum)})\n"
        "        for _ in range(200_000): pass  # Python runs the signal's handler here, in the callback\n"
        "gc.callbacks.append(callback)\n"
        "import uptake.cli as c\n"
        f"sys.argv = ['uptake', 'train', {str(bank_csv)!r}, '--model', 'lightgbm', '--out', {str(out)!r}]\n"
        "c.main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[0].startswith(line), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr[-2000:]
    assert not out.exists() and list(tmp_path.iterdir()) == []
