"""A numpy copy of a loaded model's forward pass, for scoring one customer in microseconds.

``Model.score`` is built for tables: pandas validation, a scikit-learn
``ColumnTransformer`` and a jitted JAX call padded to 1,024 rows. For one customer
that costs several milliseconds, almost all of it fixed overhead, which is the whole
latency budget of the web API. This module reads the *fitted* objects of a loaded
model (imputer statistics, scaler means and scales, clip limit, one-hot categories,
the Dense layers' weights) into plain numpy arrays once, at start-up, and replays the
same arithmetic on already-validated request rows.

It is an optimisation of the one data path, not a second one: nothing here is
learnt or chosen, every number comes from the artifact, and :func:`compile_fast`
checks the copy against the reference path (``Model.features`` and
``Model.proba``) before it is used. Anything it does not recognise (another model
family, an unknown transformer or activation, a mismatch in that check) makes it
return ``None``, and the service falls back to ``Model.score``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from uptake.features import Clip, PiecewiseLinear
from uptake.schema import Schema

log = logging.getLogger("uptake.serve")

#: Largest difference in probability the start-up check tolerates between the numpy
#: copy and the reference path (float32 matmuls in a different order differ by ~1e-7).
TOLERANCE = 1e-6

Block = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Unsupported(Exception):
    """The artifact holds something the fast path does not replay; use the reference path."""


@dataclass
class FastScorer:
    """Preprocessing and network as numpy: ``proba(rows)`` for validated request rows.

    ``rows`` are dicts keyed by feature name, as the request models produce them:
    numbers (or ``None`` for unknown, imputed as in training) for numeric and binary
    columns, the category value for categorical ones.
    """

    schema: Schema
    numeric_cols: list[str]
    categorical_cols: list[str]
    category_index: list[dict[str, int]]
    blocks: list[Block]
    layers: list[list[Callable[[np.ndarray], np.ndarray]]]
    calibrator: Callable[[np.ndarray], np.ndarray] | None = None

    def raw_arrays(self, rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Numbers as float64 (NaN = missing); categories as their index (-1 unknown, -2 missing)."""
        num = np.array(
            [[_num(r.get(c)) for c in self.numeric_cols] for r in rows], dtype=np.float64
        ).reshape(len(rows), len(self.numeric_cols))
        cat = np.array(
            [[_cat(r.get(c), idx) for c, idx in zip(self.categorical_cols, self.category_index)] for r in rows],
            dtype=np.int64,
        ).reshape(len(rows), len(self.categorical_cols))
        return num, cat

    def features(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The network's float32 input matrix, column for column what ``Model.features`` gives."""
        num, cat = self.raw_arrays(rows)
        parts = [block(num, cat) for block in self.blocks]
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float32)

    def proba_from_features(self, x: np.ndarray) -> np.ndarray:
        total = None
        for member in self.layers:
            h = x
            for step in member:
                h = step(h)
            out = h[:, 0]
            total = out if total is None else total + out
        assert total is not None
        return (total / np.float32(len(self.layers))).astype(np.float64)

    def raw_proba(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The network's output before calibration."""
        if not rows:
            return np.zeros(0)
        return self.proba_from_features(self.features(rows))

    def proba(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """What ``Model.proba`` returns: calibrated when the model has a calibrator (plain numpy)."""
        p = self.raw_proba(rows)
        return self.calibrator(p) if self.calibrator is not None and len(p) else p


class FastModelView:
    """A ``Model`` look-alike whose scoring runs on the fast path.

    Lets ``uptake.explain.reasons`` apply its own method (occlusion against typical
    values, in log-odds) to a request in a fraction of the reference path's time,
    without a second copy of that logic here. Everything but scoring is the model's.
    """

    def __init__(self, model: Any, fast: FastScorer) -> None:
        self.model, self.fast = model, fast
        self.schema, self.preprocessor, self.metadata = model.schema, model.preprocessor, model.metadata
        self.calibrator = getattr(model, "calibrator", None)
        self.estimator = _FastEstimator(fast)

    def features(self, clean: pd.DataFrame) -> np.ndarray:
        return self.fast.features(clean.to_dict("records"))

    def proba(self, clean: pd.DataFrame) -> np.ndarray:
        return self.fast.proba(clean.to_dict("records"))


class _FastEstimator:
    def __init__(self, fast: FastScorer) -> None:
        self.fast = fast

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = self.fast.proba_from_features(np.asarray(x, dtype=np.float32))
        return np.column_stack([1.0 - p, p])


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _cat(v: Any, index: Mapping[str, int]) -> int:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return -2
    return index.get(_category_text(v), -1)


def _category_text(v: Any) -> str:
    """The same text ``Schema.validate`` makes of a category value (2, 2.0 and '2' are one)."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else str(float(v))
    return str(v).strip()


# ---- compiling the preprocessor ---------------------------------------------------------------
def _step_list(transformer: Any) -> list[Any]:
    from sklearn.pipeline import Pipeline

    if isinstance(transformer, Pipeline):
        return [step for _, step in transformer.steps if step not in (None, "passthrough")]
    return [transformer]


def _numeric_step(step: Any) -> Callable[[np.ndarray], np.ndarray]:
    """One fitted numeric step as a numpy function of an (n, k) float64 matrix."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    if isinstance(step, SimpleImputer):
        stats = np.asarray(step.statistics_, dtype=np.float64)
        marker = step.missing_values
        if np.isnan(stats).any() or step.add_indicator or not (isinstance(marker, float) and math.isnan(marker)):
            raise Unsupported("imputer with empty columns, indicators or a custom missing marker")
        return lambda x: np.where(np.isnan(x), stats, x)
    if isinstance(step, StandardScaler):
        mean = np.asarray(step.mean_, dtype=np.float64) if step.with_mean else 0.0
        scale = np.asarray(step.scale_, dtype=np.float64) if step.with_std else 1.0
        return lambda x: (x - mean) / scale
    if type(step) is Clip:
        limit = float(step.limit)
        return lambda x: np.clip(x, -limit, limit)
    if type(step) is PiecewiseLinear:
        return step.transform  # already plain numpy on fitted arrays
    raise Unsupported(f"numeric step {type(step).__name__}")


def _numeric_block(steps: list[Any], positions: list[int]) -> Block:
    funcs = [_numeric_step(s) for s in steps]
    pos = np.asarray(positions, dtype=np.intp)

    def block(num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        x = num[:, pos]
        for f in funcs:
            x = f(x)
        return x

    return block


def _categorical_block(steps: list[Any], positions: list[int], indexes: list[dict[str, int]]) -> Block:
    """Most-frequent imputation then one-hot, on category indexes."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    if not steps or not isinstance(steps[-1], OneHotEncoder):
        raise Unsupported("categorical columns without a final one-hot encoder")
    enc = steps[-1]
    if getattr(enc, "drop_idx_", None) is not None or getattr(enc, "_infrequent_enabled", False):
        raise Unsupported("one-hot encoder with drop or infrequent categories")
    if enc.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise Unsupported("one-hot encoder that errors on unknown categories")
    fill = [-2] * len(positions)
    for step in steps[:-1]:
        if not isinstance(step, SimpleImputer) or step.add_indicator:
            raise Unsupported(f"categorical step {type(step).__name__}")
        fill = [indexes[p].get(_category_text(s), -1) for p, s in zip(positions, step.statistics_)]
    # Map the schema's category index of each column to the encoder's output slot.
    slots: list[np.ndarray] = []
    width = 0
    for p, cats in zip(positions, enc.categories_):
        own = {str(c): i for i, c in enumerate(cats)}
        by_schema = np.full(len(indexes[p]) + 2, -1, dtype=np.int64)  # [..., unknown(-1), missing(-2)]
        for text, i in indexes[p].items():
            if text in own:
                by_schema[i] = width + own[text]
        slots.append(by_schema)
        width += len(cats)
    pos = np.asarray(positions, dtype=np.intp)
    fill_arr = np.asarray(fill, dtype=np.int64)

    def block(num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        idx = cat[:, pos]
        idx = np.where(idx == -2, fill_arr, idx)
        out = np.zeros((len(cat), width), dtype=np.float64)
        rows = np.arange(len(cat))
        for j, slot in enumerate(slots):
            target = slot[idx[:, j]]  # -1 and -2 index the trailing "no slot" entries
            hit = target >= 0
            out[rows[hit], target[hit]] = 1.0
        return out

    return block


def compile_preprocessor(pre: Any, schema: Schema) -> tuple[list[str], list[str], list[dict[str, int]], list[Block]]:
    """The fitted ColumnTransformer as numpy blocks, in its output order."""
    from sklearn.compose import ColumnTransformer

    if not isinstance(pre, ColumnTransformer):
        raise Unsupported(f"preprocessor {type(pre).__name__}")
    numeric_cols = [c.name for c in schema.columns if c.kind != "categorical"]
    categorical_cols = [c.name for c in schema.columns if c.kind == "categorical"]
    indexes = [{text: i for i, text in enumerate(schema.column(c).categories)} for c in categorical_cols]
    blocks: list[Block] = []
    for name, transformer, cols in pre.transformers_:
        if name == "remainder":
            if transformer != "drop" and len(cols):
                raise Unsupported("remainder columns passed through")
            continue
        if transformer == "drop" or not len(cols):
            continue
        cols = [str(c) for c in cols]
        steps = _step_list(transformer)
        if all(c in numeric_cols for c in cols):
            blocks.append(_numeric_block(steps, [numeric_cols.index(c) for c in cols]))
        elif all(c in categorical_cols for c in cols):
            blocks.append(_categorical_block(steps, [categorical_cols.index(c) for c in cols], indexes))
        else:
            raise Unsupported(f"transformer {name!r} mixes column kinds")
    return numeric_cols, categorical_cols, indexes, blocks


# ---- compiling the network ------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "linear": lambda x: x,
}


Step = Callable[[np.ndarray], np.ndarray]


def _dense(w: np.ndarray, b: np.ndarray, act: Step) -> Step:
    return lambda h: act(h @ w + b)


def _batchnorm(layer: Any) -> Step:
    """Inference-time batch normalisation is an affine map: fold it into one scale and shift."""
    cfg = layer.get_config()
    axis = cfg.get("axis", -1)
    if axis not in (-1, 1, [-1], [1]):
        raise Unsupported(f"batch normalisation over axis {axis!r}")
    mean = np.asarray(layer.moving_mean, dtype=np.float32)
    var = np.asarray(layer.moving_variance, dtype=np.float32)
    gamma = np.asarray(layer.gamma, dtype=np.float32) if cfg.get("scale", True) else np.ones_like(mean)
    beta = np.asarray(layer.beta, dtype=np.float32) if cfg.get("center", True) else np.zeros_like(mean)
    inv = (gamma / np.sqrt(var + np.float32(cfg.get("epsilon", 1e-3)))).astype(np.float32)
    shift = (beta - mean * inv).astype(np.float32)
    return lambda h: h * inv + shift


def compile_network(estimator: Any) -> list[list[Step]]:
    """Each ensemble member's layers as numpy steps: Dense (weights, bias, activation),
    BatchNormalization (folded scale and shift), Activation; Dropout is the identity."""
    import keras

    members = getattr(estimator, "models_", None)
    if not members:
        raise Unsupported(f"estimator {type(estimator).__name__} is not a Keras network ensemble")
    compiled = []
    for model in members:
        steps: list[Step] = []
        last_units, last_act = None, None
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dropout):
                continue  # identity at inference
            if isinstance(layer, keras.layers.BatchNormalization):
                steps.append(_batchnorm(layer))
                continue
            if isinstance(layer, keras.layers.Activation):
                last_act = _activation(layer.get_config()["activation"])
                steps.append(ACTIVATIONS[last_act])
                continue
            if not isinstance(layer, keras.layers.Dense):
                raise Unsupported(f"layer {type(layer).__name__}")
            last_act = _activation(layer.get_config()["activation"])
            weights = layer.get_weights()
            w = np.asarray(weights[0], dtype=np.float32)
            b = np.asarray(weights[1], dtype=np.float32) if layer.use_bias else np.zeros(w.shape[1], np.float32)
            last_units = w.shape[1]
            steps.append(_dense(w, b, ACTIVATIONS[last_act]))
        if last_units != 1 or last_act != "sigmoid":
            raise Unsupported("network does not end in one sigmoid unit")
        compiled.append(steps)
    return compiled


def _activation(name: Any) -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise Unsupported(f"activation {name!r}")
    return name


# ---- building and checking --------------------------------------------------------------------
def probe_rows(schema: Schema, n: int = 64, seed: int = 0) -> list[dict[str, Any]]:
    """Rows spread over the schema's ranges and categories, with some unknowns, for the start-up check."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        row: dict[str, Any] = {}
        for c in schema.columns:
            if i % 7 == 3:
                row[c.name] = None
            elif c.kind == "categorical":
                cats = c.categories or ["?"]
                v = cats[int(rng.integers(len(cats)))]
                row[c.name] = int(v) if c.dtype == "int" and v.lstrip("-").isdigit() else v
            elif c.kind == "binary":
                row[c.name] = int(rng.integers(2))
            else:
                lo = c.min if c.min is not None else 0.0
                hi = c.max if c.max is not None else 1.0
                span = (hi - lo) or 1.0
                row[c.name] = float(rng.uniform(lo - 0.2 * span, hi + 0.2 * span))
        rows.append(row)
    return rows


def reference_proba(model: Any, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The reference path for validated rows: ``Model.score`` on a one-row-per-customer frame."""
    df = pd.DataFrame(list(rows), columns=model.schema.feature_names)
    return model.score(df).probability


def compile_fast(model: Any, tolerance: float = TOLERANCE) -> FastScorer | None:
    """A :class:`FastScorer` for ``model``, or ``None`` (with the reason logged) if it cannot replay it exactly."""
    try:
        numeric_cols, categorical_cols, indexes, blocks = compile_preprocessor(model.preprocessor, model.schema)
        layers = compile_network(model.estimator)
    except Unsupported as exc:
        log.info("fast path off for %s: %s", getattr(model, "path", "model"), exc)
        return None
    scorer = FastScorer(model.schema, numeric_cols, categorical_cols, indexes, blocks, layers,
                        getattr(model, "calibrator", None))
    rows = probe_rows(model.schema)
    try:
        fast = scorer.proba(rows)
        ref = reference_proba(model, rows)
    except Exception as exc:  # noqa: BLE001 - any failure here just means "use the reference path"
        log.warning("fast path off for %s: check failed (%s)", getattr(model, "path", "model"), exc)
        return None
    gap = float(np.max(np.abs(fast - ref))) if len(rows) else 0.0
    if not gap <= tolerance:
        log.warning("fast path off for %s: differs from the reference path by %.3g", getattr(model, "path", "model"), gap)
        return None
    return scorer


def training_defaults(model: Any) -> dict[str, Any]:
    """A typical customer for the web form: numeric medians, most frequent flags and categories.

    Read from the fitted imputers where present (they hold exactly these statistics),
    else from the schema.
    """
    schema: Schema = model.schema
    defaults: dict[str, Any] = {}
    for c in schema.columns:
        if c.kind == "numeric":
            defaults[c.name] = c.median
        elif c.kind == "binary":
            defaults[c.name] = 0
        else:
            defaults[c.name] = c.categories[0] if c.categories else None
    try:
        from sklearn.impute import SimpleImputer

        for _, transformer, cols in getattr(model.preprocessor, "transformers_", []):
            steps = _step_list(transformer) if transformer not in ("drop", "passthrough") else []
            imputer = next((s for s in steps if isinstance(s, SimpleImputer)), None)
            if imputer is None or imputer.strategy != "most_frequent":
                continue
            for col, stat in zip(cols, imputer.statistics_):
                column = schema.column(str(col))
                if column.kind == "binary":
                    defaults[column.name] = int(float(stat))
                elif column.kind == "categorical":
                    defaults[column.name] = _category_text(stat)
    except (AttributeError, KeyError, ValueError, TypeError):
        pass
    return defaults
