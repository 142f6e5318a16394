"""Exact ranks for files larger than memory: probabilities spilled to disk, sorted in runs.

The first pass only stores each row's probability (8 bytes a row, on disk, NaN for
skipped rows). The probabilities are then sorted in runs of ``run_rows``; a row's
rank is its rank inside its own run plus, for every other run, how many of its
values beat it (ties go to the earlier row, as in ``rank_desc``).

Scratch arrays are memory maps, and writing a memory map on a full disk kills the
process with SIGBUS instead of raising; so their space is reserved with
``posix_fallocate`` first, which fails cleanly (and names the disk) when it is not there.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np

from uptake.decide.decision import rank_desc
from uptake.errors import UptakeInputError, where

DEFAULT_RUN_ROWS = 8_000_000


def disk_error(path: Path, exc: OSError) -> UptakeInputError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return UptakeInputError(f"{where(file=path.parent)}: cannot write scratch data ({reason})")


def reserve(fd: int, size: int, path: Path) -> None:
    """Allocate ``size`` bytes of a file now, so later writes cannot find the disk full."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):  # filesystems without fallocate
            os.ftruncate(fd, size)
            return
        raise disk_error(path, exc) from None


def scratch_array(path: Path, dtype: type, n: int) -> np.memmap:
    """A writable memory-mapped array backed by reserved disk space."""
    with open(path, "w+b") as fh:
        reserve(fh.fileno(), n * np.dtype(dtype).itemsize, path)
    return np.memmap(path, dtype=dtype, mode="r+", shape=(n,))


class ProbabilityStore:
    """One float64 per input row in a scratch file (NaN = row not scored).

    Pass 1 fills it in any order (Dask results arrive out of order); ranking and
    pass 2 read it back as a memory map, so it never has to fit in memory.
    """

    def __init__(self, directory: Path, rows: int | None = None) -> None:
        self.path = Path(directory) / "probability.f8"
        self.rows = 0
        self._fh = open(self.path, "w+b")  # noqa: SIM115 - closed by close(), this object's lifetime
        if rows:
            reserve(self._fh.fileno(), rows * 8, self.path)
            self.rows = rows

    def append(self, p: np.ndarray) -> None:
        self._write(self.rows, p)
        self.rows += len(p)

    def put(self, start: int, p: np.ndarray) -> None:
        self._write(start, p)

    def _write(self, start: int, p: np.ndarray) -> None:
        try:
            self._fh.seek(start * 8)
            self._fh.write(np.ascontiguousarray(p, dtype=np.float64).tobytes())
        except OSError as exc:
            raise disk_error(self.path, exc) from None

    def array(self) -> np.ndarray:
        self._fh.flush()
        if self.rows == 0:
            return np.zeros(0)
        return np.memmap(self.path, dtype=np.float64, mode="r", shape=(self.rows,))

    def close(self) -> None:
        self._fh.close()


class ExactRanks:
    """Ranks (1 = most likely, ties to the earlier row) over probabilities too many to sort at once.

    The scored probabilities are cut into runs of ``run_rows`` consecutive rows; each
    run is sorted on its own (and its rows ranked inside it) and both go to scratch
    files. The rank of a row in run ``s`` with probability ``p`` is then::

        rank_in_run_s + sum over other runs k of #(run_k > p) + sum over runs k < s of #(run_k == p)

    which is exactly ``rank_desc`` over all rows, using ``run_rows`` of memory.
    Rows that were not scored (NaN) take no rank and do not count.
    """

    def __init__(self, probability: np.ndarray, directory: Path, run_rows: int = DEFAULT_RUN_ROWS) -> None:
        self.run_rows = max(1, int(run_rows))
        n = len(probability)
        self.bounds = [(s, min(s + self.run_rows, n)) for s in range(0, n, self.run_rows)]
        self.sorted: list[np.ndarray] = []
        self.local = scratch_array(Path(directory) / "rank_in_run.i8", np.int64, max(n, 1))
        sorted_all = scratch_array(Path(directory) / "sorted.f8", np.float64, max(n, 1))
        self.valid_before: list[int] = []  # scored rows in earlier runs, to map run positions
        for start, stop in self.bounds:
            p = np.asarray(probability[start:stop])
            ok = ~np.isnan(p)
            ranks = np.zeros(len(p), dtype=np.int64)
            ranks[ok] = rank_desc(p[ok])
            self.local[start:stop] = ranks
            values = np.sort(p[ok])
            sorted_all[start : start + len(values)] = values
            self.sorted.append(sorted_all[start : start + len(values)])
            del p, ok, ranks, values
        self.local.flush()
        sorted_all.flush()

    def ranks(self, positions: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Global ranks of the scored rows at 0-based ``positions`` with probabilities ``p``."""
        out = np.zeros(len(p), dtype=np.int64)
        run_of = np.asarray(positions, dtype=np.int64) // self.run_rows
        for s in np.unique(run_of):
            sel = run_of == s
            q = p[sel]
            r = np.asarray(self.local[positions[sel]], dtype=np.int64)
            for k, values in enumerate(self.sorted):
                if k == s or len(values) == 0:
                    continue
                right = np.searchsorted(values, q, side="right")
                r += len(values) - right
                if k < s:
                    r += right - np.searchsorted(values, q, side="left")
            out[sel] = r
        return out


__all__ = ["DEFAULT_RUN_ROWS", "ExactRanks", "ProbabilityStore", "disk_error", "reserve", "scratch_array"]
