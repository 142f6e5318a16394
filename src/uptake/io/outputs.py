"""The one check every output path goes through, before any work is done.

An analyst should learn that ``--out`` is wrong in the first second, not after an
hour of scoring: a wrong suffix, a missing or read-only folder, a path that is a
directory, or the very file being read (which the output would replace) are all
refused here with one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from uptake.errors import UptakeInputError, where

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (or ``a`` lies inside directory ``b``), following links."""
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    ra, rb = a.resolve(), b.resolve()
    return ra == rb or (b.is_dir() and rb in ra.parents)


def check_output(
    out: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    suffixes: tuple[str, ...] | None = TABLE_SUFFIXES,
    what: str = "output",
) -> Path:
    """Refuse an output path that cannot or must not be written; return it as a Path."""
    out = Path(out)
    if suffixes is not None and out.suffix.lower() not in suffixes:
        names = " or ".join(", ".join(suffixes).rsplit(", ", 1))
        raise UptakeInputError(f"{where(file=out)}: {what} must end in {names}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UptakeInputError(f"{where(file=out)}: the directory {str(parent)!r} does not exist")
    if out.is_dir():
        raise UptakeInputError(f"{where(file=out)}: is a directory; name a file to write")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UptakeInputError(f"{where(file=out)}: the directory {str(parent)!r} is not writable")
    if out.exists() and not os.access(out, os.W_OK):
        raise UptakeInputError(f"{where(file=out)}: exists and is not writable")
    for source in inputs:
        if source is not None and same_file(out, Path(source)):
            raise UptakeInputError(f"{where(file=out)}: is the input file itself; write the {what} somewhere else")
    return out


__all__ = ["TABLE_SUFFIXES", "check_output", "same_file"]
