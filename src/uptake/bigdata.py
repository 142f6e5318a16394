"""Training a network on a Parquet table larger than memory.

``uptake train`` reads its table whole, which is right up to a few million rows. Past
that, this module trains the same network from the same schema, preprocessing and
artifact, but keeps only what must be in memory:

* the labels and the split (about 2 bytes a row), read from the target column alone;
* a uniform sample of training rows (``sample_rows``) to infer the schema and fit the
  preprocessor, as ``train`` would on the whole table;
* the features of the training positives (the rare class, a small set) and a bounded
  validation sample (``val_rows``) for early stopping on validation PR-AUC and for
  choosing the threshold.

Negatives are never held together: :class:`StreamedBalancedBatches` reads them from
Parquet chunk by chunk (row groups in a fresh random order each epoch, rows shuffled
within a window of two chunks) and pairs each half-batch of them with positives drawn
with replacement, the TF tutorial's ``sample_from_datasets([pos, neg], [0.5, 0.5])``
with a positive stream and a negative stream. One epoch shows every training negative
once (``resampled_steps_per_epoch``), and no 50/50 copy of the data is ever made.
Test metrics are computed by streaming the test rows through the fitted model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uptake  # noqa: F401  (pins KERAS_BACKEND before keras is imported)

import keras
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from uptake.data import DataSummary, encode_target, file_sha256, resolve_target
from uptake.errors import UptakeInputError, where
from uptake.evaluate import best_f1_threshold, metrics
from uptake.features import build_preprocessor, transform
from uptake.scoring import iter_chunks, parquet_units
from uptake.train import DEFAULT_SPLIT, Fitted, Prepared, TrainConfig, Trained, prepare, split_indices

TRAIN, VALIDATION, TEST = 0, 1, 2


@dataclass
class StreamConfig:
    """What ``train_stream`` needs beyond a ``TrainConfig``: how much to sample and read at once."""

    target: str | None = None
    positive: str | None = None
    preset: str = "tutorial"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    sample_rows: int = 200_000
    val_rows: int = 1_000_000
    chunk_rows: int = 250_000
    seed: int = 0
    split: tuple[float, float, float] = DEFAULT_SPLIT

    def train_config(self, target: str) -> TrainConfig:
        return TrainConfig(
            target=target, positive=self.positive, preset=self.preset, epochs=self.epochs,
            batch_size=self.batch_size, learning_rate=self.learning_rate, imbalance="balanced-batches",
            seed=self.seed, split=self.split,
        )


# ---- labels and split ------------------------------------------------------------------------
def read_labels(path: Path, target: str | None, positive: str | None, chunk_rows: int) -> tuple[np.ndarray, str, str, str]:
    """0/1 labels of every row from the target column alone; ``(y, target, positive, negative)``."""
    first = pq.ParquetFile(_files(path)[0])
    names = [str(n).strip() for n in first.schema_arrow.names]
    target = resolve_target(pd.DataFrame(columns=names), target, path)
    raw_name = first.schema_arrow.names[names.index(target)]
    uniques: set[Any] = set()
    for chunk in _column_chunks(path, raw_name, chunk_rows):
        if chunk.null_count:
            row = int(np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))[0])
            raise UptakeInputError(f"{where(file=path, column=target)}: the target is missing in a row (row {row + 1} of a chunk)")
        uniques.update(chunk.unique().to_pylist())
    _, pos, neg = encode_target(pd.Series(sorted(uniques, key=str), name=target), positive, path)
    parts = []
    for chunk in _column_chunks(path, raw_name, chunk_rows):
        values = pd.Series(chunk.to_numpy(zero_copy_only=False))
        codes, levels = pd.factorize(values)
        one = np.asarray([_label_is(v, pos) for v in levels], dtype=np.int8)
        parts.append(one[codes])
    return np.concatenate(parts), target, pos, neg


def _label_is(value: Any, positive: str) -> int:
    from uptake.data import _label_text

    return int(_label_text(value) == positive)


def _files(path: Path) -> list[Path]:
    from uptake.scoring import parquet_files

    return parquet_files(Path(path))


def _column_chunks(path: Path, column: str, chunk_rows: int) -> Iterator[pa.Array]:
    for file in _files(path):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk_rows, columns=[column]):
            yield batch.column(0)


def split_parts(y: np.ndarray, seed: int, split: tuple[float, float, float]) -> np.ndarray:
    """One byte a row: TRAIN, VALIDATION or TEST, stratified exactly as ``uptake train`` splits."""
    idx_train, idx_val, idx_test = split_indices(y, seed, split)
    part = np.full(len(y), TRAIN, dtype=np.int8)
    part[idx_val] = VALIDATION
    part[idx_test] = TEST
    return part


# ---- reading rows by position ----------------------------------------------------------------
def take_rows(path: Path, keep: np.ndarray, chunk_rows: int) -> pd.DataFrame:
    """The rows where ``keep`` is true, read chunk by chunk (only they are kept)."""
    tables = []
    for chunk in iter_chunks(path, chunk_rows):
        mask = keep[chunk.start : chunk.start + chunk.table.num_rows]
        if mask.any():
            tables.append(chunk.table.filter(pa.array(mask)))
    return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame()


class FeatureReader:
    """Validated, preprocessed features of any rows of a chunk (the training path, chunk-sized)."""

    def __init__(self, schema: Any, preprocessor: Any, source: Path) -> None:
        self.schema, self.pre, self.source = schema, preprocessor, source

    def __call__(self, table: pa.Table, first_row: int) -> np.ndarray:
        frame = table.select(self.schema.feature_names).to_pandas()
        clean, errors = self.schema.validate(frame, source=self.source, row_offset=first_row)
        if errors:
            raise UptakeInputError(errors[0].message(self.source) + (f" ({len(errors) - 1} more)" if len(errors) > 1 else ""))
        return transform(self.pre, clean)


def collect(path: Path, mask: np.ndarray, features: FeatureReader, chunk_rows: int) -> np.ndarray:
    """Features of the rows selected by ``mask``, in file order."""
    parts = []
    for chunk in iter_chunks(path, chunk_rows):
        sel = mask[chunk.start : chunk.start + chunk.table.num_rows]
        if sel.any():
            parts.append(features(chunk.table.filter(pa.array(sel)), chunk.start + 1))
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(parts)


# ---- the balanced stream ---------------------------------------------------------------------
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
        self, path: Path, negatives: np.ndarray, positives_x: np.ndarray, features: FeatureReader,
        batch_size: int, seed: int, chunk_rows: int = 250_000, **kwargs: Any,
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


# ---- training -------------------------------------------------------------------------------
@dataclass
class StreamTrained:
    """A ``Trained`` (so ``uptake.train.save`` writes the usual artifact) plus stream facts."""

    trained: Trained
    rows: int
    positives: int
    split_rows: dict[str, int]

    @property
    def test(self) -> dict[str, Any]:
        return self.trained.test


def train_stream(path: str | Path, config: StreamConfig, callbacks: list[Any] | None = None) -> StreamTrained:
    """Train a network on a Parquet file or dataset without loading it whole; see the module docstring."""
    from uptake.train import build_estimator, numeric_encoding_for

    started = time.perf_counter()
    path = Path(path)
    if not path.exists():
        raise UptakeInputError(f"{where(file=path)}: no such file")
    y, target, pos_label, _ = read_labels(path, config.target, config.positive, config.chunk_rows)
    part = split_parts(y, config.seed, config.split)
    train_cfg = config.train_config(target)
    train_cfg.positive = pos_label

    rng = np.random.default_rng((config.seed, 7))
    train_rows = np.flatnonzero(part == TRAIN)
    sample = np.zeros(len(y), dtype=bool)
    sample[rng.choice(train_rows, size=min(config.sample_rows, len(train_rows)), replace=False)] = True
    frame = take_rows(path, sample, config.chunk_rows)
    frame.attrs["row_offset"] = 1
    prepared = prepare(frame, train_cfg, source=path)  # schema + validation, as `uptake train`

    estimator = build_estimator(train_cfg, callbacks or ())
    pre = build_preprocessor(prepared.schema, numeric_encoding_for(estimator))
    pre.fit(prepared.clean)
    features = FeatureReader(prepared.schema, pre, path)

    val_mask = part == VALIDATION
    if val_mask.sum() > config.val_rows:
        keep = rng.choice(np.flatnonzero(val_mask), size=config.val_rows, replace=False)
        val_mask = np.zeros(len(y), dtype=bool)
        val_mask[keep] = True
    x_val, y_val = collect(path, val_mask, features, config.chunk_rows), y[val_mask]
    x_pos = collect(path, (part == TRAIN) & (y == 1), features, config.chunk_rows)
    cfg = estimator.resolved_config()
    batches = StreamedBalancedBatches(path, (part == TRAIN) & (y == 0), x_pos, features, cfg.batch_size,
                                      config.seed, config.chunk_rows)
    estimator.fit(batches, None, X_val=x_val, y_val=y_val)

    p_val = estimator.predict_proba(x_val)[:, 1]
    threshold = best_f1_threshold(y_val, p_val)
    fitted = Fitted(pre, estimator, threshold, {"rule": "max-f1", "chosen_on": "validation"},
                    metrics(y_val, p_val, threshold), time.perf_counter() - started)
    p_test, y_test = _score_rows(path, part == TEST, y, features, estimator, config.chunk_rows)
    test = metrics(y_test, p_test, threshold)
    split_rows = {"train": int((part == TRAIN).sum()), "validation": int((part == VALIDATION).sum()),
                  "test": int((part == TEST).sum())}
    summary = prepared.summary
    full = Prepared(prepared.schema, prepared.clean, y, DataSummary(
        rows=len(y), positives=int(y.sum()), positive_share=float(y.mean()), dropped=summary.dropped,
        missing=summary.missing, suspicious=summary.suspicious,
    ))
    trained = Trained(full, fitted, train_cfg, test, split_rows, str(path), file_sha256(path))
    return StreamTrained(trained, len(y), int(y.sum()), split_rows)


def _score_rows(
    path: Path, mask: np.ndarray, y: np.ndarray, features: FeatureReader, estimator: Any, chunk_rows: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of the masked rows, chunk by chunk (the test split is never held as features)."""
    ps = []
    for chunk in iter_chunks(path, chunk_rows):
        sel = mask[chunk.start : chunk.start + chunk.table.num_rows]
        if sel.any():
            ps.append(estimator.predict_proba(features(chunk.table.filter(pa.array(sel)), chunk.start + 1))[:, 1])
    return np.concatenate(ps), y[mask]


def save(result: StreamTrained, out: str | Path) -> Path:
    """The usual model directory (``uptake.train.save``): ``uptake predict`` and the server load it as any other."""
    from uptake.train import save as save_trained

    return save_trained(result.trained, out)


__all__ = ["StreamConfig", "StreamTrained", "StreamedBalancedBatches", "read_labels", "save", "train_stream"]
