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

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from uptake.decide.metrics import metrics
from uptake.errors import UptakeInputError, where
from uptake.features import build_preprocessor, layout, transform
from uptake.features.groups import explanation
from uptake.imbalance.batches import StreamedBalancedBatches
from uptake.io.chunks import iter_chunks, parquet_files
from uptake.io.tables import file_sha256
from uptake.models import make_estimator
from uptake.pipeline import ScoringPipeline
from uptake.schema import LEARNING
from uptake.schema.summary import DataSummary
from uptake.schema.target import encode_target, label_text, resolve_target
from uptake.train.fit import Trained, finish
from uptake.train.options import TrainConfig
from uptake.train.prepare import Prepared, prepare, split_indices

TRAIN, VALIDATION, TEST = 0, 1, 2


@dataclass
class StreamOptions:
    """What streamed training needs beyond a ``TrainConfig``: how much to sample and read at once."""

    sample_rows: int = 200_000
    val_rows: int = 1_000_000
    chunk_rows: int = 250_000


# ---- labels and split ------------------------------------------------------------------------
def read_labels(
    path: Path, target: str | None, positive: str | None, chunk_rows: int
) -> tuple[np.ndarray, str, str, str]:
    """0/1 labels of every row from the target column alone; ``(y, target, positive, negative)``."""
    first = pq.ParquetFile(_files(path)[0])
    names = [str(n).strip() for n in first.schema_arrow.names]
    target = resolve_target(pd.DataFrame(columns=names), target, path)
    raw_name = first.schema_arrow.names[names.index(target)]
    uniques: set[Any] = set()
    for chunk in _column_chunks(path, raw_name, chunk_rows):
        if chunk.null_count:
            row = int(np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))[0])
            raise UptakeInputError(
                f"{where(file=path, column=target)}: the target is missing in a row (row {row + 1} of a chunk)"
            )
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
    return int(label_text(value) == positive)


def _files(path: Path) -> list[Path]:
    return parquet_files(Path(path))


def _column_chunks(path: Path, column: str, chunk_rows: int) -> Iterator[pa.Array]:
    for file in _files(path):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk_rows, columns=[column]):
            yield batch.column(0)


def split_parts(y: np.ndarray, seed: int, split: tuple[float, float, float]) -> np.ndarray:
    """One byte a row: TRAIN, VALIDATION or TEST, stratified exactly as ``uptake train`` splits."""
    _idx_train, idx_val, idx_test = split_indices(y, seed, split)
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
    """Validated, preprocessed features of any rows of a chunk (the training path, chunk-sized).

    The schema was learnt from a sample, so rows beyond it are validated for types,
    not for the sample's ranges and categories (``uptake.schema.LEARNING``).
    """

    def __init__(self, schema: Any, preprocessor: Any, source: Path) -> None:
        self.schema, self.pre, self.source = schema, preprocessor, source

    def clean(self, table: pa.Table, first_row: int) -> pd.DataFrame:
        frame = table.select(self.schema.feature_names).to_pandas()
        clean, errors = self.schema.validate(frame, source=self.source, row_offset=first_row, policy=LEARNING)
        if errors:
            raise UptakeInputError(
                errors[0].message(self.source) + (f" ({len(errors) - 1} more)" if len(errors) > 1 else "")
            )
        return clean

    def __call__(self, table: pa.Table, first_row: int) -> np.ndarray:
        return transform(self.pre, self.clean(table, first_row))


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


# ---- training -------------------------------------------------------------------------------
@dataclass
class StreamTrained:
    """A ``Trained`` (so ``uptake.train.save`` writes the usual model) plus stream facts."""

    trained: Trained
    rows: int
    positives: int
    split_rows: dict[str, int]

    @property
    def test(self) -> dict[str, Any]:
        return self.trained.test


