"""Balanced batches without a balanced copy of the data: in memory, or streamed from Parquet.

:class:`BalancedBatches` is a ``keras.utils.PyDataset`` that draws 50/50 batches from
index arrays, so balanced training never materialises a resampled copy of a large
table; :class:`StreamedBalancedBatches` reads the negatives from Parquet chunk by
chunk for tables larger than memory (``uptake train-stream``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from uptake.errors import UptakeInputError
from uptake.imbalance.strategies import binary_labels, class_counts
from uptake.io.chunks import parquet_units


class RowSource(Protocol):
    """Anything rows can be drawn from by an integer index array (a numpy array qualifies)."""

    def __getitem__(self, index: np.ndarray, /) -> Any: ...


def _take(source: Any, index: np.ndarray) -> Any:
    return source[index]


class BalancedBatches(keras.utils.PyDataset):
    """Batches that are half positives, half negatives, drawn with replacement.

    The equivalent of the TF tutorial's ``sample_from_datasets([pos, neg], [0.5, 0.5])``
    without a resampled copy of the data: the dataset keeps only the positive and the
    negative row indices, and each batch gathers ``batch_size`` rows from ``X`` by an
    index array. ``len`` is ``ceil(2 * neg / batch_size)``, the tutorial's
    ``resampled_steps_per_epoch``: one epoch shows about every negative once.

    ``X`` is any row source with ``__getitem__(index_array) -> array`` (a numpy array,
    a memory map, or a Parquet-backed reader). ``getter(X, index_array)`` overrides how
    rows are fetched; indices passed to it are sorted ascending, which suits readers
    that scan row groups. ``y`` must be an in-memory label array.

    Batches depend only on ``(seed, epoch, batch index)``, so they are identical across
    runs and independent of the order in which Keras workers request them.
    """

    def __init__(
        self,
        X: RowSource,
        y: Any,
        batch_size: int,
        seed: int,
        getter: Callable[[Any, np.ndarray], Any] | None = None,
        sample_weight: Any | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(batch_size) < 2:
            raise UptakeInputError(f"batch_size must be at least 2, got {batch_size!r}")
        labels = binary_labels(y)
        class_counts(labels)
        index_dtype = np.int32 if labels.size < 2**31 else np.int64
        self.X = X
        self.getter = getter if getter is not None else _take
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.epoch = 0
        # (n, 1) so batches match the (batch, 1) output of a Dense(1) network.
        self._labels = labels.astype(np.float32).reshape(-1, 1)
        self._sample_weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        self.pos_index = np.flatnonzero(labels == 1).astype(index_dtype)
        self.neg_index = np.flatnonzero(labels == 0).astype(index_dtype)
        self.n_pos_per_batch = self.batch_size // 2
        self.n_neg_per_batch = self.batch_size - self.n_pos_per_batch

    def __len__(self) -> int:
        return math.ceil(2 * self.neg_index.size / self.batch_size)

    def batch_indices(self, index: int) -> np.ndarray:
        """The sorted row indices of batch ``index`` in the current epoch."""
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        pos = self.pos_index[rng.integers(0, self.pos_index.size, self.n_pos_per_batch)]
        neg = self.neg_index[rng.integers(0, self.neg_index.size, self.n_neg_per_batch)]
        rows = np.concatenate([pos, neg])
        rows.sort()
        return rows

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if index < 0 or index >= len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        rows = self.batch_indices(index)
        x = np.asarray(self.getter(self.X, rows), dtype=np.float32)
        y = self._labels[rows]
        if self._sample_weight is None:
            return x, y
        return x, y, self._sample_weight[rows]

    def on_epoch_end(self) -> None:
        """Advance the epoch so the next epoch draws fresh (but reproducible) batches."""
        self.epoch += 1


class StreamedBalancedBatches(keras.utils.PyDataset):
    """Half-positive, half-negative batches with negatives streamed from Parquet.

    Positives (the rare class) are given as an in-memory feature array and drawn with
    replacement; negatives are read row group by row group, in an order reshuffled
    every epoch, and shuffled within a window of two chunks. Batch ``i`` of an epoch
    depends only on ``(seed, epoch, i)``. Keras asks for batches in order (fit with
    ``shuffle=False``, one worker); a request out of order restarts the epoch's stream
    and skips ahead, so it is still answered correctly, only more slowly.
    """

    def __init__(
        self,
        path: Path,
        negatives: np.ndarray,
        positives_x: np.ndarray,
        features: Callable[[pa.Table, int], np.ndarray],
        batch_size: int,
        seed: int,
        chunk_rows: int = 250_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if batch_size < 2:
            raise UptakeInputError(f"batch_size must be at least 2, got {batch_size}")
        if len(positives_x) == 0 or not negatives.any():
            raise UptakeInputError("balanced batches need training rows of both classes")
        self.path, self.negatives, self.positives_x = Path(path), negatives, positives_x
        self.features, self.chunk_rows, self.seed = features, int(chunk_rows), int(seed)
        self.n_pos = batch_size // 2
        self.n_neg = batch_size - self.n_pos
        self.n_negatives = int(negatives.sum())
        self.units = parquet_units(self.path)
        self.epoch = 0
        self._stream: Iterator[np.ndarray] | None = None
        self._next = 0
        self._left = np.zeros((0, positives_x.shape[1]), dtype=np.float32)

    def __len__(self) -> int:
        return math.ceil(self.n_negatives / self.n_neg)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index < 0 or index >= len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        if self._stream is None or index != self._next:
            self._restart()
            for _ in range(index):
                self._take(self.n_neg)
        neg = self._take(self.n_neg)
        self._next = index + 1
        rng = np.random.default_rng((self.seed, self.epoch, int(index), 1))
        pos = self.positives_x[rng.integers(0, len(self.positives_x), self.n_pos)]
        x = np.concatenate([pos, neg])
        y = np.concatenate([np.ones(len(pos), np.float32), np.zeros(len(neg), np.float32)]).reshape(-1, 1)
        order = rng.permutation(len(x))
        return x[order], y[order]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._stream = None

    def _restart(self) -> None:
        self._stream = self._negative_chunks()
        self._left = np.zeros((0, self.positives_x.shape[1]), dtype=np.float32)
        self._next = 0

    def _take(self, n: int) -> np.ndarray:
        """The next ``n`` negatives of the stream (fewer at the end of the epoch)."""
        assert self._stream is not None
        while len(self._left) < 2 * n:
            block = next(self._stream, None)
            if block is None:
                break
            rng = np.random.default_rng((self.seed, self.epoch, len(self._left), 2))
            merged = np.concatenate([self._left, block])
            self._left = merged[rng.permutation(len(merged))]
        out, self._left = self._left[:n], self._left[n:]
        return out

    def _negative_chunks(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng((self.seed, self.epoch, 0))
        files: dict[str, pq.ParquetFile] = {}
        for u in (self.units[i] for i in rng.permutation(len(self.units))):
            pf = files.setdefault(u.file, pq.ParquetFile(u.file))
            start = u.start
            for batch in pf.iter_batches(batch_size=self.chunk_rows, row_groups=[u.row_group]):
                n = batch.num_rows
                sel = self.negatives[start : start + n]
                if sel.any():
                    table = pa.Table.from_batches([batch]).filter(pa.array(sel))
                    table = table.rename_columns([str(c).strip() for c in table.column_names])
                    yield self.features(table, start + 1)
                start += n


__all__ = ["BalancedBatches", "RowSource", "StreamedBalancedBatches"]
