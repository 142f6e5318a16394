"""The ``uptake`` command: a thin Typer layer over the Python API.

Commands live in one module per stage (``train``: train and train-stream;
``apply``: predict and evaluate; ``decide``: tune-threshold; ``campaign``: plan;
``compare``; ``report``; ``serve``: serve and the audit log; ``monitor``: drift
after training; ``data``: synth and version) and register themselves on ``app`` (``uptake.cli.common``).

``main`` is the console script: user mistakes surface as one line on stderr and exit
code 2, usage mistakes as click's usage message and exit 2, Ctrl-C as one line and
exit 130, SIGTERM as one line and exit 143, all after every temporary file has been
removed (a stop signal that lands where Python cannot raise it, such as a library's
garbage-collection callback, is sent again rather than lost); anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from typing import Any

import typer
from typer._click.exceptions import ClickException

# Commands register on `app` when their module is imported; this order is `uptake --help`'s (the pipeline's).
from uptake.cli import (
    apply,  # noqa: F401
    campaign,  # noqa: F401
    compare,  # noqa: F401
    data,  # noqa: F401
    decide,  # noqa: F401
    fairness,  # noqa: F401
    monitor,  # noqa: F401
    outcomes,  # noqa: F401
    report,  # noqa: F401
    serve,  # noqa: F401
    train,  # noqa: F401
)
from uptake.cli.common import app, err_console
from uptake.errors import UptakeInputError
from uptake.io.atomic import STOP_SIGNALS

__all__ = ["app", "main"]


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` cleans up before the process exits."""


def _terminate(_signum: int, _frame: Any) -> None:
    raise Terminated


def _leave_after_signal(code: int) -> None:
    """Exit at once after an interrupt: every ``finally`` has run and the temporary files are gone.

    A normal interpreter shutdown here can crash (SIGSEGV) in XLA's threads when the
    interrupt arrived inside a JAX computation, which would turn exit 130 into -11.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _stop_not_lost(previous: Any) -> Any:
    """An unraisable-exception hook that sends a swallowed stop signal again.

    A stop signal's handler raises in whatever Python code runs at that moment. If that code is
    a garbage-collection callback (JAX's `_xla_gc_callback`) or a `__del__`, Python cannot
    propagate the exception. It printed 'Exception ignored ... Traceback', dropped the
    interrupt, and the command went on to finish. This hook keeps such a stop quiet and sends
    the same signal again from a helper thread, so it is raised in the command's own code.
    """

    def hook(args: Any) -> None:
        stop = {KeyboardInterrupt: signal.SIGINT, Terminated: getattr(signal, "SIGTERM", None)}.get(args.exc_type)
        if stop is None:
            previous(args)
            return
        again = threading.Timer(0.05, os.kill, (os.getpid(), stop))
        again.daemon = True
        again.start()

    hook.uptake_stop_not_lost = True  # type: ignore[attr-defined]
    return hook


def _quiet_shutdown() -> None:
    """At interpreter exit the work is done and its outputs are in place: a stop signal then has
    nothing left to stop, and would only print a traceback from a library's garbage-collection hook."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def main() -> None:
    """Console-script entry point; see the module docstring for what reaches the user."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminate)
    atexit.unregister(_quiet_shutdown)  # once, however often main runs in one process (the tests)
    atexit.register(_quiet_shutdown)
    if not getattr(sys.unraisablehook, "uptake_stop_not_lost", False):
        sys.unraisablehook = _stop_not_lost(sys.unraisablehook)
    try:
        code = app(standalone_mode=False)
    except UptakeInputError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except ClickException as exc:  # usage errors: typer vendors click as typer._click
        exc.show()
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except Terminated:
        err_console.print("terminated (SIGTERM); temporary files were removed", markup=False)
        _leave_after_signal(143)
    except OSError as exc:  # the disk, not the program: a full disk or a file that vanished
        where = f" ({exc.filename})" if exc.filename else ""
        err_console.print(f"error: {exc.strerror or exc}{where}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    if code == 130:  # typer turns Ctrl-C into Exit(130) and, outside standalone mode, returns it
        err_console.print("interrupted (Ctrl-C); temporary files were removed", markup=False)
        _leave_after_signal(130)
    # exit hooks run last-registered first: the libraries the command imported (JAX) registered theirs
    # after ours, and a late stop signal reached their hooks before ours ignored it; ours goes first now
    atexit.unregister(_quiet_shutdown)
    atexit.register(_quiet_shutdown)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    main()