def train_stream(
    path: str | Path, config: TrainConfig, options: StreamOptions | None = None, callbacks: list[Any] | None = None
) -> StreamTrained:
    """Train a network on a Parquet file or dataset without loading it whole; see the module docstring.

    Every threshold rule and ``--calibrate`` work as in ``uptake train`` (``uptake.train.fit.finish``).
    """
    started = time.perf_counter()
    options = options or StreamOptions()
    path = Path(path)
    if not path.exists():
        raise UptakeInputError(f"{where(file=path)}: no such file")
    if config.model != "network":
        raise UptakeInputError(f"--model {config.model}: streamed training trains networks (balanced batches)")
    config.check()
    y, target, pos_label, _ = read_labels(path, config.target, config.positive, options.chunk_rows)
    part = split_parts(y, config.seed, config.split)
    config = replace(config, target=target, positive=pos_label, imbalance="balanced-batches")

    rng = np.random.default_rng((config.seed, 7))
    train_rows = np.flatnonzero(part == TRAIN)
    sample = np.zeros(len(y), dtype=bool)
    sample[rng.choice(train_rows, size=min(options.sample_rows, len(train_rows)), replace=False)] = True
    frame = take_rows(path, sample, options.chunk_rows)
    frame.attrs["row_offset"] = 1
    prepared = prepare(frame, config, source=path)  # schema + validation, as `uptake train`

    estimator = make_estimator(config.options(), callbacks or ())
    pre = build_preprocessor(prepared.schema, estimator.numeric_encoding(), estimator.categorical_encoding())
    pre.fit(prepared.clean, prepared.y)  # the target only for target-aware bins (ple-tree)
    estimator.set_layout(layout(pre, prepared.schema))
    features = FeatureReader(prepared.schema, pre, path)

    val_mask = part == VALIDATION
    if val_mask.sum() > options.val_rows:
        keep = rng.choice(np.flatnonzero(val_mask), size=options.val_rows, replace=False)
        val_mask = np.zeros(len(y), dtype=bool)
        val_mask[keep] = True
    x_val, y_val = collect(path, val_mask, features, options.chunk_rows), y[val_mask]
    x_pos = collect(path, (part == TRAIN) & (y == 1), features, options.chunk_rows)
    batches = StreamedBalancedBatches(
        path,
        (part == TRAIN) & (y == 0),
        x_pos,
        features,
        estimator.resolved_config().batch_size,
        config.seed,
        options.chunk_rows,
    )
    estimator.fit(batches, None, X_val=x_val, y_val=y_val)

    pipeline = ScoringPipeline(prepared.schema, pre, estimator)
    fitted = finish(pipeline, y_val, pipeline.raw_from_features(x_val), config, started)
    raw, y_test = _score_rows(path, part == TEST, y, features, fitted.pipeline, options.chunk_rows)
    test = metrics(y_test, fitted.pipeline.calibrate(raw), fitted.threshold)
    if fitted.calibration is not None:
        fitted.calibration["brier_test"] = {"before": metrics(y_test, raw, 0.5)["brier"], "after": test["brier"]}
    split_rows = {
        "train": int((part == TRAIN).sum()),
        "validation": int((part == VALIDATION).sum()),
        "test": int((part == TEST).sum()),
    }
    summary = prepared.summary
    full = Prepared(
        prepared.schema,
        prepared.clean,
        y,
        DataSummary(
            rows=len(y),
            positives=int(y.sum()),
            positive_share=float(y.mean()),
            dropped=summary.dropped,
            missing=summary.missing,
            suspicious=summary.suspicious,
        ),
    )
    # the reasons' groups and background from the rows the schema was read from (a sample of the file)
    trained = Trained(
        full,
        fitted,
        config,
        test,
        split_rows,
        str(path),
        file_sha256(path),
        explanation=explanation(prepared.schema, prepared.clean, config.seed),
    )
    return StreamTrained(trained, len(y), int(y.sum()), split_rows)


def _score_rows(
    path: Path, mask: np.ndarray, y: np.ndarray, features: FeatureReader, pipeline: ScoringPipeline, chunk_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities of the masked rows, chunk by chunk (the test split is never held as features)."""
    ps = []
    for chunk in iter_chunks(path, chunk_rows):
        sel = mask[chunk.start : chunk.start + chunk.table.num_rows]
        if sel.any():
            ps.append(pipeline.raw_proba_clean(features.clean(chunk.table.filter(pa.array(sel)), chunk.start + 1)))
    return np.concatenate(ps), y[mask]


__all__ = ["StreamOptions", "StreamTrained", "read_labels", "train_stream"]
