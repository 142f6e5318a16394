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
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: The signals a user stops a command with; their handlers raise (KeyboardInterrupt, the CLI's Terminated).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


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


class HeldSignals:
    """SIGINT and SIGTERM held back while a temporary is created and its clean-up armed.

    A stop signal that lands between creating a temporary file and entering the
    ``try`` that removes it would leave the file behind. Created at the top of that
    ``try``'s setup, this records such signals instead of raising; ``release()``, called
    inside the ``try`` once the names are known, restores the handlers and raises what
    was held there, where the clean-up runs. Only the main thread handles signals, so
    elsewhere it holds nothing.
    """

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                handler = signal.getsignal(signum)
                if handler is not None:  # None: set outside Python, and it could not be put back
                    self.previous[signum] = signal.signal(signum, self._hold)

    def _hold(self, signum: int, _frame: Any) -> None:
        self.pending.append(signum)

    def swallow(self) -> list[int]:
        """Put the handlers back and return what arrived meanwhile, for the caller to act on (not raised)."""
        previous, self.previous = self.previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        pending, self.pending = self.pending, []
        return list(dict.fromkeys(pending))

    def release(self) -> None:
        """Put the handlers back and deliver what arrived meanwhile (idempotent)."""
        previous, self.previous = self.previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        pending, self.pending = self.pending, []
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


@contextlib.contextmanager
def temporary(create: Callable[[], T], remove: Callable[[T], object]) -> Iterator[T]:
    """A temporary made with stop signals held until its removal is armed, and removed if the block fails."""
    held, made = HeldSignals(), None
    try:
        made = create()
        held.release()  # a stop signal from here on finds the temporary named, and it is removed
        yield made
    except BaseException:
        if made is not None:
            remove(made)
        raise
    finally:
        held.release()


def temp_file(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())
    return Path(tmp)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on any error it is removed."""
    path = Path(path)
    with temporary(lambda: temp_file(path), lambda tmp: tmp.unlink(missing_ok=True)) as tmp:
        yield tmp
        os.replace(tmp, path)


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
    with temporary(lambda: new_temp_dir(dest), lambda tmp: shutil.rmtree(tmp, ignore_errors=True)) as tmp:
        yield tmp
        replace_dir(tmp, dest)


__all__ = [
    "STOP_SIGNALS",
    "HeldSignals",
    "atomic_dir",
    "atomic_file",
    "current_umask",
    "new_temp_dir",
    "replace_dir",
    "temp_file",
    "temporary",
    "write_bytes",
    "write_text",
]
