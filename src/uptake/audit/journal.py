"""The audit log's write-ahead journal: every answered prediction is on disk before its answer leaves.

The database is written off the request path (``uptake.audit.writer``): a request
never waits for it. What was answered but not yet inserted would die with the process
(``kill -9``, the out-of-memory killer, a crash), so before an answer is returned its
rows are appended to a journal file (``write(2)`` on a file opened for appending: the
kernel holds them from then on, whatever happens to the process). The writer thread
inserts batches in order and marks each committed batch in the journal; when a
journal holds nothing uncommitted it is rotated away.

At start-up, journals of processes no longer running are replayed: every entry after
the last committed mark whose request is not in the database already is inserted (a
batch may have committed just before a crash, before its mark). Entries the database
refuses (an id of one NUL byte on PostgreSQL, say) never take other customers' rows
down with them: they are retried one by one, and the refused ones are kept in a
``rejected-*.jsonl`` file beside the journals, counted and shown on ``/health``.

Guarantee, as ``docs/serve.md`` states it: an answered prediction is in the audit log,
or in a journal that the next start of the server writes to it, after any crash of the
server process. ``fsync=True`` (``uptake serve --audit-fsync``) extends it to a crash of
the machine (a power loss), at the cost of a disk flush per answer.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: A journal larger than this is rotated once everything in it is committed.
ROTATE_BYTES = 64 << 20
PREFIX = "journal-"


class Journal:
    """One process's append-only journal file in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], fsync: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._lock = threading.Lock()
        self.seq = 0
        self.committed = 0
        self._open()

    def _open(self) -> None:
        self.path = self.directory / f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0

    def append(self, body: bytes) -> int:
        """Write one entry (its JSON, without the sequence number) and return its sequence number."""
        with self._lock:
            self.seq += 1
            line = b'{"seq":%d,' % self.seq + body[1:] + b"\n"
            self._write(line)
            if self.fsync:
                os.fsync(self._fd)
            return self.seq

    def mark(self, seq: int) -> None:
        """Entries up to ``seq`` are in the database; rotate the file when nothing in it is uncommitted."""
        with self._lock:
            self.committed = max(self.committed, seq)
            self._write(b'{"committed":%d}\n' % self.committed)
            if self._size > ROTATE_BYTES and self.committed == self.seq:
                os.close(self._fd)
                old = self.path
                self._open()
                old.unlink(missing_ok=True)

    def _write(self, line: bytes) -> None:
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(line)

    def close(self) -> None:
        """Close; the file goes when everything in it reached the database (else the next start replays it)."""
        with self._lock:
            os.close(self._fd)
            if self.committed == self.seq:
                self.path.unlink(missing_ok=True)

    def reject(self, body: bytes, error: str) -> Path:
        """Keep an entry the database refused (with why) where an operator can find it; never replayed."""
        return self.reject_into(self.directory, body, error)

    @staticmethod
    def reject_into(directory: Path, body: bytes, error: str) -> Path:
        path = Path(directory) / f"rejected-{os.getpid()}.jsonl"
        line = b'{"error":' + json.dumps(error).encode() + b"," + body[1:] + b"\n"
        with open(path, "ab") as fh:
            fh.write(line)
        return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphans(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """Journals in ``directory`` left by processes no longer running."""
    folder = Path(directory)
    if not folder.is_dir():
        return
    for path in sorted(folder.glob(f"{PREFIX}*.jsonl")):
        try:
            pid = int(path.name[len(PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if not _alive(pid):
            yield path


def uncommitted(path: Path) -> list[dict[str, Any]]:
    """The entries of a journal after its last committed mark (a torn last line, from a crash mid-write, is
    the one entry that was never answered: its write had not returned)."""
    entries: dict[int, dict[str, Any]] = {}
    committed = 0
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if "committed" in item:
                committed = max(committed, int(item["committed"]))
            elif "seq" in item:
                entries[int(item["seq"])] = item
    return [entries[s] for s in sorted(entries) if s > committed]


__all__ = ["ROTATE_BYTES", "Journal", "orphans", "uncommitted"]
