"""Running the real ``uptake`` entry point in-process, as a user's shell would.

In-process (not a subprocess) so a test can call it many times without paying
Keras' start-up each time; ``main`` is the console script's own function, so exit
codes and stderr are exactly what a user sees.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest


def run_cli(args: Sequence[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``uptake ARGS``; return (exit code, stdout, stderr)."""
    from uptake.cli import main

    old = sys.argv
    sys.argv = ["uptake", *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err
