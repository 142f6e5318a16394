"""A network as a member of ``--model auto``: its own encoding of the inputs auto's trees share.

``auto``'s members read one matrix (numbers imputed as they are, one code per category,
binary flags), which suits trees. A network wants what ``--model network`` gives it:
numbers on piecewise-linear tree bins and categories one-hot. :class:`CodedNetwork`
learns that encoding from its own training rows (the bins need the target, so each
fold model has its own) and feeds a :class:`~uptake.models.network.NetworkClassifier`.

Saved as ``coded-network.json`` (which inputs are numbers, codes or flags, and each
code column's categories), ``bins.skops`` (the fitted bins, loaded against the
preprocessor's allow-list) and ``network/`` (the network's own ``.keras`` files).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from numbers import Integral
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from uptake.errors import UptakeInputError
from uptake.features.persist import load_preprocessor, save_preprocessor
from uptake.models.base import Family, Unsupported
from uptake.models.network import NetworkClassifier
from uptake.models.network.config import PRESETS, members_for
from uptake.schema.encoders import PiecewiseLinear

#: Rows up to which a prediction replays the network in numpy (a single customer) instead of calling Keras.
NUMPY_ROWS = 64


class CodedNetwork(Family):
    """A ``NetworkClassifier`` on piecewise-linear numbers and one-hot codes of auto's shared inputs.

    Parameters:
        preset: the network's preset (``default``).
        n_models: networks averaged within this member (auto's bagging averages fold models already);
            ``None`` takes the preset's (the ``default`` preset's cross-fitted members, on auto's holdout).
        epochs: train exactly this many epochs without early stopping (auto's refit on all rows);
            ``None`` stops early on the validation rows.
        imbalance: the network's imbalance strategy (``none`` keeps probabilities calibrated).
        seed: the network's seed.
    """

    name = "network"
    sidecar = "coded-network.json"
    format = "uptake-coded-network"
    label = "network"
    library = "keras"
    imbalance_options = ("none", "class-weight")
    auto_member = True
    # Its fold models are k draws of a noisy learner averaged, which is what its out-of-fold score and
    # weight measured; one refit draw varies more (docs/models.md has the bank screens).
    refit_after_bagging = False
    # It picks its best of tens of noisy epochs: picked on the held-out fold, that choice flatters the
    # score the weights are chosen on.
    stops_early_on = "own"
    # Measured on the fraud table: one default network trained in 101 s on 182,000 rows (0.55 s per 1,000);
    # about 3 s a fold on the bank's 4,375 rows, its epochs of patience dominating.
    cost_per_1k_rows = 0.6
    cost_floor = 3.5
    # On one holdout the search has no folds to average draws over: the preset's own cross-fitted members.
    holdout_params: ClassVar[dict[str, Any]] = {"n_models": None}
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "preset": [StrOptions({"default", "tabm"})],
        "n_models": [Interval(Integral, 1, 20, closed="both"), None],
        "epochs": [Interval(Integral, 1, 10_000, closed="both"), None],
        "imbalance": [StrOptions({"none", "class-weight"})],
        "seed": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        preset: str = "default",
        n_models: int | None = 1,
        epochs: int | None = None,
        imbalance: str = "none",
        seed: int = 0,
    ) -> None:
        self.preset = preset
        self.n_models = n_models
        self.epochs = epochs
        self.imbalance = imbalance
        self.seed = seed

    @classmethod
    def fits_per_candidate(cls, params: Mapping[str, Any], rows: int) -> int:
        """A preset's own members where ``n_models`` is left to the preset, counted from the fit's rows."""
        if params.get("n_models") is not None:
            return 1
        return int(members_for(PRESETS[str(params.get("preset", "default"))], rows).n_models)

    def set_layout(self, layout: list[tuple[str, str]]) -> None:
        self.layout_ = list(layout)

    # ---- the encoding ------------------------------------------------------------------------------
    def _fit_encoding(self, X: np.ndarray, y: np.ndarray) -> None:
        kinds = [kind for _, kind in getattr(self, "layout_", None) or [("", "numeric")] * X.shape[1]]
        if len(kinds) != X.shape[1]:
            raise UptakeInputError(f"the layout names {len(kinds)} inputs but X has {X.shape[1]}")
        self.numeric_ = [j for j, kind in enumerate(kinds) if kind == "numeric"]
        self.codes_ = [j for j, kind in enumerate(kinds) if kind == "categorical"]
        self.flags_ = [j for j, kind in enumerate(kinds) if kind not in ("numeric", "categorical")]
        self.categories_ = [np.unique(X[:, j]).tolist() for j in self.codes_]
        # auto's shared inputs keep missing numbers missing (for the trees): the network imputes the median
        # and gets an input saying so, for each number that was missing in its training rows
        numbers = X[:, self.numeric_]
        with np.errstate(all="ignore"):
            medians = np.nanmedian(numbers, axis=0) if self.numeric_ else np.zeros(0)
        self.medians_ = np.nan_to_num(medians, nan=0.0).tolist()
        self.gaps_ = [j for j in self.numeric_ if np.isnan(X[:, j]).any()]
        self.bins_ = PiecewiseLinear(bins="tree").fit(self._numbers(X), y) if self.numeric_ else None

    def _numbers(self, X: np.ndarray) -> np.ndarray:
        numbers = X[:, self.numeric_]
        medians = getattr(self, "medians_", None)
        if medians is None:  # saved before auto kept missing numbers: its inputs were imputed already
            return numbers
        return np.where(np.isnan(numbers), np.asarray(medians, dtype=np.float64), numbers)

    def _encode(self, X: np.ndarray) -> np.ndarray:
        blocks = [] if self.bins_ is None else [self.bins_.transform(self._numbers(X))]
        for j, cats in zip(self.codes_, self.categories_):
            blocks.append(X[:, [j]] == np.asarray(cats, dtype=np.float64)[None, :])  # an unseen code: all zeros
        blocks.append(X[:, self.flags_])
        gaps = getattr(self, "gaps_", [])
        if gaps:
            blocks.append(np.isnan(X[:, gaps]))
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)

    # ---- the estimator API -------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> CodedNetwork:
        self.check_params()
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(int).reshape(-1)
        self._fit_encoding(X, y)
        fixed = {"epochs": int(self.epochs), "early_stopping": False} if self.epochs is not None else {}
        n_models = None if self.n_models is None else int(self.n_models)  # None: the preset's members
        self.network_ = NetworkClassifier(
            preset=self.preset, n_models=n_models, imbalance=self.imbalance, seed=int(self.seed), **fixed
        )
        if X_val is not None:
            self.network_.fit(
                self._encode(X),
                y,
                X_val=self._encode(np.asarray(X_val, dtype=np.float64)),
                y_val=np.asarray(y_val).astype(int).reshape(-1),
            )
        else:
            self.network_.fit(self._encode(X), y)  # early stopping (if any) on the network's own split
        self._forward: Callable[[np.ndarray], np.ndarray] | bool | None = None
        self.mark_fitted(X.shape[1])
        return self

    def held_out_validation(self) -> np.ndarray | None:
        """Cross-fitted members' out-of-fold predictions of the validation rows (``None`` otherwise)."""
        return self.network_.held_out_validation()

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self.checked(X)
        Z = self._encode(X)
        forward = self._numpy() if len(Z) <= NUMPY_ROWS else None
        p = forward(Z) if forward is not None else self.network_.predict_proba(Z)[:, 1]
        return np.column_stack([1.0 - p, p])

    def _numpy(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """The network's numpy replay, built once (``False`` remembers that it has none)."""
        if getattr(self, "_forward", None) is None:
            try:
                self._forward = self.network_.numpy_forward()
            except Unsupported:
                self._forward = False
        return self._forward or None

    def refit_params(self) -> dict[str, Any]:
        """The epochs early stopping kept (the best validation epoch), averaged over the networks."""
        cfg = self.network_.config_
        kept = []
        for history in self.network_.history_:
            scores = history.get(cfg.monitor) if cfg.early_stopping else None
            if scores:
                kept.append((int(np.argmin(scores)) if cfg.monitor_mode == "min" else int(np.argmax(scores))) + 1)
            else:
                kept.append(len(next(iter(history.values()), [])) or cfg.epochs)
        return {"epochs": int(round(float(np.mean(kept))))}

    def training_history(self) -> list[dict[str, list[float]]] | None:
        return self.network_.training_history()

    # ---- persistence --------------------------------------------------------------------------------
    def save_files(self, directory: Path) -> dict[str, Any]:
        if self.bins_ is not None:
            save_preprocessor(self.bins_, directory / "bins.skops")
        self.network_.save(directory / "network")
        return {
            "params": self.get_params(),
            "n_features_in": self.n_features_in_,
            "numeric": self.numeric_,
            "codes": self.codes_,
            "flags": self.flags_,
            "categories": self.categories_,
            "medians": self.medians_,
            "gaps": self.gaps_,
        }

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> CodedNetwork:
        est = cls(**meta["params"])
        width = int(meta["n_features_in"])
        est.numeric_, est.codes_, est.flags_ = ([int(j) for j in meta[key]] for key in ("numeric", "codes", "flags"))
        est.categories_ = [[float(c) for c in cats] for cats in meta["categories"]]
        medians = meta.get("medians")  # saved before auto kept missing numbers: none (its inputs were imputed)
        est.medians_ = None if medians is None else [float(v) for v in medians]
        est.gaps_ = [int(j) for j in meta.get("gaps", [])]
        if (est.medians_ is not None and len(est.medians_) != len(est.numeric_)) or not set(est.gaps_) <= set(
            est.numeric_
        ):
            raise UptakeInputError(f"file '{directory / cls.sidecar}': its medians or missing-value inputs are damaged")
        if sorted(est.numeric_ + est.codes_ + est.flags_) != list(range(width)) or len(est.categories_) != len(
            est.codes_
        ):
            raise UptakeInputError(
                f"file '{directory / cls.sidecar}': the inputs it names do not cover its {width} inputs once each"
            )
        est.bins_ = None
        if est.numeric_:
            bins = load_preprocessor(directory / "bins.skops")
            if type(bins) is not PiecewiseLinear or int(bins.n_features_in_) != len(est.numeric_):
                raise UptakeInputError(
                    f"file '{directory / 'bins.skops'}': not the bins of {len(est.numeric_)} numeric inputs"
                )
            est.bins_ = bins
        est.network_ = NetworkClassifier.load(directory / "network")
        est._forward = None
        est.mark_fitted(width)
        probe = est._encode(np.zeros((1, width)))
        if probe.shape[1] != est.network_.n_features_in_:
            raise UptakeInputError(
                f"file '{directory / cls.sidecar}': its encoding gives {probe.shape[1]} inputs "
                f"but the network takes {est.network_.n_features_in_}"
            )
        return est


__all__ = ["CodedNetwork"]
