"""One way to write a file or a directory: build it under a temporary name, then rename.

A reader (or a crash) sees the old file or the new one, never half of one. Temporary
names sit beside the destination (same filesystem, so the rename is atomic) and start
with a dot. ``mkstemp``/``mkdtemp`` create private (0600/0700) entries; outputs are
then given the permissions any Unix tool would give them under the user's umask, so a
service account in the same group can read a model another user trained.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it (``/proc`` on Linux; set-and-restore elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # pragma: no cover - not Linux
    os.umask(mask)
    return mask


def temp_file(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())
    return Path(tmp)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on any error it is removed."""
    path = Path(path)
    tmp = temp_file(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def new_temp_dir(dest: Path, suffix: str = ".tmp") -> Path:
    """A hidden, empty directory beside ``dest`` with umask permissions."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def replace_dir(tmp: Path, dest: Path) -> None:
    """Swap a finished directory into place; an existing one is moved aside first, then removed.

    Directories cannot be renamed over each other, so for a moment ``dest`` is absent;
    model directories avoid even that with a pointer (``uptake.artifact.store``).
    """
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
        os.replace(dest, old / "previous")
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory beside ``dest``; on success it replaces ``dest`` whole."""
    dest = Path(dest)
    tmp = new_temp_dir(dest)
    try:
        yield tmp
        replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


__all__ = ["atomic_dir", "atomic_file", "current_umask", "new_temp_dir", "temp_file", "replace_dir", "write_bytes", "write_text"]
